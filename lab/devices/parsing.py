"""Shape checks shared by the adapters: typed JSON access and box-drawn tables.

Both raise ``BadValue`` (never KeyError/IndexError/TypeError); ``tool_output_guard``
turns that into the project's ``ToolOutputError`` carrying the tool's whole output::

    with tool_output_guard("rbln-smi", stdout):
        document = JsonObject.parse(stdout, "rbln-smi --json")
        for device in document.array("devices"):
            name = device.text("name")

    table = parse_box_tables(furiosa_smi_stdout)[0]
    table.header   # ("Arch", "Device", "Firmware", "Temp.", "Power", "PCI-BDF")
    table.rows[0]  # ("rngd", "npu0", "0.0.15+af1daaa", "30.18°C", "53.00 W", "0000:17:00.0")
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from lab.devices.units import BadValue, parse_int
from lab.errors import ToolOutputError


@contextmanager
def tool_output_guard(tool: str, raw: str) -> Iterator[None]:
    """Turn any parse problem inside the block into ``ToolOutputError(raw=raw, tool=tool)``.

    ``BadValue`` is the expected way out. Python's own lookup and conversion errors are
    caught as well, as a last line of defence, and flagged as a parser bug in the message
    (with the cause chained) so the run records ERROR instead of crashing the suite.
    """
    try:
        yield
    except BadValue as exc:
        raise ToolOutputError(str(exc), raw=raw, tool=tool) from exc
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:  # pragma: no cover
        message = f"adapter bug while parsing ({type(exc).__name__}: {exc}); please report"
        raise ToolOutputError(message, raw=raw, tool=tool) from exc


# --- JSON ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsonObject:
    """A JSON object with typed, strict accessors; ``where`` names it in error messages."""

    values: Mapping[str, object]
    where: str

    @staticmethod
    def parse(text: str, where: str) -> JsonObject:
        """Parse ``text`` whose top level must be an object."""
        return JsonObject.of(load_json(text, where), where)

    @staticmethod
    def of(value: object, where: str) -> JsonObject:
        if not isinstance(value, dict):
            raise BadValue(f"{where}: expected a JSON object, got {type(value).__name__}")
        return JsonObject(value, where)

    def has(self, key: str) -> bool:
        return key in self.values and self.values[key] is not None

    def _get(self, key: str) -> object:
        if key not in self.values:
            raise BadValue(f"{self.where}: key {key!r} missing")
        return self.values[key]

    def text(self, key: str) -> str:
        """A string value (required)."""
        value = self._get(key)
        if not isinstance(value, str):
            raise BadValue(f"{self.where}.{key}: expected a string, got {value!r}")
        return value

    def optional_text(self, key: str) -> str | None:
        """A string value, or None when the key is absent or null."""
        return self.text(key) if self.has(key) else None

    def scalar_text(self, key: str) -> str:
        """A number or a string, as text: tools print "0" in one SDK and 0 in the next."""
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise BadValue(f"{self.where}.{key}: expected a number or a string, got {value!r}")
        return str(value)

    def optional_scalar_text(self, key: str) -> str | None:
        return self.scalar_text(key) if self.has(key) else None

    def integer(self, key: str) -> int:
        """An integer given as a JSON number or a decimal string ("npu": 0 or "npu": "0")."""
        value = self._get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            return parse_int(value, f"{self.where}.{key}")
        raise BadValue(f"{self.where}.{key}: expected an integer, got {value!r}")

    def optional_integer(self, key: str) -> int | None:
        return self.integer(key) if self.has(key) else None

    def count(self, key: str) -> int:
        """A non-negative integer (index or counter), as a JSON number or a decimal string."""
        value = self.integer(key)
        if value < 0:
            raise BadValue(f"{self.where}.{key}: expected a non-negative integer, got {value}")
        return value

    def optional_count(self, key: str) -> int | None:
        return self.count(key) if self.has(key) else None

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise BadValue(f"{self.where}.{key}: expected true or false, got {value!r}")
        return value

    def optional_boolean(self, key: str) -> bool | None:
        return self.boolean(key) if self.has(key) else None

    def object(self, key: str) -> JsonObject:
        return JsonObject.of(self._get(key), f"{self.where}.{key}")

    def optional_object(self, key: str) -> JsonObject | None:
        return self.object(key) if self.has(key) else None

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings."""
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise BadValue(f"{self.where}.{key}: expected a list of strings, got {value!r}")
        return tuple(value)

    def array(self, key: str) -> tuple[JsonObject, ...]:
        """A list of objects."""
        value = self._get(key)
        if not isinstance(value, list):
            raise BadValue(f"{self.where}.{key}: expected a list, got {type(value).__name__}")
        return tuple(JsonObject.of(item, f"{self.where}.{key}[{i}]") for i, item in enumerate(value))


def load_json(text: str, where: str) -> object:
    """``json.loads`` that raises ``BadValue`` and refuses NaN/Infinity (not JSON)."""

    def refuse_constant(name: str) -> object:
        raise BadValue(f"{where}: {name} is not valid JSON")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadValue(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise BadValue(f"{where}: JSON nested too deeply") from exc


def array_of_objects(value: object, where: str) -> tuple[JsonObject, ...]:
    """A top-level JSON list of objects."""
    if not isinstance(value, list):
        raise BadValue(f"{where}: expected a JSON list, got {type(value).__name__}")
    return tuple(JsonObject.of(item, f"{where}[{i}]") for i, item in enumerate(value))


# --- box tables ---------------------------------------------------------------------------

_RULE_RE = re.compile(r"\+[-=+]*\+")


@dataclass(frozen=True, slots=True)
class BoxTable:
    """One table drawn with ``+---+`` rules and ``|`` cells: an optional title, a header, rows."""

    title: str | None
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    blocks: tuple[tuple[tuple[str, ...], ...], ...] = ()
    """The rows again, grouped by the rules drawn between them: furiosa-smi ``status`` prints
    one device as several lines (one per core) between two rules, so a block is one record."""

    def merged_blocks(self, key_column: int = 0) -> tuple[tuple[str, ...], ...]:
        """One row per record, a record being a block whose ``key_column`` cell is filled on
        exactly one line; the record's cells are its non-empty pieces joined by a space.

        ``| | | 0 (available), |`` / ``| rngd | npu0 | 3 (available), |`` … → one row
        ``("rngd", "npu0", "0 (available), … 7 (available)")``. A block with the key on every
        line (rows without rules between them) keeps its rows as they are.
        """
        merged: list[tuple[str, ...]] = []
        for block in self.blocks:
            keyed = [row for row in block if row[key_column]]
            if len(keyed) != 1:
                if len(keyed) != len(block):
                    raise BadValue(f"table block with {len(keyed)} keyed lines of {len(block)}: {block!r}")
                merged.extend(block)
                continue
            merged.append(tuple(" ".join(row[i] for row in block if row[i]) for i in range(len(self.header))))
        return tuple(merged)

    def column_records(
        self, required: Sequence[str], optional: Sequence[str] = ()
    ) -> tuple[dict[str, str], ...]:
        """Rows as dicts, checking the header by name rather than position: every ``required``
        column present, nothing outside ``required`` + ``optional`` (a column this parser does
        not know is a format change to hear about, not to guess at)."""
        check_columns(self.header, required, optional)
        return tuple(dict(zip(self.header, row, strict=True)) for row in self.rows)

    def records(self, expected_header: Sequence[str]) -> tuple[dict[str, str], ...]:
        """Rows as dicts keyed by header, after checking the header is exactly ``expected_header``."""
        if tuple(expected_header) != self.header:
            raise BadValue(
                f"table header {list(self.header)} differs from the expected {list(expected_header)}"
            )
        return tuple(dict(zip(self.header, row, strict=True)) for row in self.rows)


def check_columns(header: Sequence[str], required: Sequence[str], optional: Sequence[str] = ()) -> None:
    """``BadValue`` unless ``header`` holds every ``required`` name and only known names."""
    unknown = [name for name in header if name not in required and name not in optional]
    missing = [name for name in required if name not in header]
    if unknown or missing:
        raise BadValue(f"table columns {list(header)}: unknown {unknown}, missing {missing}")


def _cells(line: str) -> tuple[str, ...]:
    stripped = line.strip()
    if not (stripped.startswith("|") and stripped.endswith("|")) or len(stripped) < 2:
        raise BadValue(f"table row not enclosed in '|': {line!r}")
    return tuple(cell.strip() for cell in stripped[1:-1].split("|"))


def parse_box_tables(text: str) -> tuple[BoxTable, ...]:
    """Every box table in ``text``, in order.

    A table is: an optional title (a one-cell row in its own box), a header row, a rule,
    then data rows, with or without rules between them (furiosa-smi draws one after each
    row), up to a closing rule. A new table starts at a title box or at a row whose cell
    count differs from the current header's. A title box with nothing under it is a table
    with an empty header (a message box). Blank lines are ignored; any other text outside
    a box is an error: the tool printed something this parser does not know.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tables: list[BoxTable] = []
    position = 0
    while position < len(lines):
        table, position = _read_table(lines, position)
        tables.append(table)
    return tuple(tables)


def _is_rule(lines: list[str], position: int) -> bool:
    return position < len(lines) and _RULE_RE.fullmatch(lines[position]) is not None


def _expect_rule(lines: list[str], position: int) -> int:
    if not _is_rule(lines, position):
        found = lines[position] if position < len(lines) else "end of output"
        raise BadValue(f"expected a table rule (+---+), got {found!r}")
    return position + 1


def _row_at(lines: list[str], position: int) -> tuple[str, ...] | None:
    if position >= len(lines) or _is_rule(lines, position):
        return None
    return _cells(lines[position])


def _read_table(lines: list[str], position: int) -> tuple[BoxTable, int]:
    position = _expect_rule(lines, position)
    first = _row_at(lines, position)
    if first is None:
        raise BadValue("a table rule is followed by another rule or the end of output")
    title: str | None = None
    if len(first) == 1:
        title = first[0]
        position = _expect_rule(lines, position + 1)
        first = _row_at(lines, position)
        if first is None or len(first) == 1:
            # Nothing under the title box (or another title box): a message-only table.
            return BoxTable(title=title, header=(), rows=(), blocks=()), position
    header = first
    if len(set(header)) != len(header) or any(not cell for cell in header):
        raise BadValue(f"table header has empty or repeated columns: {lines[position]!r}")
    position = _expect_rule(lines, position + 1)
    rows: list[tuple[str, ...]] = []
    blocks: list[tuple[tuple[str, ...], ...]] = []
    block: list[tuple[str, ...]] = []

    def table() -> BoxTable:
        return BoxTable(title=title, header=header, rows=tuple(rows), blocks=tuple(blocks))

    while True:
        row = _row_at(lines, position)
        if row is not None:
            if len(row) != len(header):
                raise BadValue(f"row has {len(row)} cells, header has {len(header)}: {lines[position]!r}")
            rows.append(row)
            block.append(row)
            position += 1
            continue
        if block:
            blocks.append(tuple(block))
            block = []
        if position >= len(lines) and not rows:
            # A header and its rule, nothing under it: a table with no row (e.g. ps with no process).
            return table(), position
        rule_at = position
        position = _expect_rule(lines, position)
        following = _row_at(lines, position)
        if following is None:
            # End of output, or the next table's own top rule.
            return table(), position
        if len(following) != len(header):
            # The rule just read is the top rule of the next table.
            return table(), rule_at

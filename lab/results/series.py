"""Time series and sample sets as evidence files: what the performance and stability suites write.

Two file shapes, both under ``evidence/<test>/`` and referenced from the record's (or a
measurement's) ``evidence`` list, so a report finds them by their name's ending:

``<name>.series.json`` — one JSON object, written whole (atomically) when the data is complete::

    {"format": "kcloud-lab-series/1", "name": "temperature", "unit": "°C",
     "kind": "time",                       # "time": values over t; "samples": a distribution;
                                           # "curve": values over an x in t (unit "x_unit")
     "t": [0, 1, 2], "values": [61.0, 62.5, 86.1],
     "limits": {"min": null, "max": 85.0},
     "first_violation": {"t": 2, "value": 86.1, "message": "above maximum 85 °C"}}   # optional

``<name>.series.jsonl`` — the append-friendly variant for soaks that must survive a crash:
a header line, then one ``{"t": .., "v": ..}`` line per sample, each appended with one
``write`` and flushed. A torn last line (the writer was killed mid-write) is skipped, so a
half-written file still loads::

    {"format": "kcloud-lab-series/1", "name": "power", "unit": "W", "kind": "time", "limits": {...}}
    {"t": 0.0, "v": 151.2}
    {"t": 1.0, "v": 152.0}

Writing and reading::

    series = Series(name="temperature", unit="°C", t=(0, 1, 2), values=(61.0, 62.5, 86.1), maximum=85.0)
    path = write_series(run_dir, test_id, series)          # 'evidence/<test>/temperature.series.json'
    with SeriesAppender.create(run_dir, test_id, "power", unit="W", maximum=400.0) as soak:
        soak.append(0.0, 151.2)                            # one line, on disk when it returns
    read_series(run_dir / path)                            # either shape; DataFormatError when malformed

When a file has limits but no ``first_violation``, ``read_series`` finds the first sample
outside them, so the appender never has to remember it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from lab.criteria import DataFormatError, JsonValue
from lab.criteria.jsonfields import Fields
from lab.results.evidence import EVIDENCE_DIR, write_evidence
from lab.results.files import fsync_directory, safe_name

SERIES_FORMAT = "kcloud-lab-series/1"
SERIES_SUFFIX = ".series.json"
SERIES_LINES_SUFFIX = ".series.jsonl"
SeriesKind = Literal["time", "samples", "curve"]
_MAX_BYTES = 256 * 1024 * 1024  # a guard against reading a runaway file into memory


@dataclass(frozen=True, slots=True)
class Violation:
    """The first sample outside the limits: when, what value, and a sentence saying why."""

    t: float
    value: float
    message: str


@dataclass(frozen=True, slots=True)
class Series:
    """Values over time (``kind="time"``, ``t`` in seconds from the start) or a set of samples
    (``kind="samples"``, e.g. per-query latencies; ``t`` may then be empty)."""

    name: str
    unit: str
    values: tuple[float, ...]
    t: tuple[float, ...] = ()
    kind: SeriesKind = "time"
    minimum: float | None = None
    maximum: float | None = None
    first_violation: Violation | None = None
    x_unit: str = ""  # a curve's x (in ``t``), e.g. "tokens/s" of a throughput–latency curve

    def __post_init__(self) -> None:
        if self.kind in ("time", "curve") and len(self.t) != len(self.values):
            raise DataFormatError(f"series {self.name!r}: {len(self.t)} times but {len(self.values)} values")

    def violation(self) -> Violation | None:
        """``first_violation`` when given, else the first sample outside the limits."""
        if self.first_violation is not None:
            return self.first_violation
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        # one comparison per sample: soaks have hundreds of thousands of them
        index = next((i for i, value in enumerate(self.values) if not low <= value <= high), None)
        if index is None:
            return None
        value = self.values[index]
        moment = self.t[index] if index < len(self.t) else float(index)
        return Violation(moment, value, _outside(value, self.minimum, self.maximum, self.unit))

    def to_dict(self) -> dict[str, JsonValue]:
        violation = self.first_violation
        data: dict[str, JsonValue] = {
            "format": SERIES_FORMAT,
            "name": self.name,
            "unit": self.unit,
            "kind": self.kind,
            "t": list(self.t),
            "values": list(self.values),
            "limits": {"min": self.minimum, "max": self.maximum},
        }
        if self.kind == "curve":
            data["x_unit"] = self.x_unit
        if violation is not None:
            data["first_violation"] = {
                "t": violation.t,
                "value": violation.value,
                "message": violation.message,
            }
        return data


def is_series_path(path: str) -> bool:
    """True for an evidence path naming a series file (either shape)."""
    return path.endswith((SERIES_SUFFIX, SERIES_LINES_SUFFIX))


def write_series(run_dir: Path, test_id: str | None, series: Series) -> str:
    """Store ``series`` as ``<name>.series.json`` evidence of ``test_id``; returns the relative path.

    Refuses (``ValueError``) non-finite times or values: they would make the file unreadable;
    leave a sample out instead when the tool reported nothing."""
    if not all(map(math.isfinite, (*series.t, *series.values))):
        raise ValueError(f"series {series.name!r}: times and values must be finite numbers")
    text = json.dumps(series.to_dict(), ensure_ascii=False, allow_nan=False)
    return write_evidence(
        run_dir, test_id, f"{safe_name(series.name, default='series')}{SERIES_SUFFIX}", text
    )


def read_series(path: str | os.PathLike[str]) -> Series:
    """The series in ``path`` (``.series.json`` or ``.series.jsonl``); ``DataFormatError`` when the
    file is missing, unreadable or has the wrong shape."""
    file = os.fspath(path)  # plain strings: a report reads thousands of these
    try:
        with open(file, "rb") as stream:
            raw = stream.read(_MAX_BYTES + 1)
        if len(raw) > _MAX_BYTES:
            raise DataFormatError(f"{file}: series file larger than {_MAX_BYTES} bytes")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise DataFormatError(f"{file}: no such series file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{file}: unreadable series file: {exc}") from exc
    if file.endswith(SERIES_LINES_SUFFIX):
        return _parse_lines(text, file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{file}: not JSON: {exc}") from exc
    return _parse_object(data, file)


class SeriesAppender:
    """Appends samples to a ``.series.jsonl`` evidence file, one durable line per sample.

    ``append`` writes one line with a single ``write`` on an ``O_APPEND`` descriptor and
    flushes it; ``fsync`` happens every ``sync_every`` samples and on ``close`` (a process
    kill loses nothing written; a power cut loses at most the unsynced tail).
    """

    def __init__(self, path: Path, relative: str, *, sync_every: int = 10) -> None:
        self.path = path
        self.relative = relative
        self._sync_every = max(1, sync_every)
        self._unsynced = 0
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @classmethod
    def create(
        cls,
        run_dir: Path,
        test_id: str | None,
        name: str,
        *,
        unit: str,
        kind: SeriesKind = "time",
        minimum: float | None = None,
        maximum: float | None = None,
        sync_every: int = 10,
    ) -> SeriesAppender:
        """Start ``evidence/<test>/<name>.series.jsonl`` (a new file: never appends to an old run's)."""
        folder = Path(run_dir) / EVIDENCE_DIR / safe_name(test_id or "run", default="run")
        folder.mkdir(parents=True, exist_ok=True)
        file_name = f"{safe_name(name, default='series')}{SERIES_LINES_SUFFIX}"
        path = folder / file_name
        if path.exists():
            raise FileExistsError(f"{path}: a series of that name already exists for this test")
        header: dict[str, JsonValue] = {
            "format": SERIES_FORMAT,
            "name": name,
            "unit": unit,
            "kind": kind,
            "limits": {"min": minimum, "max": maximum},
        }
        appender = cls(path, path.relative_to(Path(run_dir)).as_posix(), sync_every=sync_every)
        appender._write(header)
        appender.sync()
        fsync_directory(folder)
        return appender

    def append(self, t: float, value: float) -> None:
        """Add one sample (non-finite values are refused: they would make the file unreadable)."""
        if not (math.isfinite(t) and math.isfinite(value)):
            raise ValueError(f"series sample must be finite, got t={t!r} value={value!r}")
        self._write({"t": t, "v": value})
        self._unsynced += 1
        if self._unsynced >= self._sync_every:
            self.sync()

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            self._unsynced = 0

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SeriesAppender:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _write(self, data: dict[str, JsonValue]) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: appender is closed")
        payload = (json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        written = os.write(self._fd, payload)
        while written < len(payload):  # short writes are rare but legal
            written += os.write(self._fd, payload[written:])


def _parse_object(data: object, where: str) -> Series:
    fields = Fields(data, where=where)
    _check_format(fields)
    kind = _kind(fields)
    values = _numbers(fields.objects("values"), where, "values")
    times = _numbers(fields.objects("t"), where, "t")
    if kind in ("time", "curve") and len(times) != len(values):
        raise DataFormatError(f"{where}: {len(times)} times but {len(values)} values")
    minimum, maximum = _limits(fields)
    violation = fields.sub("first_violation")
    return Series(
        name=fields.text("name"),
        unit=fields.text("unit", ""),
        values=values,
        t=times,
        kind=kind,
        minimum=minimum,
        maximum=maximum,
        x_unit=fields.text("x_unit", "") if kind == "curve" else "",
        first_violation=(
            Violation(violation.number("t"), violation.number("value"), violation.text("message", ""))
            if violation is not None
            else None
        ),
    )


def _parse_lines(text: str, where: str) -> Series:
    lines = text.split("\n")
    if not lines or not lines[0].strip():
        raise DataFormatError(f"{where}: empty series file (no header line)")
    try:
        header_data = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{where}:1: header is not JSON: {exc}") from exc
    header = Fields(header_data, where=f"{where}:1")
    _check_format(header)
    minimum, maximum = _limits(header)
    fast = _fast_samples(lines[1:])
    times: list[float] = list(fast[0]) if fast else []
    values: list[float] = list(fast[1]) if fast else []
    last = len(lines) - 1 if fast is None else 0  # 0: the loop below has nothing to do
    for number, line in enumerate(lines[1:] if fast is None else (), start=2):
        if not line.strip():
            continue
        try:
            sample = Fields(json.loads(line), where=f"{where}:{number}")
            t, value = sample.number("t"), sample.number("v")
            if not (math.isfinite(t) and math.isfinite(value)):
                raise DataFormatError(f"{sample.where}: t and v must be finite numbers")
        except (json.JSONDecodeError, DataFormatError) as exc:
            if number - 1 == last:
                break  # a torn last line: the writer was killed mid-write, keep what came before
            raise DataFormatError(f"{where}:{number}: bad sample line: {exc}") from exc
        times.append(t)
        values.append(value)
    return Series(
        name=header.text("name"),
        unit=header.text("unit", ""),
        values=tuple(values),
        t=tuple(times),
        kind=_kind(header),
        minimum=minimum,
        maximum=maximum,
    )


def _fast_samples(lines: list[str]) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """All sample lines parsed in one ``json.loads`` (a 72-hour soak has 260 000 of them), or None
    when any line is torn or malformed: the line-by-line path then finds and names it."""
    body = [line for line in lines if line.strip()]
    try:
        samples = json.loads("[" + ",".join(body) + "]")
        if len(samples) != len(body):  # a line holding two objects is malformed, not two samples
            return None
        times = tuple(sample["t"] for sample in samples)
        values = tuple(sample["v"] for sample in samples)
    except (json.JSONDecodeError, KeyError, TypeError, IndexError):
        return None
    if not set(map(type, times)) | set(map(type, values)) <= {int, float}:
        return None
    as_float = tuple(map(float, times)), tuple(map(float, values))
    if not (all(map(math.isfinite, as_float[0])) and all(map(math.isfinite, as_float[1]))):
        return None
    return as_float


def _check_format(fields: Fields) -> None:
    found = fields.text("format")
    if found != SERIES_FORMAT:
        raise DataFormatError(f"{fields.where}: format is {found!r}, expected {SERIES_FORMAT!r}")


def _kind(fields: Fields) -> SeriesKind:
    kind = fields.text("kind", "time")
    if kind == "time":
        return "time"
    if kind == "samples":
        return "samples"
    if kind == "curve":
        return "curve"
    raise DataFormatError(f"{fields.where}: field 'kind' is {kind!r}, expected 'time', 'samples' or 'curve'")


def _limits(fields: Fields) -> tuple[float | None, float | None]:
    limits = fields.sub("limits")
    if limits is None:
        return None, None
    return limits.optional_number("min"), limits.optional_number("max")


def _numbers(items: Sequence[object], where: str, key: str) -> tuple[float, ...]:
    # fast path (soaks have many thousands of samples): all plain numbers, all finite
    if set(map(type, items)) <= {int, float}:
        converted = tuple(map(float, items))  # type: ignore[arg-type]  # types checked just above
        if all(map(math.isfinite, converted)):
            return converted
    numbers: list[float] = []
    for index, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise DataFormatError(f"{where}: {key}[{index}] must be a finite number, got {item!r}")
        numbers.append(float(item))
    return tuple(numbers)


def _outside(value: float, minimum: float | None, maximum: float | None, unit: str) -> str:
    suffix = f" {unit}" if unit else ""
    if minimum is not None and value < minimum:
        return f"{value:g}{suffix} below minimum {minimum:g}{suffix}"
    if maximum is not None and value > maximum:
        return f"{value:g}{suffix} above maximum {maximum:g}{suffix}"
    return ""


def with_violation(series: Series) -> Series:
    """``series`` with ``first_violation`` filled in from its limits (unchanged when none)."""
    return replace(series, first_violation=series.violation())

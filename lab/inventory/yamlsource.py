"""Reading YAML while remembering where every value was written.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two duplicate
keys. Here the file is *composed* (node graph with marks, by libyaml when available) and
turned into a small tree of :class:`Y` values, each with its 1-based line and column.
Mistakes found on the way (syntax, duplicate keys, unknown tags, literal passwords,
unset ``!env`` variables) go to a :class:`Problems` collector instead of raising, so a
file with five mistakes yields five messages at once.

::

    problems = Problems()
    root = parse_yaml_file(Path("inventory/gwangju.yaml"), problems)   # Y or None
    if root is not None:
        print(root.value["name"].value, root.value["name"].line)
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from lab.errors import InventoryError, Problem

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~5× faster


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The safe loader with tag resolution cached per scalar text.

    Composing calls ``resolve`` for every node; PyYAML's version walks its regex tables each
    time, which dominated loading a 2,000-node file. Inventories repeat the same words
    ("name", "lab", "8") thousands of times, so a cache keyed on the text pays off. Path
    resolvers are not used, so descending and ascending are no-ops.
    """

    _cache: ClassVar[dict[tuple[str, bool], str]] = {}  # shared on purpose: tags depend only on text

    def resolve(self, kind: type[Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            key = (value, implicit[0])
            tag = self._cache.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._cache) < 100_000:
                    self._cache[key] = tag
            return tag
        resolved: str = super().resolve(kind, value, implicit)
        return resolved

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


ENV_TAG = "!env"
SECRET_KEYS = frozenset({"password", "passphrase"})
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_DEPTH = 64

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class Y:
    """One YAML value with its position.

    ``value`` is ``dict[str, Y]`` for a mapping, ``list[Y]`` for a sequence, else a
    scalar (str, int, float, bool, None). ``keys`` holds the position of each mapping
    key; ``text`` the scalar as written (``1.10`` stays ``"1.10"`` there); ``env`` the
    variable name when the value came from ``!env VAR`` (never echoed in messages);
    ``refused`` marks a value already reported (a literal password) that later checks skip.
    """

    __slots__ = ("column", "env", "keys", "line", "refused", "text", "value")

    def __init__(
        self,
        value: object,
        line: int,
        column: int,
        *,
        keys: dict[str, tuple[int, int]] | None = None,
        text: str | None = None,
        env: str | None = None,
        refused: bool = False,
    ) -> None:
        self.value = value
        self.line = line
        self.column = column
        self.keys = keys
        self.text = text
        self.env = env
        self.refused = refused

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def get(self, key: str) -> Y | None:
        """The child ``key`` of a mapping, or None (also when this is not a mapping)."""
        if isinstance(self.value, dict):
            child: Y | None = self.value.get(key)
            return child
        return None

    def usable(self, *keys: str) -> bool:
        """True when this mapping has every key in ``keys`` with a value not already refused."""
        if not isinstance(self.value, dict):
            return False
        return all(key in self.value and not self.value[key].refused for key in keys)

    def key_position(self, key: str) -> tuple[int, int]:
        """Where ``key`` itself was written (falls back to this mapping's position)."""
        if self.keys and key in self.keys:
            return self.keys[key]
        return (self.line, self.column)

    def plain(self) -> object:
        """The value as plain Python data (dicts, lists, scalars), positions dropped."""
        if isinstance(self.value, dict):
            return {key: child.plain() for key, child in self.value.items()}
        if isinstance(self.value, list):
            return [child.plain() for child in self.value]
        return self.value

    def __repr__(self) -> str:
        return f"Y({self.value!r} @{self.line}:{self.column})"


class Problems:
    """Collects :class:`~lab.errors.Problem` objects; duplicates (same place and message) kept once."""

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self._seen: set[tuple[str, int, int, str]] = set()

    def add(self, file: str, line: int, column: int, path: str, message: str) -> None:
        key = (file, line, column, message)
        if key not in self._seen:
            self._seen.add(key)
            self._items.append(Problem(file, line, column, path, message))

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def items(self) -> tuple[Problem, ...]:
        return tuple(self._items)

    def raise_if_any(self, file_order: Iterable[str] = ()) -> None:
        """Raise :class:`InventoryError` with every problem, sorted by file order, line, column."""
        if not self._items:
            return
        rank = {name: index for index, name in enumerate(file_order)}
        ordered = sorted(self._items, key=lambda p: (rank.get(p.file, len(rank)), p.file, p.line, p.column))
        raise InventoryError(ordered)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def describe(y: Y) -> str:
    """What kind of value ``y`` is, for messages: 'a string', 'a mapping', ..."""
    value = y.value
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if value is None:
        return "nothing (null)"
    return "a string"


def shown(y: Y) -> str:
    """The value quoted for a message, or a placeholder when it came from an environment variable."""
    if y.env is not None:
        return f"(the value of ${y.env})"
    text = y.text if y.text is not None else str(y.value)
    if isinstance(y.value, int | float) and not isinstance(y.value, bool):
        return text
    return repr(text if len(text) <= 60 else text[:57] + "...")


def read_text(path: Path, label: str, problems: Problems) -> tuple[str, bytes] | None:
    """The file's text and bytes, or None after recording why it could not be read."""
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.add(label, 1, 1, "", f"cannot read file: {error.strerror or error}")
        return None
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError as error:
        problems.add(label, 1, 1, "", f"not valid UTF-8 text (byte {error.start})")
        return None


def parse_yaml_file(path: Path, problems: Problems, label: str | None = None) -> tuple[Y | None, bytes]:
    """Parse ``path``; returns the root value (None when unusable) and the file's bytes."""
    name = label if label is not None else str(path)
    loaded = read_text(path, name, problems)
    if loaded is None:
        return None, b""
    text, data = loaded
    return parse_yaml_text(text, name, problems), data


def parse_yaml_text(text: str, file: str, problems: Problems) -> Y | None:
    """Parse YAML text; positions in problems are reported against ``file``."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = error.problem or error.context or "invalid YAML"
        problems.add(file, line, column, "", f"YAML syntax error: {message}")
        return None
    except yaml.YAMLError as error:
        problems.add(file, 1, 1, "", f"YAML error: {error}")
        return None
    except RecursionError:
        problems.add(file, 1, 1, "", "YAML nesting is too deep")
        return None
    if node is None:
        problems.add(file, 1, 1, "", "the file is empty")
        return None
    return _Converter(file, problems).convert(node, None, 0, in_secret=False)


# A path is built lazily as (parent, key) pairs and rendered only for a message: making a
# "sites.a.racks.r1.nodes[3].address" string for every value would cost more than the parse.
_Path = tuple[object, str | int] | None


def _render(path: _Path) -> str:
    parts: list[str | int] = []
    while path is not None:
        parent, key = path
        parts.append(key)
        path = parent  # type: ignore[assignment]
    text = ""
    for part in reversed(parts):
        text = f"{text}[{part}]" if isinstance(part, int) else join_path(text, part)
    return text


_IN_PROGRESS = Y(None, 0, 0, refused=True)


class _Converter:
    """Turns composed YAML nodes into :class:`Y` trees, reporting mistakes as it goes."""

    def __init__(self, file: str, problems: Problems) -> None:
        self.file = file
        self.problems = problems
        self.constructor = SafeConstructor()
        # An alias shares its node; memoising keeps "billion laughs" linear and catches recursion.
        # Nodes stay alive for the whole conversion, so their id() values are unique keys.
        self.done: dict[int, Y] = {}
        self.scalars: dict[tuple[str, str], object] = {}

    def report(self, node: Node, path: _Path, message: str) -> None:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.problems.add(self.file, line, column, _render(path), message)

    def convert(self, node: Node, path: _Path, depth: int, *, in_secret: bool) -> Y:
        if isinstance(node, ScalarNode):
            return self._scalar(node, path, in_secret=in_secret)
        key = id(node)
        known = self.done.get(key)
        if known is not None and known is not _IN_PROGRESS:
            return known
        if known is _IN_PROGRESS or depth > _MAX_DEPTH:
            self.report(node, path, "recursive alias or nesting deeper than 64 levels")
            return Y(None, node.start_mark.line + 1, node.start_mark.column + 1, refused=True)
        self.done[key] = _IN_PROGRESS
        if isinstance(node, MappingNode):
            result = self._mapping(node, path, depth)
        else:
            assert isinstance(node, SequenceNode)
            result = self._sequence(node, path, depth)
        self.done[key] = result
        return result

    def _sequence(self, node: SequenceNode, path: _Path, depth: int) -> Y:
        if node.tag != _SEQ:
            self.report(node, path, f"unsupported tag '{node.tag}'")
        convert = self.convert
        items = [
            convert(child, (path, index), depth + 1, in_secret=False)
            for index, child in enumerate(node.value)
        ]
        return Y(items, node.start_mark.line + 1, node.start_mark.column + 1)

    def _mapping(self, node: MappingNode, path: _Path, depth: int) -> Y:
        if node.tag != _MAP:
            self.report(node, path, f"unsupported tag '{node.tag}'")
        values: dict[str, Y] = {}
        keys: dict[str, tuple[int, int]] = {}
        merged: list[tuple[str, Y]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, path, depth))
                continue
            if not isinstance(key_node, ScalarNode):
                self.report(key_node, path, "mapping keys must be plain words, not lists or mappings")
                continue
            name = str(key_node.value)
            mark = key_node.start_mark
            if name in keys:
                first = keys[name][0]
                self.report(key_node, (path, name), f"duplicate key '{name}' (first written at line {first})")
                continue
            secret = name.lower() in SECRET_KEYS
            child = self.convert(value_node, (path, name), depth + 1, in_secret=secret)
            if secret and child.env is None and not child.refused:
                self.report(
                    value_node,
                    (path, name),
                    f"literal {name.lower()} refused: secrets come only from an environment variable "
                    f"(write '{name}: !env VAR' or '{name}_env: VAR')",
                )
                child = Y(None, child.line, child.column, refused=True)
            keys[name] = (mark.line + 1, mark.column + 1)
            values[name] = child
        for name, child in merged:  # keys written in the mapping itself win over '<<' merges
            if name not in values:
                values[name] = child
                keys[name] = (child.line, child.column)
        return Y(values, node.start_mark.line + 1, node.start_mark.column + 1, keys=keys)

    def _merge_sources(self, node: Node, path: _Path, depth: int) -> list[tuple[str, Y]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        found: list[tuple[str, Y]] = []
        for source in sources:
            converted = self.convert(source, path, depth + 1, in_secret=False)
            if isinstance(converted.value, dict):
                found.extend(converted.value.items())
            else:
                self.report(source, path, "'<<' merges only mappings")
        return found

    def _scalar(self, node: ScalarNode, path: _Path, *, in_secret: bool) -> Y:
        mark = node.start_mark
        line, column = mark.line + 1, mark.column + 1
        text = str(node.value)
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):  # dates stay text: labels and versions want what was written
            return Y(text, line, column, text=text)
        if tag == ENV_TAG:
            return self._env(node, path, text, line, column, in_secret=in_secret)
        if tag in (_INT, _FLOAT, _BOOL, _NULL):
            cache_key = (tag, text)
            if cache_key in self.scalars:
                return Y(self.scalars[cache_key], line, column, text=text)
            try:
                value = self.constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError):
                self.report(node, path, f"cannot read {text!r} as a {tag.rsplit(':', 1)[-1]}")
                return Y(None, line, column, text=text, refused=True)
            self.scalars[cache_key] = value
            return Y(value, line, column, text=text)
        self.report(node, path, f"unsupported tag '{tag}' (only !env is understood)")
        return Y(None, line, column, text=text, refused=True)

    def _env(self, node: ScalarNode, path: _Path, name: str, line: int, column: int, *, in_secret: bool) -> Y:
        name = name.strip()
        if not ENV_NAME.match(name):
            self.report(node, path, f"!env needs an environment variable name, got {name!r}")
            return Y(None, line, column, refused=True)
        if name not in os.environ:
            self.report(node, path, f"environment variable ${name} (from !env) is not set")
            return Y(None, line, column, env=name, refused=True)
        if in_secret:  # a secret is only *named* here; it is read at connect time, never stored
            return Y(name, line, column, text=name, env=name)
        raw = os.environ[name]
        resolved_tag = Resolver().resolve(ScalarNode, raw, (True, False))  # type: ignore[no-untyped-call]
        value: object = raw
        if resolved_tag in (_INT, _FLOAT, _BOOL, _NULL):
            try:
                value = self.constructor.construct_object(ScalarNode(resolved_tag, raw), deep=True)
            except (yaml.YAMLError, ValueError, OverflowError):
                value = raw
        return Y(value, line, column, text=raw, env=name)

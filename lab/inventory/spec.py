"""A tiny declarative description of YAML shapes, driving both the validator and the JSON Schema.

Each shape (``Str``, ``Int``, ``Obj``, ...) knows how to check a located value
(:class:`~lab.inventory.yamlsource.Y`), reporting problems with file:line:column, and how
to describe itself as JSON Schema. The inventory, catalog and profile formats are written
once in :mod:`lab.inventory.formats`; the validator and ``lab inventory schema`` both read
them, so the two cannot drift apart.

::

    port = Int(minimum=1, maximum=65535, doc="SSH port")
    checked = port.check(y, "nodes.kt-01.port", ctx)   # Y, or None after reporting a problem
    port.json_schema({})                               # {"type": "integer", "minimum": 1, ...}

``check`` returns a *cleaned* value: invalid list items and free-key entries are dropped, and
an invalid value of a known key becomes a ``refused`` placeholder (value None), so later stages
(inheritance, model building) only ever see well-typed data or a marker of a reported mistake.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.inventory.yamlsource import Problems, Y, describe, did_you_mean, join_path, shown

JsonSchema = dict[str, Any]


@dataclass(slots=True)
class Ctx:
    """Where problems go and which file they belong to."""

    file: str
    problems: Problems
    reported: int = 0  # every report counts, even one the collector drops as a repeat

    def add(self, line: int, column: int, path: str, message: str) -> None:
        self.reported += 1
        self.problems.add(self.file, line, column, path, message)

    def at(self, y: Y, path: str, message: str) -> None:
        self.add(y.line, y.column, path, message)


class Spec:
    """Base of every shape. ``doc`` becomes the schema's description."""

    doc: str = ""

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        raise NotImplementedError

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        raise NotImplementedError

    def _with_doc(self, schema: JsonSchema) -> JsonSchema:
        if self.doc:
            schema["description"] = self.doc
        return schema


def _wrong_type(y: Y, path: str, ctx: Ctx, wanted: str) -> None:
    ctx.at(y, path, f"expected {wanted}, got {describe(y)}")


@dataclass(slots=True)
class Str(Spec):
    """A string. ``pattern`` (a regex) and ``pattern_doc`` say what it must look like.

    ``numbers_as_text`` accepts an unquoted number and keeps the text as written, so
    ``firmware: 1.10`` means ``"1.10"`` (not the float 1.1).
    """

    doc: str = ""
    pattern: str | None = None
    pattern_doc: str = ""
    numbers_as_text: bool = False
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern) if self.pattern else None

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        value = y.value
        if not isinstance(value, str):
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if self.numbers_as_text and is_number and y.text is not None:
                return Y(y.text, y.line, y.column, text=y.text, env=y.env)
            _wrong_type(y, path, ctx, "a string")
            return None
        if self._regex is not None and not self._regex.match(value):
            ctx.at(y, path, f"{shown(y)} is not {self.pattern_doc or 'valid'}")
            return None
        return y

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        schema: JsonSchema = {"type": ["string", "number"]} if self.numbers_as_text else {"type": "string"}
        if self.pattern and not self.numbers_as_text:
            schema["pattern"] = self.pattern
        return self._with_doc(schema)


@dataclass(slots=True)
class Int(Spec):
    doc: str = ""
    minimum: int | None = None
    maximum: int | None = None

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if not isinstance(y.value, int) or isinstance(y.value, bool):
            _wrong_type(y, path, ctx, "an integer")
            return None
        return _in_range(y, path, ctx, self.minimum, self.maximum, exclusive_minimum=False)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        schema: JsonSchema = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return self._with_doc(schema)


@dataclass(slots=True)
class Num(Spec):
    """A number (integer or decimal). ``positive`` means strictly greater than zero."""

    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    nullable: bool = False

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if y.value is None and self.nullable:
            return y
        if not isinstance(y.value, int | float) or isinstance(y.value, bool):
            _wrong_type(y, path, ctx, "a number or null" if self.nullable else "a number")
            return None
        if not math.isfinite(y.value):
            ctx.at(y, path, f"{shown(y)} is not a finite number")
            return None
        if self.positive:
            return _in_range(y, path, ctx, 0, self.maximum, exclusive_minimum=True)
        return _in_range(y, path, ctx, self.minimum, self.maximum, exclusive_minimum=False)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        schema: JsonSchema = {"type": ["number", "null"] if self.nullable else "number"}
        if self.positive:
            schema["exclusiveMinimum"] = 0
        elif self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return self._with_doc(schema)


def _in_range(
    y: Y, path: str, ctx: Ctx, low: float | None, high: float | None, *, exclusive_minimum: bool
) -> Y | None:
    value = y.value
    assert isinstance(value, int | float)
    if low is not None and (value <= low if exclusive_minimum else value < low):
        ctx.at(y, path, f"{shown(y)} must be {'greater than' if exclusive_minimum else 'at least'} {low:g}")
        return None
    if high is not None and value > high:
        ctx.at(y, path, f"{shown(y)} must be at most {high:g}")
        return None
    return y


@dataclass(slots=True)
class Bool(Spec):
    doc: str = ""

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if not isinstance(y.value, bool):
            _wrong_type(y, path, ctx, "true or false")
            return None
        return y

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        return self._with_doc({"type": "boolean"})


@dataclass(slots=True)
class Enum(Spec):
    """One of a fixed set of strings."""

    choices: tuple[str, ...] = ()
    doc: str = ""

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if not isinstance(y.value, str):
            _wrong_type(y, path, ctx, "one of " + ", ".join(self.choices))
            return None
        if y.value not in self.choices:
            hint = did_you_mean(y.value, self.choices)
            ctx.at(y, path, f"{shown(y)} is not one of {', '.join(self.choices)}{hint}")
            return None
        return y

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        return self._with_doc({"enum": list(self.choices)})


@dataclass(slots=True)
class ScalarValue(Spec):
    """Any single value: string, number, true/false or null (labels, settings, fault parameters)."""

    doc: str = ""

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if isinstance(y.value, dict | list):
            _wrong_type(y, path, ctx, "a single value (string, number, true/false)")
            return None
        return y

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        return self._with_doc({"type": ["string", "number", "boolean", "null"]})


@dataclass(slots=True)
class ListOf(Spec):
    """A list of items of one shape. ``single_ok`` also accepts one bare item (as a list of one)."""

    item: Spec = field(default_factory=ScalarValue)
    doc: str = ""
    single_ok: bool = False

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if not isinstance(y.value, list):
            if self.single_ok and not isinstance(y.value, dict):
                single = self.item.check(y, path, ctx)
                return None if single is None else Y([single], y.line, y.column)
            _wrong_type(y, path, ctx, "a list")
            return None
        kept: list[Y] = []
        for index, child in enumerate(y.value):
            checked = self.item.check(child, f"{path}[{index}]", ctx)
            if checked is not None:
                kept.append(checked)
        return Y(kept, y.line, y.column)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        as_list: JsonSchema = {"type": "array", "items": self.item.json_schema(defs)}
        if self.single_ok:
            return self._with_doc({"anyOf": [as_list, self.item.json_schema(defs)]})
        return self._with_doc(as_list)


@dataclass(slots=True)
class MapOf(Spec):
    """A mapping with free keys (matching ``key_pattern``) and values of one shape."""

    value: Spec = field(default_factory=ScalarValue)
    doc: str = ""
    key_pattern: str | None = None
    key_doc: str = ""
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._regex = re.compile(self.key_pattern) if self.key_pattern else None

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if not isinstance(y.value, dict):
            _wrong_type(y, path, ctx, "a mapping")
            return None
        kept: dict[str, Y] = {}
        for key, child in y.value.items():
            if self._regex is not None and not self._regex.match(key):
                line, column = y.key_position(key)
                ctx.add(line, column, path, f"key {key!r} is not {self.key_doc or 'valid'}")
                continue
            checked = self.value.check(child, join_path(path, key), ctx)
            if checked is not None:
                kept[key] = checked
        return Y(kept, y.line, y.column, keys=y.keys)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        schema: JsonSchema = {"type": "object", "additionalProperties": self.value.json_schema(defs)}
        if self.key_pattern:
            schema["propertyNames"] = {"pattern": self.key_pattern}
        return self._with_doc(schema)


@dataclass(frozen=True, slots=True)
class Field:
    """One key of an :class:`Obj`: its shape, whether it must be present, and its documentation."""

    spec: Spec
    required: bool = False


@dataclass(slots=True)
class Obj(Spec):
    """A mapping with known keys. Unknown keys and missing required keys are reported."""

    fields: Mapping[str, Field] = field(default_factory=dict)
    doc: str = ""
    ref: str = ""  # when set, the JSON Schema puts this shape once under $defs/<ref>
    scratch_keys: bool = False  # allow "x-..." keys (anchors to reuse), ignored like docker-compose does

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.refused:
            return None
        if not isinstance(y.value, dict):
            _wrong_type(y, path, ctx, "a mapping")
            return None
        kept: dict[str, Y] = {}
        for key, child in y.value.items():
            known = self.fields.get(key)
            if known is None and self.scratch_keys and key.startswith("x-"):
                continue
            if known is None:
                line, column = y.key_position(key)
                hint = did_you_mean(key, self.fields)
                ctx.add(line, column, join_path(path, key), f"unknown key '{key}'{hint}")
                continue
            checked = known.spec.check(child, join_path(path, key), ctx)
            # An invalid value stays as a refused placeholder: the key was given, so later
            # stages must not add "missing key" or "choose one" complaints about it.
            kept[key] = checked if checked is not None else Y(None, child.line, child.column, refused=True)
        for key, known in self.fields.items():
            if known.required and key not in y.value:
                ctx.at(y, path, f"missing required key '{key}'")
        return Y(kept, y.line, y.column, keys=y.keys)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        if self.ref:
            if self.ref not in defs:
                defs[self.ref] = {}  # placeholder first: a shape may refer to itself
                defs[self.ref] = self._object_schema(defs)
            return {"$ref": f"#/$defs/{self.ref}"}
        return self._object_schema(defs)

    def _object_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        schema: JsonSchema = {
            "type": "object",
            "properties": {key: known.spec.json_schema(defs) for key, known in self.fields.items()},
            "additionalProperties": False,
        }
        if self.scratch_keys:
            schema["patternProperties"] = {"^x-": {}}
        required = [key for key, known in self.fields.items() if known.required]
        if required:
            schema["required"] = required
        return self._with_doc(schema)

    def extended(self, doc: str = "", ref: str = "", **more: Field) -> Obj:
        """A copy with more fields (the original is left unchanged)."""
        return Obj({**self.fields, **more}, doc or self.doc, ref, self.scratch_keys)


@dataclass(slots=True)
class Nullable(Spec):
    """``inner`` or an explicit null (for figures and links that are unknown)."""

    inner: Spec = field(default_factory=ScalarValue)
    doc: str = ""

    def check(self, y: Y, path: str, ctx: Ctx) -> Y | None:
        if y.value is None and not y.refused:
            return y
        return self.inner.check(y, path, ctx)

    def json_schema(self, defs: dict[str, JsonSchema]) -> JsonSchema:
        return self._with_doc({"anyOf": [self.inner.json_schema(defs), {"type": "null"}]})

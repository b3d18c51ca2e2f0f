"""Strict, typed reading of JSON objects written by the framework itself.

Records and manifests are read back from disk, possibly from an older or damaged run, so
every field is checked and a bad one raises ``DataFormatError`` naming the field — never a
``KeyError`` or ``TypeError`` from deep inside a loader.

::

    fields = Fields(json.loads(line), where="records-gw0.jsonl:12")
    name = fields.text("name")
    unit = fields.text("unit", default="")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

from lab.errors import LabError

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
"""Anything ``json.loads`` can return."""

_MISSING = object()


class DataFormatError(LabError):
    """A stored record, measurement or manifest does not have the expected shape."""


class Fields:
    """Typed accessors over one JSON object; ``where`` prefixes every error message."""

    def __init__(self, data: object, *, where: str) -> None:
        if not isinstance(data, dict):
            raise DataFormatError(f"{where}: expected a JSON object, got {_kind(data)}")
        self.data: dict[str, object] = data
        self.where = where

    def _get(self, key: str, default: object) -> object:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise DataFormatError(f"{self.where}: missing field {key!r}")
        return default

    def _wrong(self, key: str, expected: str, value: object) -> DataFormatError:
        return DataFormatError(f"{self.where}: field {key!r} must be {expected}, got {_kind(value)}")

    def text(self, key: str, default: object = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self._wrong(key, "text", value)
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, None)
        if value is not None and not isinstance(value, str):
            raise self._wrong(key, "text or null", value)
        return value

    def number(self, key: str, default: object = _MISSING) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(key, "a number", value)
        return float(value)

    def optional_number(self, key: str) -> float | None:
        value = self._get(key, None)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(key, "a number or null", value)
        return float(value)

    def optional_int(self, key: str) -> int | None:
        value = self._get(key, None)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._wrong(key, "an integer or null", value)
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings; an absent field is an empty tuple."""
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._wrong(key, "a list of text", value)
        return tuple(value)

    def objects(self, key: str) -> Sequence[object]:
        """A list of anything (each item is checked by its own reader); absent → empty."""
        value = self._get(key, [])
        if not isinstance(value, list):
            raise self._wrong(key, "a list", value)
        return value

    def mapping(self, key: str) -> Mapping[str, JsonValue]:
        """A JSON object; an absent field is an empty mapping."""
        value = self._get(key, {})
        if not isinstance(value, dict):
            raise self._wrong(key, "an object", value)
        return value

    def raw(self, key: str, default: object = _MISSING) -> object:
        return self._get(key, default)

    def sub(self, key: str) -> Fields | None:
        """The nested object under ``key`` as ``Fields``, or None when absent/null."""
        value = self._get(key, None)
        if value is None:
            return None
        return Fields(value, where=f"{self.where}: {key}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__

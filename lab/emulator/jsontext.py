"""JSON for the emulated tools through ``_json`` alone: the same text as ``json``, a third of the start-up.

Every emulated tool call is a fresh Python process; ``import json`` pulls in ``re``,
``enum``, ``functools`` and ``collections`` (~15 ms of CPU per call, a third of a tool's
whole cost), although reading and writing JSON is done by the C module ``_json`` that
``json`` wraps. This module drives ``_json`` directly and produces byte-for-byte what
``json.dumps`` produces for the same arguments (tests/emulator/test_jsontext.py checks it)::

    data = loads('{"a": [1, 2.5, null]}')          # malformed text: ValueError
    dumps(data, indent=2, ensure_ascii=False)      # what json.dumps(...) prints
    dumps(data, separators=(",", ":"))             # compact

Only what the tools need: ``str`` input, objects with ``str``/number/bool/None keys, lists
and tuples, ``str``/``int``/``float``/``bool``/None values; anything else is a ``TypeError``.
"""

from __future__ import annotations

import _json

_WHITESPACE = " \t\n\r"
_INFINITY = float("inf")
_CONSTANTS = {"NaN": float("nan"), "Infinity": _INFINITY, "-Infinity": -_INFINITY}


class _DecoderOptions:
    """The attributes ``_json.make_scanner`` reads (those of a default ``json.JSONDecoder``)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan = _json.make_scanner(_DecoderOptions())  # type: ignore[arg-type]  # it reads only these attributes


def loads(text: str) -> object:
    """The value of JSON ``text`` (``ValueError``, as from ``json.loads``, when it is not JSON)."""
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except Exception:  # any failure of the scanner means malformed text
        _refuse(text)
    if text[end:].strip(_WHITESPACE):
        _refuse(text)
    return value


def _refuse(text: str) -> NoReturn:
    # The C scanner builds its errors from json.decoder, which exists only once json is
    # imported (without it: SystemError). Malformed text is rare: json re-reads it and
    # raises its own JSONDecodeError (a ValueError) with line and column.
    import json

    json.loads(text)
    raise ValueError("not JSON")  # json accepted what _json refused: not expected


def _unserializable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(
    value: object,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    ensure_ascii: bool = True,
    separators: tuple[str, str] | None = None,
) -> str:
    """``json.dumps(value, indent=..., sort_keys=..., ensure_ascii=..., separators=...)``."""
    if separators is not None:
        item_separator, key_separator = separators
    else:
        item_separator, key_separator = ("," if indent is not None else ", "), ": "
    encode_string = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
    encoder = _json.make_encoder(
        {}, _unserializable, encode_string, None, key_separator, item_separator, sort_keys, False, True
    )
    if indent is None:
        return "".join(encoder(value, 0))
    out: list[str] = []
    _Pretty(encoder, encode_string, " " * indent, item_separator, key_separator, sort_keys, out).value(
        value, 0
    )
    return "".join(out)


class _Pretty:
    """Indented output: containers laid out here, every scalar written by the C encoder."""

    def __init__(
        self,
        encoder: _Encoder,
        encode_string: _StringEncoder,
        indent: str,
        item_separator: str,
        key_separator: str,
        sort_keys: bool,
        out: list[str],
    ) -> None:
        self.encoder = encoder
        self.encode_string = encode_string
        self.indent = indent
        self.item_separator = item_separator
        self.key_separator = key_separator
        self.sort_keys = sort_keys
        self.out = out

    def value(self, value: object, level: int) -> None:
        if isinstance(value, list | tuple):
            self._items([(None, item) for item in value], level, "[", "]")
        elif isinstance(value, dict):
            pairs = sorted(value.items()) if self.sort_keys else value.items()
            self._items([(self._key(key), item) for key, item in pairs], level, "{", "}")
        else:
            self.out.extend(self.encoder(value, level))

    def _items(self, items: list[tuple[str | None, object]], level: int, opening: str, closing: str) -> None:
        if not items:
            self.out.append(opening + closing)
            return
        inner = "\n" + self.indent * (level + 1)
        self.out.append(opening)
        for number, (key, item) in enumerate(items):
            self.out.append(inner if number == 0 else self.item_separator + inner)
            if key is not None:
                self.out.append(self.encode_string(key) + self.key_separator)
            self.value(item, level + 1)
        self.out.append("\n" + self.indent * level + closing)

    def _key(self, key: object) -> str:
        # json.dumps turns these keys into strings; anything else is refused as it refuses them
        if isinstance(key, str):
            return key
        if key is True or key is False or key is None:
            return {True: "true", False: "false", None: "null"}[key]
        if isinstance(key, int | float):
            return "".join(self.encoder(key, 0))
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


TYPE_CHECKING = False  # typing costs ~4 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

    _Encoder = Callable[[object, int], list[str]]
    _StringEncoder = Callable[[str], str]

"""Node selection expressions, shared by ``lab inventory show --select``, ``lab exec`` and pytest options.

Grammar (``not`` binds tighter than ``and``, ``and`` tighter than ``or``)::

    expression := term | 'not' expression | expression 'and' expression
                | expression 'or' expression | '(' expression ')'
    term       := KEY '=' VALUE | KEY '!=' VALUE | WORD

Keys: ``name``, ``vendor``, ``model``, ``operator``, ``site``, ``rack``, ``group``, ``tag``,
``emulated`` (true/false) and ``label.X``. Values may be glob patterns (``*``, ``?``,
``[abc]``) and may be quoted ('…' or "…") to hold spaces. A bare WORD matches a node that
has that tag or whose name matches the glob. ``KEY!=VALUE`` is ``not KEY=VALUE`` (so
``vendor!=nvidia`` keeps a node only if none of its cards is NVIDIA).

::

    select_nodes(inventory, "vendor=rebellions and operator=kt-cloud")
    select_nodes(inventory, "kt-rbln-0* or (tag=reference and not emulated=true)")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from lab.errors import LabError
from lab.inventory.model import DeviceModel, Inventory, Node
from lab.inventory.yamlsource import did_you_mean

Predicate = Callable[[Node, Mapping[str, DeviceModel]], bool]

KEYS = ("name", "vendor", "model", "operator", "site", "rack", "group", "tag", "emulated")
_KEYWORDS = ("and", "or", "not")
_TOKEN = re.compile(
    r"""\s*(?:(?P<lparen>\()|(?P<rparen>\))|(?P<op>!=|=)|'(?P<squote>[^']*)'|"(?P<dquote>[^"]*)"|(?P<word>[^\s()=!'"]+)|(?P<bad>\S))"""
)
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


class SelectionError(LabError):
    """A malformed selection expression; the message names the position (1-based) and shows it."""

    def __init__(self, expression: str, position: int, message: str) -> None:
        self.expression = expression
        self.position = position
        pointer = " " * (position - 1) + "^"
        super().__init__(f"selection: {message} at position {position}\n  {expression}\n  {pointer}")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # lparen | rparen | op | word | value (quoted) | end
    text: str
    position: int  # 1-based


def _tokens(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(expression):
        match = _TOKEN.match(expression, index)
        if match is None or match.end() == index:
            break  # only trailing spaces remain
        kind = match.lastgroup or "bad"
        start = match.start(kind) + 1
        if kind == "bad":
            text = match.group("bad")
            raise SelectionError(expression, start, f"unexpected character {text!r} (an unclosed quote?)")
        text = match.group(kind)
        tokens.append(_Token("value" if kind in ("squote", "dquote") else kind, text, start))
        index = match.end()
    tokens.append(_Token("end", "", len(expression) + 1))
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: _Token, message: str) -> SelectionError:
        return SelectionError(self.expression, token.position, message)

    def is_keyword(self, token: _Token, keyword: str) -> bool:
        return token.kind == "word" and token.text.lower() == keyword

    def parse(self) -> Predicate:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "empty expression")
        predicate = self.or_expression()
        token = self.peek()
        if token.kind != "end":
            raise self.fail(token, f"expected 'and', 'or' or the end, found {token.text!r}")
        return predicate

    def or_expression(self) -> Predicate:
        parts = [self.and_expression()]
        while self.is_keyword(self.peek(), "or"):
            self.take()
            parts.append(self.and_expression())
        if len(parts) == 1:
            return parts[0]
        return lambda node, catalog: any(part(node, catalog) for part in parts)

    def and_expression(self) -> Predicate:
        parts = [self.not_expression()]
        while self.is_keyword(self.peek(), "and"):
            self.take()
            parts.append(self.not_expression())
        if len(parts) == 1:
            return parts[0]
        return lambda node, catalog: all(part(node, catalog) for part in parts)

    def not_expression(self) -> Predicate:
        if self.is_keyword(self.peek(), "not"):
            self.take()
            inner = self.not_expression()
            return lambda node, catalog: not inner(node, catalog)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.take()
        if token.kind == "lparen":
            inner = self.or_expression()
            closing = self.take()
            if closing.kind != "rparen":
                raise self.fail(closing, f"expected ')', found {closing.text or 'the end'!r}")
            return inner
        if token.kind in ("word", "value") and not any(self.is_keyword(token, word) for word in _KEYWORDS):
            if self.peek().kind == "op":
                if token.kind == "value":
                    raise self.fail(token, "a key cannot be quoted")
                return self.comparison(token)
            pattern = token.text
            return lambda node, catalog: pattern in node.tags or fnmatchcase(node.name, pattern)
        found = token.text or "the end"
        raise self.fail(token, f"expected a term such as key=value, a word or '(', found {found!r}")

    def comparison(self, key_token: _Token) -> Predicate:
        operator = self.take().text
        value_token = self.take()
        if value_token.kind not in ("word", "value"):
            raise self.fail(value_token, f"expected a value after {key_token.text}{operator}")
        test = self.term(key_token, value_token)
        if operator == "!=":
            return lambda node, catalog: not test(node, catalog)
        return test

    def term(self, key_token: _Token, value_token: _Token) -> Predicate:
        key, value = key_token.text, value_token.text
        if key.startswith("label."):
            label = key[len("label.") :]
            if not label:
                raise self.fail(key_token, "label. needs a label name, e.g. label.rack_unit=12")
            return lambda node, catalog: (
                label in node.labels and fnmatchcase(_text(node.labels[label]), value)
            )
        if key == "emulated":
            if value.lower() not in _TRUE + _FALSE:
                raise self.fail(value_token, f"emulated takes true or false, not {value!r}")
            wanted = value.lower() in _TRUE
            return lambda node, catalog: node.emulated is wanted
        getter = _GETTERS.get(key)
        if getter is None:
            hint = did_you_mean(key, [*KEYS, "label.X"])
            raise self.fail(key_token, f"unknown key '{key}'{hint}; keys: {', '.join(KEYS)}, label.X")
        return lambda node, catalog: any(fnmatchcase(item, value) for item in getter(node, catalog))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _vendors(node: Node, catalog: Mapping[str, DeviceModel]) -> list[str]:
    return [catalog[spec.model].vendor for spec in node.accelerators if spec.model in catalog]


_GETTERS: dict[
    str, Callable[[Node, Mapping[str, DeviceModel]], list[str] | tuple[str, ...] | frozenset[str]]
] = {
    "name": lambda node, catalog: [node.name],
    "vendor": _vendors,
    "model": lambda node, catalog: [spec.model for spec in node.accelerators],
    "operator": lambda node, catalog: [node.operator],
    "site": lambda node, catalog: [node.site] if node.site else [],
    "rack": lambda node, catalog: [node.rack] if node.rack else [],
    "group": lambda node, catalog: node.groups,
    "tag": lambda node, catalog: node.tags,
}


def parse_selection(expression: str) -> Predicate:
    """Compile ``expression`` into a predicate ``(node, catalog) -> bool``; raises SelectionError."""
    return _Parser(expression).parse()


def select_nodes(inventory: Inventory, expression: str) -> tuple[Node, ...]:
    """The nodes of ``inventory`` matching ``expression``, in inventory order."""
    predicate = parse_selection(expression)
    return tuple(node for node in inventory.nodes if predicate(node, inventory.catalog))

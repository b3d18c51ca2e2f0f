"""What a run covers: its nodes and cards by vendor and model, and the table by card model.

The inventory's declaration is recorded in the manifest at run start (``properties["scope"]``:
node → operator and cards); a card's model as its tests saw it (the ``model`` property)
wins over the declaration. A card is *certified* when it has at least one PASS or MARGINAL and
neither it nor its node has a FAIL, ERROR or INCOMPLETE test::

    scope = scope_of(manifest.properties.get("scope"))
    rows = model_rows(run.records, scope)       # ModelRow per card model, key figures inside
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.criteria import JsonValue, Measurement, Outcome
from lab.report.figures import limit_text, median_text, value_text, worst_of
from lab.results import TestRecord

_BLOCKING = frozenset({Outcome.FAIL, Outcome.ERROR, Outcome.INCOMPLETE})
_CERTIFYING = frozenset({Outcome.PASS, Outcome.MARGINAL})


@dataclass(frozen=True, slots=True)
class DeclaredCards:
    """One ``accelerators`` entry of a node, as the inventory declared it."""

    model: str  # catalog key, e.g. "rngd"
    vendor: str
    name: str  # marketing name, e.g. "FuriosaAI RNGD"
    count: int


@dataclass(frozen=True, slots=True)
class ModelFigure:
    criterion: str
    count: int
    median: str
    worst: str
    worst_where: str  # node:card
    limit: str
    unit: str
    verdict: Outcome


@dataclass(frozen=True, slots=True)
class ModelRow:
    vendor: str
    model: str
    name: str
    nodes: int
    cards: int  # declared (or seen, without a declaration)
    certified: int
    figures: tuple[ModelFigure, ...]


def scope_of(data: JsonValue | None) -> dict[str, tuple[DeclaredCards, ...]]:
    """The manifest's ``scope`` property as node → declared cards (garbage → nothing)."""
    if not isinstance(data, dict):
        return {}
    scope: dict[str, tuple[DeclaredCards, ...]] = {}
    for node, entry in data.items():
        cards = entry.get("cards") if isinstance(entry, dict) else None
        if not isinstance(cards, list):
            continue
        declared = []
        for card in cards:
            if isinstance(card, dict) and isinstance(card.get("model"), str):
                count = card.get("count")
                declared.append(
                    DeclaredCards(
                        str(card["model"]),
                        str(card.get("vendor") or ""),
                        str(card.get("name") or card["model"]),
                        count if isinstance(count, int) and not isinstance(count, bool) else 0,
                    )
                )
        scope[str(node)] = tuple(declared)
    return scope


def scope_text(inventory: str, nodes: int, scope: Mapping[str, Sequence[DeclaredCards]]) -> str:
    """``gwangju-emulated: 9 nodes, 17 cards — furiosaai: 2 × rngd, 2 × warboy; ...``"""
    by_vendor: dict[str, dict[str, int]] = {}
    for cards in scope.values():
        for card in cards:
            models = by_vendor.setdefault(card.vendor or "?", {})
            models[card.model] = models.get(card.model, 0) + card.count
    total = sum(sum(models.values()) for models in by_vendor.values())
    head = f"{inventory}: " if inventory else ""
    text = f"{head}{nodes} nodes" + (f", {total} cards" if by_vendor else "")
    if by_vendor:
        text += " — " + "; ".join(
            f"{vendor}: " + ", ".join(f"{count} × {model}" for model, count in sorted(models.items()))
            for vendor, models in sorted(by_vendor.items())
        )
    return text


def card_model(record: TestRecord, scope: Mapping[str, Sequence[DeclaredCards]]) -> str | None:
    """The catalog model of the record's card (or of its node, when the node holds one model)."""
    seen = record.properties.get("model")
    if isinstance(seen, str) and record.device:
        return seen
    declared = {card.model for card in scope.get(record.node or "", ())}
    return next(iter(declared)) if len(declared) == 1 else None


def model_rows(
    records: Sequence[TestRecord], scope: Mapping[str, Sequence[DeclaredCards]]
) -> tuple[ModelRow, ...]:
    # a card's model: recorded by one of its tests, else the node's only declared model
    models_of_card: dict[tuple[str, str], str] = {}
    for record in records:
        if record.node and record.device:
            model = card_model(record, scope)
            if model is not None and isinstance(record.properties.get("model"), str):
                models_of_card[(record.node, record.device)] = model
            elif model is not None:
                models_of_card.setdefault((record.node, record.device), model)
    outcomes: dict[tuple[str, str], list[Outcome]] = {}
    node_outcomes: dict[str, list[Outcome]] = {}
    measured: dict[str, list[tuple[str, Measurement]]] = {}
    for record in records:
        if not record.node:
            continue
        if record.device:
            outcomes.setdefault((record.node, record.device), []).append(record.outcome)
            model = models_of_card.get((record.node, record.device))
        else:
            node_outcomes.setdefault(record.node, []).append(record.outcome)
            model = card_model(record, scope)
        if model is not None:
            where = f"{record.node}:{record.device}" if record.device else record.node
            measured.setdefault(model, []).extend((where, m) for m in record.measurements)
    declared: dict[str, tuple[DeclaredCards, int, int]] = {}
    for cards in scope.values():
        for card in cards:
            first, count, nodes = declared.get(card.model, (card, 0, 0))
            declared[card.model] = (first, count + card.count, nodes + 1)
    rows = []
    for model in sorted(set(declared) | set(models_of_card.values())):
        cards_seen = [key for key, seen in models_of_card.items() if seen == model]
        certified = sum(
            1 for key in cards_seen if _certified(outcomes.get(key, []), node_outcomes.get(key[0], []))
        )
        info, count, nodes = declared.get(model, (DeclaredCards(model, "", model, 0), 0, 0))
        rows.append(
            ModelRow(
                vendor=info.vendor,
                model=model,
                name=info.name,
                nodes=nodes or len({node for node, _ in cards_seen}),
                cards=count or len(cards_seen),
                certified=certified,
                figures=_figures(measured.get(model, [])),
            )
        )
    return tuple(rows)


def _certified(own: Sequence[Outcome], node: Sequence[Outcome]) -> bool:
    every = [*own, *node]
    return any(o in _CERTIFYING for o in own) and not any(o in _BLOCKING for o in every)


def _figures(items: Sequence[tuple[str, Measurement]]) -> tuple[ModelFigure, ...]:
    """Median and worst of each numeric criterion measured on the model's cards."""
    groups: dict[str, list[tuple[str, Measurement]]] = {}
    for where, m in items:
        if isinstance(m.value, int | float) and not isinstance(m.value, bool):
            groups.setdefault(m.name, []).append((where, m))
    figures = []
    for name, group in groups.items():
        where, worst = worst_of(group)
        figures.append(
            ModelFigure(
                criterion=name,
                count=len(group),
                median=median_text(group) or value_text(worst.value),
                worst=value_text(worst.value),
                worst_where=where,
                limit=limit_text(worst),
                unit=worst.unit,
                verdict=worst.verdict,
            )
        )
    return tuple(figures)

"""Key figures: one line per criterion for a node's certificate, and per card model for the
summary (how many cards, how many certified, median and worst of each numeric criterion).

"Worst" follows the limit: the lowest value of a criterion with a minimum, the highest of one
with a maximum; for a criterion judged by equality it is the measurement with the worst verdict::

    rows = key_figures([(card, measurement), ...])       # grouped by axis, in AXES order
    rows[0].criterion, rows[0].median, rows[0].worst, rows[0].worst_card
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from lab.criteria import Measurement, Outcome, combine
from lab.inventory.model import Axis
from lab.report.humane import number_text

AXES: tuple[Axis, ...] = tuple(Axis)


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One criterion over the cards (or the node) that measured it."""

    axis: Axis
    criterion: str
    count: int  # measurements: one per card, or one for the node
    limit: str
    median: str  # "" when the values are not numbers or there is only one
    worst: str
    worst_card: str
    margin: str
    unit: str
    verdict: Outcome
    short_run: bool = False  # measured in a short run: not MLPerf-compliant, said beside the figure
    rules: str = ""  # MLPerf's rule status of a performance figure ("MLPerf rules: all held" …)


def key_figures(
    measured: Iterable[tuple[str, Measurement]],
    short_runs: frozenset[str] = frozenset(),
    rules: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[FigureRow, ...]:
    """``(card, measurement)`` pairs → one row per (axis, criterion), axes in AXES order;
    ``short_runs`` names the criteria measured in a short run; ``rules`` maps a criterion to
    each card's MLPerf rule summary (``rules_text`` puts them beside the figure)."""
    groups: dict[tuple[Axis, str], list[tuple[str, Measurement]]] = {}
    for card, m in measured:
        groups.setdefault((m.axis, m.name), []).append((card, m))
    rules = rules or {}
    rows = [
        replace(
            _row(axis, name, items),
            short_run=name in short_runs and name not in rules,  # the rules say it, once
            rules=rules_text(rules.get(name, {})),
        )
        for (axis, name), items in groups.items()
    ]
    order = {axis: index for index, axis in enumerate(AXES)}
    return tuple(sorted(rows, key=lambda row: order[row.axis]))  # stable: run order within an axis


def rules_text(per_card: Mapping[str, str]) -> str:
    """One rule status for a figure over its cards: the common summary when all cards share it,
    else each card's ("npu0: MLPerf rules: all held · npu1: …")."""
    distinct = list(dict.fromkeys(per_card.values()))
    if len(distinct) <= 1:
        return distinct[0] if distinct else ""
    return " · ".join(f"{card or 'node'}: {text}" for card, text in sorted(per_card.items()))


def worst_of(items: Sequence[tuple[str, Measurement]]) -> tuple[str, Measurement]:
    """The card and measurement that decide the criterion: worst verdict, then worst value."""
    verdict = combine(m.verdict for _, m in items)
    candidates = [item for item in items if item[1].verdict is verdict]
    numeric = [item for item in candidates if _number(item[1]) is not None]
    if numeric and len(numeric) == len(candidates):
        limits = numeric[0][1].limits
        if limits.maximum is not None and limits.minimum is None:
            return max(numeric, key=lambda item: _number(item[1]) or 0.0)
        if limits.minimum is not None and limits.maximum is None:
            return min(numeric, key=lambda item: _number(item[1]) or 0.0)
        with_margin = [item for item in numeric if item[1].margin is not None]
        if with_margin:
            return min(with_margin, key=lambda item: item[1].margin or 0.0)
    return candidates[0]


def median_text(items: Sequence[tuple[str, Measurement]]) -> str:
    values = [v for v in (_number(m) for _, m in items) if v is not None]
    return number_text(statistics.median(values)) if len(values) > 1 else ""


def limit_text(m: Measurement) -> str:
    limits = m.limits
    if limits.expected is not None:
        return f"= {value_text(limits.expected)}"
    parts = []
    if limits.minimum is not None:
        parts.append(f"≥ {limits.minimum:g}")
    if limits.maximum is not None:
        parts.append(f"≤ {limits.maximum:g}")
    return ", ".join(parts)


def value_text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def measured_text(m: Measurement) -> str:
    """The value, or why there is none (a criterion that could not be judged says so in its place)."""
    return m.reason if m.value is None and m.verdict is Outcome.SKIP else value_text(m.value)


def _row(axis: Axis, name: str, items: Sequence[tuple[str, Measurement]]) -> FigureRow:
    card, worst = worst_of(items)
    return FigureRow(
        axis=axis,
        criterion=name,
        count=len(items),
        limit=limit_text(worst),
        median=median_text(items),
        worst=measured_text(worst),
        worst_card=card,
        margin="" if worst.margin is None else f"{worst.margin:+.4g}",
        unit=worst.unit,
        verdict=combine(m.verdict for _, m in items),
    )


def _number(m: Measurement) -> float | None:
    value = m.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)

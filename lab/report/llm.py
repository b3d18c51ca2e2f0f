"""The certificate's LLM serving section: a node's endpoint, its figures with limits, the curve, the rules.

Built from the records of ``testsuites/llm`` (measurements named ``llm-*`` and the properties
the suite records), so it needs nothing the results folder does not already hold::

    section = llm_section(records, charts)     # None for a node without LLM serving tests
    section.facts        # (("llm_endpoint", "127.0.0.1:8000"), ("llm_precision", "bf16"), ...)
    section.figures      # FigureRow per llm-* criterion: limit, median, worst, verdict
    section.rules        # (("llm.rule.silicon", PASS), ("llm.rule.test06", FAIL), ...)
    section.curve        # the throughput–latency chart (concurrency sweep), if drawn
    section.grid         # GridRow per grid cell (test_llm_grid): lengths, precision, figures, limits

The grid's cells (``llm-grid-*``) are a table of their own, one row per cell with its
limits where the profile gives the cell one, never merged into one figure row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.criteria import Measurement, Outcome, combine
from lab.report.figures import FigureRow, key_figures, limit_text, value_text
from lab.results import TestRecord

PREFIX = "llm-"
GRID_PREFIX = "llm-grid-"
GRID_CELL = "llm_grid_cell"  # the property naming a record's cell: "128/1024 fp8"
GRID_FIGURES = ("llm-grid-ttft-p99", "llm-grid-tpot-p99", "llm-grid-tokens-per-second")
NOT_SERVED = "not served by the cards under test"
CURVE_NAME = "throughput-latency"
FACTS = ("llm_endpoint", "llm_model", "llm_precision", "llm_served_by[llm-offline]")
RULES = (  # message key → the criterion whose verdict says whether the rule held
    ("llm.rule.test06", "llm-test06"),
    ("llm.rule.accuracy", "llm-accuracy-rouge-l"),
    ("llm.rule.latency", "llm-server-max-rate"),
)


@dataclass(frozen=True)
class LlmSection:
    facts: tuple[tuple[str, str], ...]
    figures: tuple[FigureRow, ...]
    rules: tuple[tuple[str, Outcome], ...]  # SKIP: not checked in this run
    curve_anchor: str = ""  # the chart's anchor among the node's charts ("" when none)
    grid: tuple[GridRow, ...] = ()


@dataclass(frozen=True)
class GridFigure:
    value: str  # "—" when not measured
    limit: str  # "" when the cell has none (recorded only)
    verdict: Outcome


@dataclass(frozen=True)
class GridRow:
    """One grid cell of one node: its shape and precision, what ran, its three figures, its verdict."""

    cell: str  # "128/1024 fp8"
    ran: str  # the lengths run ("8 words in / 64 tokens out (short run …)") or ""
    figures: tuple[GridFigure, ...]  # TTFT p99, TPOT p99, tokens/s (GRID_FIGURES order)
    verdict: Outcome
    note: str  # why SKIP or ERROR, "" otherwise


def _is_llm(record: TestRecord) -> bool:
    return "llm_endpoint" in record.properties or any(m.name.startswith(PREFIX) for m in record.measurements)


def llm_section(records: Sequence[TestRecord], chart_anchors: Sequence[tuple[str, str]]) -> LlmSection | None:
    """The section for one node's ``records``; ``chart_anchors`` are its charts' (title, anchor)."""
    llm = [record for record in records if _is_llm(record)]
    if not llm:
        return None
    facts: dict[str, str] = {}
    for record in llm:
        for key in FACTS:
            value = record.properties.get(key)
            if value is not None and key not in facts:
                facts[key] = str(value)
    measured: list[tuple[str, Measurement]] = [
        (record.device or "", m)
        for record in llm
        for m in record.measurements
        if m.name.startswith(PREFIX) and not m.name.startswith(GRID_PREFIX)
    ]
    verdicts: dict[str, list[Outcome]] = {}
    for _, m in measured:
        verdicts.setdefault(m.name, []).append(m.verdict)
    rules = [(key, combine(verdicts[name]) if name in verdicts else Outcome.SKIP) for key, name in RULES]
    rules.insert(0, ("llm.rule.silicon", _silicon(llm)))
    curve = next((anchor for title, anchor in chart_anchors if title.startswith(CURVE_NAME)), "")
    short = frozenset(m.name for r in llm if r.properties.get("short_run") is True for m in r.measurements)
    grid = tuple(_grid_row(record) for record in llm if GRID_CELL in record.properties)
    return LlmSection(tuple(facts.items()), key_figures(measured, short), tuple(rules), curve, grid)


def _grid_row(record: TestRecord) -> GridRow:
    by_base = {m.name.split(".", 1)[0]: m for m in record.measurements if m.name.startswith(GRID_PREFIX)}
    figures = []
    for base in GRID_FIGURES:
        m = by_base.get(base)
        if m is None:
            figures.append(GridFigure("—", "", Outcome.SKIP))
        else:
            limit = limit_text(m)
            figures.append(GridFigure(value_text(m.value), limit, m.verdict))
    note = "" if record.outcome in (Outcome.PASS, Outcome.MARGINAL, Outcome.FAIL) else record.reason
    if not note and record.error is not None and record.outcome is Outcome.ERROR:
        note = record.error.message
    ran = record.properties.get("llm_grid_lengths")
    return GridRow(
        str(record.properties[GRID_CELL]), str(ran) if ran else "", tuple(figures), record.outcome, note
    )


def _silicon(records: Sequence[TestRecord]) -> Outcome:
    """ERROR when a run was not served by the cards under test; PASS when every proved run was."""
    for record in records:
        said = f"{record.reason} {record.error or ''}"
        if NOT_SERVED in said:
            return Outcome.ERROR
    proved = any(key.startswith("llm_served_by[") for record in records for key in record.properties)
    return Outcome.PASS if proved else Outcome.SKIP

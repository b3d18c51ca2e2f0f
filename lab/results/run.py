"""The merged model of one run: every view (HTML, JUnit, history) is built from this.

``load_run`` produces it from a run directory; the helpers below answer the questions a
report asks: what happened on each node, on each axis, and overall::

    run = load_run("results/20261125T124800Z-3f9a1c")
    run.verdict                      # Outcome.FAIL
    run.counts()[Outcome.ERROR]      # 2
    for (node, axis), outcome in run.matrix().items(): ...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from lab.criteria import Outcome, combine
from lab.inventory.model import Axis
from lab.results.manifest import Manifest
from lab.results.record import TestRecord


@dataclass(frozen=True, slots=True)
class Run:
    """One run: its manifest, one record per test id, and what went wrong while loading.

    ``records`` are in collection order (then any uncollected ones by start time), one per
    test id: the latest attempt of a rerun test, with earlier attempts in ``superseded``.
    ``warnings`` lists damaged or unreadable lines that were skipped (never raised).
    """

    directory: Path
    manifest: Manifest | None
    records: tuple[TestRecord, ...]
    warnings: tuple[str, ...] = ()
    superseded: tuple[TestRecord, ...] = ()
    _index: Mapping[str, TestRecord] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # reports look records up by id once per row: keep that O(1)
        object.__setattr__(self, "_index", MappingProxyType({r.test_id: r for r in self.records}))

    @property
    def complete(self) -> bool:
        """True when the run ended normally (its manifest records the end) and no test is
        INCOMPLETE."""
        ended = self.manifest is not None and self.manifest.finished is not None
        return ended and all(record.outcome is not Outcome.INCOMPLETE for record in self.records)

    @property
    def verdict(self) -> Outcome:
        """The worst outcome of all tests (``lab.criteria.combine``); SKIP for an empty run."""
        return combine(record.outcome for record in self.records)

    def record(self, test_id: str) -> TestRecord | None:
        """The record of ``test_id``, or None when the run has none."""
        return self._index.get(test_id)

    def counts(self) -> Mapping[Outcome, int]:
        """How many tests ended with each outcome (every outcome present, zero or not)."""
        counts = dict.fromkeys(Outcome, 0)
        for record in self.records:
            counts[record.outcome] += 1
        return MappingProxyType(counts)

    def by_node(self) -> Mapping[str | None, tuple[TestRecord, ...]]:
        """Records grouped by node name (None: tests not tied to one node), in run order."""
        groups: dict[str | None, list[TestRecord]] = {}
        for record in self.records:
            groups.setdefault(record.node, []).append(record)
        return MappingProxyType({node: tuple(items) for node, items in groups.items()})

    def by_axis(self) -> Mapping[Axis, tuple[TestRecord, ...]]:
        """Records grouped by axis; a record with several axes is under each of them, and
        one without any axis under none."""
        groups: dict[Axis, list[TestRecord]] = {}
        for record in self.records:
            for axis in sorted(record.axes, key=list(Axis).index):
                groups.setdefault(axis, []).append(record)
        return MappingProxyType({axis: tuple(items) for axis, items in groups.items()})

    def matrix(self) -> Mapping[tuple[str | None, Axis], Outcome]:
        """The node × axis table: the combined outcome of each node's tests on each axis.

        A test counts on an axis with its *test* outcome (an ERROR test is ERROR on every
        axis it touches, even where one of its measurements passed).
        """
        cells: dict[tuple[str | None, Axis], list[Outcome]] = {}
        for record in self.records:
            for axis in record.axes:
                cells.setdefault((record.node, axis), []).append(record.outcome)
        return MappingProxyType({key: combine(outcomes) for key, outcomes in cells.items()})

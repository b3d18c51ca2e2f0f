"""What changed between two runs, and what a nightly job should fail on.

::

    changes = compare_runs(load_run(run_a), load_run(run_b))
    for line in changes.lines(): print(line)

    gate = nightly_changes(db, load_run(run_dir))      # against the previous run in the history
    gate.new_failures, [f for f in gate.flags if f.worse]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC

from lab.criteria import Outcome
from lab.history.db import VERSION_KEYS, HistoryDB
from lab.history.length import run_length
from lab.history.regression import Flag, detect
from lab.results import Run


@dataclass(frozen=True, slots=True)
class VerdictChange:
    test_id: str
    before: str | None  # None: the test was not in that run
    after: str | None


@dataclass(frozen=True, slots=True)
class MeasurementChange:
    test_id: str
    name: str
    before: object
    after: object
    unit: str
    lengths: tuple[str, str] | None = None  # the run lengths, when they differ: not comparable

    @property
    def delta(self) -> float | None:
        if self.lengths is None and _numeric(self.before) and _numeric(self.after):
            return float(self.after) - float(self.before)  # type: ignore[arg-type]
        return None

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.lengths is not None:
            before_length, after_length = (length or "no workload length" for length in self.lengths)
            return (
                f"{self.test_id} {self.name}: not compared, different run lengths "
                f"({before_length} → {after_length}): {self.before!r} → {self.after!r}{unit}"
            )
        delta = self.delta
        if delta is None:
            return f"{self.test_id} {self.name}: {self.before!r} → {self.after!r}"
        before = float(self.before)  # type: ignore[arg-type]
        after = before + delta
        percent = f", {delta / abs(before) * 100:+.1f} %" if before else ""
        return f"{self.test_id} {self.name}: {before:.6g} → {after:.6g}{unit} ({delta:+.6g}{unit}{percent})"


@dataclass(frozen=True, slots=True)
class VersionChange:
    node: str
    name: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunComparison:
    run_a: str
    run_b: str
    verdicts: tuple[VerdictChange, ...]
    measurements: tuple[MeasurementChange, ...]
    versions: tuple[VersionChange, ...]

    def lines(self) -> list[str]:
        out = [f"comparing {self.run_a} → {self.run_b}"]
        out.append(f"verdict changes: {len(self.verdicts)}")
        out.extend(
            f"  {c.test_id}: {c.before or '(absent)'} → {c.after or '(absent)'}" for c in self.verdicts
        )
        out.append(f"measurement changes: {len(self.measurements)}")
        out.extend(f"  {c.describe()}" for c in self.measurements)
        out.append(f"version changes: {len(self.versions)}")
        out.extend(
            f"  {c.node} {c.name}: {', '.join(c.before) or '(none)'} → {', '.join(c.after) or '(none)'}"
            for c in self.versions
        )
        return out


@dataclass(frozen=True, slots=True)
class NightlyChanges:
    """The report's "changes since last nightly" section and the nightly gate's input."""

    previous_run: str | None
    verdict_changes: tuple[VerdictChange, ...]
    flags: tuple[Flag, ...]  # regressions only (worse)
    improvements: tuple[Flag, ...] = ()
    new_failures: tuple[str, ...] = field(default=())
    known_failures: tuple[str, ...] = field(default=())
    new_errors: tuple[str, ...] = field(default=())


def compare_runs(a: Run, b: Run) -> RunComparison:
    outcomes_a = {r.test_id: r.outcome.value for r in a.records}
    outcomes_b = {r.test_id: r.outcome.value for r in b.records}
    verdicts = tuple(
        VerdictChange(test_id, outcomes_a.get(test_id), outcomes_b.get(test_id))
        for test_id in sorted(set(outcomes_a) | set(outcomes_b))
        if outcomes_a.get(test_id) != outcomes_b.get(test_id)
    )
    values_a = _measurements(a)
    values_b = _measurements(b)
    measurements = []
    lengths_a, lengths_b = _lengths(a), _lengths(b)
    for key in sorted(set(values_a) & set(values_b)):
        (before, unit), (after, _) = values_a[key], values_b[key]
        lengths = lengths_a.get(key[0], ""), lengths_b.get(key[0], "")
        if lengths[0] != lengths[1]:  # a short run against a full one is no delta
            measurements.append(MeasurementChange(key[0], key[1], before, after, unit, lengths))
        elif not _same(before, after):
            measurements.append(MeasurementChange(key[0], key[1], before, after, unit))
    versions_a, versions_b = _versions(a), _versions(b)
    versions = tuple(
        VersionChange(
            node,
            name,
            tuple(sorted(versions_a.get((node, name), ()))),
            tuple(sorted(versions_b.get((node, name), ()))),
        )
        for node, name in sorted(set(versions_a) | set(versions_b))
        if versions_a.get((node, name)) != versions_b.get((node, name))
    )
    return RunComparison(_run_id(a), _run_id(b), verdicts, tuple(measurements), versions)


def nightly_changes(db: HistoryDB, run: Run, *, window: int = 10, k: float = 3.0) -> NightlyChanges:
    """Verdict changes against the previous run in ``db``, regression flags against the rolling
    baseline, and which FAILs are new (the test did not FAIL in the previous run)."""
    if run.manifest is None:
        return NightlyChanges(None, (), ())
    started = run.manifest.started.astimezone(UTC).isoformat()  # as stored by ingest: comparable text
    previous = db.previous_run(run.manifest.run_id, started)
    before = db.outcomes(previous) if previous is not None else {}
    changes = tuple(
        VerdictChange(r.test_id, before[r.test_id].value if r.test_id in before else None, r.outcome.value)
        for r in run.records
        if previous is not None and before.get(r.test_id) is not r.outcome
    )
    failing = [r.test_id for r in run.records if r.outcome is Outcome.FAIL]
    erroring = [r.test_id for r in run.records if r.outcome is Outcome.ERROR]
    flags = detect(db, run, window=window, k=k)
    return NightlyChanges(
        previous_run=previous,
        verdict_changes=changes,
        flags=tuple(f for f in flags if f.worse),
        improvements=tuple(f for f in flags if not f.worse),
        new_failures=tuple(t for t in failing if before.get(t) is not Outcome.FAIL),
        known_failures=tuple(t for t in failing if before.get(t) is Outcome.FAIL),
        new_errors=tuple(t for t in erroring if before.get(t) is not Outcome.ERROR),
    )


def _run_id(run: Run) -> str:
    return run.manifest.run_id if run.manifest is not None else run.directory.name


def _measurements(run: Run) -> dict[tuple[str, str], tuple[object, str]]:
    found: dict[tuple[str, str], tuple[object, str]] = {}
    for record in run.records:
        for m in record.measurements:
            found.setdefault((record.test_id, m.name), (m.value, m.unit))
    return found


def _lengths(run: Run) -> dict[str, str]:
    return {record.test_id: run_length(record.properties) for record in run.records}


def _versions(run: Run) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for record in run.records:
        for key, value in record.properties.items():
            if record.node and VERSION_KEYS.search(key) and isinstance(value, str | int | float):
                found.setdefault((record.node, key), set()).add(str(value))
    return found


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: object, b: object) -> bool:
    if _numeric(a) and _numeric(b):
        x, y = float(a), float(b)  # type: ignore[arg-type]
        return x == y or (math.isnan(x) and math.isnan(y))
    return type(a) is type(b) and a == b

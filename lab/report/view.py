"""What the templates see: a run turned into plain rows, with charts and evidence read from disk.

Built from the stored run only (``load_run``), so a report can be rebuilt at any time,
including from a run that was cut short (its unfinished tests are INCOMPLETE)::

    view = build_view(load_run(run_dir))
    view.verdict, view.matrix[0].cells[0].counts, view.nodes[0].identity
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from lab.criteria import DataFormatError, JsonValue, Measurement, Outcome, combine
from lab.health.quarantine import Quarantine, read_quarantines
from lab.inventory.model import Axis
from lab.report.charts import histogram, line_chart
from lab.results import Run, TestRecord
from lab.results.series import is_series_path, read_series

AXES: tuple[Axis, ...] = tuple(Axis)
OUTCOMES: tuple[Outcome, ...] = (
    Outcome.PASS,
    Outcome.MARGINAL,
    Outcome.FAIL,
    Outcome.ERROR,
    Outcome.INCOMPLETE,
)
_MAX_EVIDENCE_CHARS = 64 * 1024
_MAX_CHARTS_PER_NODE = 40
_NOT_IDENTITY = frozenset({"short_run", "pid"})
_MAX_IDENTITY_VALUES = 8


@dataclass(frozen=True, slots=True)
class Cell:
    """One node × axis cell: the combined outcome and how many tests ended each way."""

    outcome: Outcome | None  # None: no test on this axis
    counts: Mapping[Outcome, int]


@dataclass(frozen=True, slots=True)
class MatrixRow:
    node: str
    cells: tuple[Cell, ...]  # in AXES order


@dataclass(frozen=True, slots=True)
class MeasurementRow:
    test_id: str
    device: str
    criterion: str
    limit: str
    measured: str
    margin: str
    unit: str
    verdict: Outcome
    reason: str
    uncertified: bool = False  # SKIP for want of a limit: the value was measured but certifies nothing


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    svg: Markup


@dataclass(frozen=True, slots=True)
class EvidenceText:
    test_id: str
    path: str
    text: str
    truncated: bool


@dataclass(frozen=True, slots=True)
class TestRow:
    test_id: str
    device: str
    outcome: Outcome
    duration: float
    note: str  # reason or error summary
    short_run: bool
    performance_only: bool = False  # a full-length LoadGen run without an accuracy run


@dataclass(frozen=True, slots=True)
class NodeSection:
    name: str
    anchor: str
    verdict: Outcome
    identity: tuple[tuple[str, str], ...]
    tests: tuple[TestRow, ...]
    measurements: tuple[MeasurementRow, ...]
    charts: tuple[Chart, ...]
    charts_omitted: int  # series beyond the per-node limit: counted, not drawn
    evidence: tuple[EvidenceText, ...]
    problems: tuple[str, ...]  # unreadable evidence/series files, shown rather than raised


@dataclass(frozen=True, slots=True)
class ReportView:
    run_id: str
    testbed: str
    operators: str
    campaign: str
    profile: str
    started: str
    finished: str
    verdict: Outcome
    complete: bool
    counts: Mapping[Outcome, int]
    matrix: tuple[MatrixRow, ...]
    nodes: tuple[NodeSection, ...]
    provenance: tuple[tuple[str, str], ...]
    short_runs: tuple[str, ...]
    warnings: tuple[str, ...]
    quarantines: tuple[Quarantine, ...] = ()  # nodes the health gate held out (lab.health)


def build_view(run: Run) -> ReportView:
    """The report's content for ``run`` (never raises on damaged evidence: it becomes a problem line)."""
    manifest = run.manifest
    properties: Mapping[str, JsonValue] = manifest.properties if manifest is not None else {}
    groups = run.by_node()
    trust_mode = manifest.trust_mode if manifest is not None else None
    nodes = [_node_section(run.directory, name, records, trust_mode) for name, records in groups.items()]
    short_runs = tuple(r.test_id for r in run.records if r.properties.get("short_run") is True)
    return ReportView(
        run_id=manifest.run_id if manifest is not None else run.directory.name,
        testbed=_text(properties.get("testbed")) or (manifest.hostname if manifest is not None else ""),
        operators=_text(properties.get("operators") or properties.get("operator")),
        campaign=_text(properties.get("campaign")),
        profile=f"{manifest.profile.name} {manifest.profile.version}"
        if manifest and manifest.profile
        else "",
        started=manifest.started.isoformat(timespec="seconds") if manifest is not None else "",
        finished=manifest.finished.isoformat(timespec="seconds") if manifest and manifest.finished else "",
        verdict=Outcome.INCOMPLETE if not run.complete and run.records else run.verdict,
        complete=run.complete,
        counts=run.counts(),
        matrix=_matrix(groups),
        nodes=tuple(nodes),
        provenance=_provenance(run),
        short_runs=short_runs,
        warnings=run.warnings,
        quarantines=tuple(read_quarantines(run.directory)),
    )


def _matrix(groups: Mapping[str | None, Sequence[TestRecord]]) -> tuple[MatrixRow, ...]:
    rows = []
    for node, records in groups.items():
        cells = []
        axes_of = [(record.axes, record.outcome) for record in records]  # a property: compute once
        for axis in AXES:
            outcomes = [outcome for axes, outcome in axes_of if axis in axes]
            counts = dict.fromkeys(Outcome, 0)
            for outcome in outcomes:
                counts[outcome] += 1
            cells.append(Cell(combine(outcomes) if outcomes else None, counts))
        rows.append(MatrixRow(node or "—", tuple(cells)))
    return tuple(rows)


def _node_section(
    run_dir: Path, node: str | None, records: Sequence[TestRecord], trust_mode: str | None
) -> NodeSection:
    run_dir = run_dir.resolve()  # once here, not once per evidence file
    name = node or "—"
    problems: list[str] = []
    tests: list[TestRow] = []
    rows: list[MeasurementRow] = []
    charts: list[Chart] = []
    omitted = 0
    evidence: list[EvidenceText] = []
    for record in records:
        tests.append(
            TestRow(
                test_id=record.test_id,
                device=record.device or "",
                outcome=record.outcome,
                duration=record.duration,
                note=str(record.error) if record.error is not None else record.reason,
                short_run=record.properties.get("short_run") is True,
                performance_only=record.properties.get("performance_only") is True,
            )
        )
        rows.extend(_measurement_row(record, m) for m in record.measurements)
        if record.error is not None and record.error.details:
            details = record.error.details
            truncated = len(details) > _MAX_EVIDENCE_CHARS
            evidence.append(
                EvidenceText(record.test_id, "error details", details[:_MAX_EVIDENCE_CHARS], truncated)
            )
        paths = list(record.evidence)
        for m in record.measurements:
            paths.extend(path for path in m.evidence if path not in paths)
        for path in paths:
            if is_series_path(path):
                if len(charts) >= _MAX_CHARTS_PER_NODE:
                    omitted += 1
                    continue
                chart = _chart(run_dir, record, path, problems)
                if chart is not None:
                    charts.append(chart)
            elif record.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.MARGINAL):
                text = _evidence_text(run_dir, record.test_id, path, problems)
                if text is not None:
                    evidence.append(text)
    return NodeSection(
        name=name,
        anchor=_anchor(name),
        verdict=combine(record.outcome for record in records),
        identity=_identity(records, trust_mode),
        tests=tuple(tests),
        measurements=tuple(rows),
        charts=tuple(charts),
        charts_omitted=omitted,
        evidence=tuple(evidence),
        problems=tuple(problems),
    )


def _anchor(name: str) -> str:
    """An id made of ASCII letters, digits, '-' and '_' (the section markers ``lab verify`` reads);
    a name that had to be rewritten (Korean, spaces) keeps a short digest so two never collide."""
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
    if plain != name:
        plain += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return "node-" + plain


def _measurement_row(record: TestRecord, m: Measurement) -> MeasurementRow:
    return MeasurementRow(
        test_id=record.test_id,
        device=record.device or "",
        criterion=m.name,
        limit=_limit_text(m),
        # a criterion that could not be judged ("not computable: ...") says why where the value would be
        measured=m.reason if m.value is None and m.verdict is Outcome.SKIP else _value_text(m.value),
        margin="" if m.margin is None else f"{m.margin:+.4g}",
        unit=m.unit,
        verdict=m.verdict,
        reason=m.reason,
        uncertified=m.verdict is Outcome.SKIP and not _limit_text(m),
    )


def _limit_text(m: Measurement) -> str:
    limits = m.limits
    if limits.expected is not None:
        return f"= {_value_text(limits.expected)}"
    parts = []
    if limits.minimum is not None:
        parts.append(f"≥ {limits.minimum:g}")
    if limits.maximum is not None:
        parts.append(f"≤ {limits.maximum:g}")
    return ", ".join(parts)


def _value_text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)


def _identity(records: Sequence[TestRecord], trust_mode: str | None) -> tuple[tuple[str, str], ...]:
    """Every property the node's tests recorded (trust mode, host key, versions ...), with each
    distinct value once: two firmware versions seen on one node is worth seeing. The run's trust
    mode (manifest) stands in when no test recorded the node's own."""
    seen: dict[str, list[str]] = {}
    for record in records:
        for key, value in record.properties.items():
            if (
                key in _NOT_IDENTITY
                or key.startswith(("short_run", "performance_only"))
                or isinstance(value, list | dict)
            ):
                continue
            values = seen.setdefault(key, [])
            text = _value_text(value)
            if text not in values and len(values) < _MAX_IDENTITY_VALUES:
                values.append(text)
    if trust_mode and "trust_mode" not in seen:
        seen["trust_mode"] = [f"{trust_mode} (run)"]
    devices = sorted({record.device for record in records if record.device})
    rows = [("devices", ", ".join(devices))] if devices else []
    rows.extend((key, ", ".join(values)) for key, values in sorted(seen.items()))
    return tuple(rows)


def _chart(run_dir: Path, record: TestRecord, path: str, problems: list[str]) -> Chart | None:
    try:
        series = read_series(_inside(run_dir, path))
    except DataFormatError as exc:
        problems.append(f"{record.test_id}: {exc}")
        return None
    title = f"{series.name} — {record.device or record.test_id}"
    svg = histogram(series, title=title) if series.kind == "samples" else line_chart(series, title=title)
    return Chart(title, svg)


def _evidence_text(run_dir: Path, test_id: str, path: str, problems: list[str]) -> EvidenceText | None:
    try:
        with open(_inside(run_dir, path), "rb") as stream:
            raw = stream.read(_MAX_EVIDENCE_CHARS + 1)
    except (OSError, DataFormatError) as exc:
        problems.append(f"{test_id}: evidence {path!r} unreadable: {exc}")
        return None
    truncated = len(raw) > _MAX_EVIDENCE_CHARS
    return EvidenceText(test_id, path, raw[:_MAX_EVIDENCE_CHARS].decode("utf-8", "replace"), truncated)


def _inside(run_dir: Path, relative: str) -> str:
    """The evidence file under ``run_dir`` (already resolved), refusing a path that climbs out
    (``..``, absolute) or passes through a symbolic link: the results store never writes links,
    so one there could only lead somewhere the report must not read."""
    normal = os.path.normpath(relative)
    if os.path.isabs(normal) or normal == ".." or normal.startswith(("../", "..\\")):
        raise DataFormatError(f"evidence path {relative!r} points outside the run directory")
    path = os.fspath(run_dir)
    for part in normal.split(os.sep):
        path = os.path.join(path, part)
        if os.path.islink(path):
            raise DataFormatError(f"evidence path {relative!r} points outside the run directory (a link)")
    return path


def _provenance(run: Run) -> tuple[tuple[str, str], ...]:
    manifest = run.manifest
    if manifest is None:
        return (("manifest", "missing"),)
    rows = [
        ("run_id", manifest.run_id),
        ("framework_version", manifest.framework_version),
        ("git_commit", manifest.git_commit or "—"),
        ("command_line", " ".join(manifest.command_line)),
        ("hostname", manifest.hostname),
        ("trust_mode", manifest.trust_mode or "—"),
        ("inventory_sha256", manifest.inventory_sha256 or "—"),
    ]
    rows.extend((f"inventory {f.path}", f.sha256 or "unreadable") for f in manifest.inventory_files)
    if manifest.profile is not None:
        rows.append(("profile", f"{manifest.profile.name} {manifest.profile.version}"))
        rows.append(("profile_sha256", manifest.profile.sha256))
    rows.append(("started", manifest.started.isoformat(timespec="seconds")))
    rows.append(("finished", manifest.finished.isoformat(timespec="seconds") if manifest.finished else "—"))
    if manifest.finished is not None:
        rows.append(("wall_time", f"{(manifest.finished - manifest.started).total_seconds():.1f} s"))
    rows.append(("test_time", f"{sum(record.duration for record in run.records):.1f} s"))
    rows.append(("exit_status", "—" if manifest.exit_status is None else str(manifest.exit_status)))
    shards = manifest.properties.get("shards")  # a merged run (lab campaign merge): each shard's origin
    if isinstance(shards, list):
        for shard in shards:
            if isinstance(shard, dict):
                rows.append((f"shard {shard.get('number')}/{len(shards)}", _shard_line(shard)))
    return tuple(rows)


def _shard_line(shard: Mapping[str, JsonValue]) -> str:
    nodes = shard.get("nodes")
    return (
        f"run {shard.get('run_id')} on {shard.get('controller')}, {shard.get('started')} → "
        f"{shard.get('finished') or '—'}, exit {shard.get('exit_status')}, "
        f"kcloud-lab {shard.get('framework_version')} ({shard.get('git_commit') or '—'}), "
        f"nodes: {', '.join(map(str, nodes)) if isinstance(nodes, list) else '—'}"
    )


def _text(value: JsonValue | None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)

"""What the templates see: a run turned into plain rows, with charts and evidence read from disk.

Built from the stored run only (``load_run``), so a report can be rebuilt at any time,
including from a run that was cut short (its unfinished tests are INCOMPLETE)::

    view = build_view(load_run(run_dir))
    view.verdict, view.matrix[0].cells[0].counts, view.nodes[0].identity
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from lab.criteria import DataFormatError, JsonValue, Measurement, Outcome, combine
from lab.health.quarantine import Quarantine, read_quarantines
from lab.inventory.model import Axis
from lab.report.charts import curve_chart, histogram, line_chart
from lab.report.figures import FigureRow, key_figures, limit_text, measured_text
from lab.report.humane import short_test_name
from lab.report.identity import CardIdentity, identity
from lab.report.llm import LlmSection, llm_section
from lab.report.references import ReferenceRow, reference_rows
from lab.report.scope import DeclaredCards, ModelRow, model_rows, scope_of, scope_text
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
_EXCERPT_CHARS = 3000
_MAX_FAILURE_LINKS = 4
_FAILING = frozenset({Outcome.FAIL, Outcome.ERROR, Outcome.INCOMPLETE})
ERROR_DETAILS = "error details"


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
    """One line of the appendix's measurement table."""

    test_id: str
    name: str  # the criterion's short name
    test: str  # the test's short name (no node, no card)
    device: str
    criterion: str
    limit: str
    measured: str
    margin: str
    unit: str
    verdict: Outcome
    reason: str
    target: str  # the appendix anchor of its test
    uncertified: bool = False  # SKIP for want of a limit: the value was measured but certifies nothing
    accuracy: str = ""  # a performance figure's card accuracy beside it ("" where none was recorded)
    accuracy_passed: bool | None = None  # False: the figure is not certified, whatever its speed


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    svg: Markup
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class EvidenceText:
    test_id: str
    path: str
    text: str
    truncated: bool
    anchor: str = ""

    @property
    def excerpt(self) -> str:
        """What is printed: the head and the tail (a log's verdict is at one end or the other);
        the full text stays one click away in the HTML (and in the evidence file)."""
        if len(self.text) <= _EXCERPT_CHARS:
            return self.text
        half = _EXCERPT_CHARS // 2
        skipped = len(self.text) - 2 * half
        return f"{self.text[:half]}\n[… {skipped} characters …]\n{self.text[-half:]}"


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str  # "#anchor" inside the report, or a path relative to the run directory


@dataclass(frozen=True, slots=True)
class TestRow:
    test_id: str
    device: str
    outcome: Outcome
    duration: float
    note: str  # reason or error summary
    short_run: bool
    name: str = ""
    anchor: str = ""
    evidence: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Failure:
    """A criterion (or a test without one) that failed, with its reason and where its evidence is."""

    criterion: str
    card: str
    verdict: Outcome
    reason: str
    test: Link
    evidence: tuple[Link, ...]


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
    appendix_anchor: str = ""
    axes: tuple[Cell, ...] = ()
    cards: tuple[CardIdentity, ...] = ()
    figures: tuple[FigureRow, ...] = ()
    failures: tuple[Failure, ...] = ()
    conditions: tuple[tuple[str, str], ...] = ()
    llm: LlmSection | None = None  # the LLM serving section (testsuites/llm), None without one
    references: tuple[ReferenceRow, ...] = ()  # published figures beside ours (lab.report.references)


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
    tester: str = ""
    scope: str = ""
    models: tuple[ModelRow, ...] = ()
    short_soaks: tuple[str, ...] = ()
    header: str = ""  # the PDF's running header: plain ASCII, safe inside a CSS string
    quarantines: tuple[Quarantine, ...] = ()  # nodes the health gate held out (lab.health)


def build_view(run: Run, *, tester: str | None = None, campaign: str | None = None) -> ReportView:
    """The report's content for ``run`` (never raises on damaged evidence: it becomes a problem line).

    ``tester``/``campaign`` (``lab report --tester/--campaign``) replace what the manifest recorded.
    """
    manifest = run.manifest
    properties: Mapping[str, JsonValue] = manifest.properties if manifest is not None else {}
    groups = run.by_node()
    trust_mode = manifest.trust_mode if manifest is not None else None
    matrix = _matrix(groups)
    scope = scope_of(properties.get("scope"))
    nodes = [
        _node_section(run.directory, name, records, trust_mode, row.cells, scope.get(name or "", ()))
        for (name, records), row in zip(groups.items(), matrix, strict=True)
    ]
    short_runs = tuple(readable_name(r) for r in run.records if r.properties.get("short_run") is True)
    short_soaks = tuple(readable_name(r) for r in run.records if r.properties.get("short_soak") is True)
    run_id = manifest.run_id if manifest is not None else run.directory.name
    testbed = _text(properties.get("testbed")) or (manifest.hostname if manifest is not None else "")
    inventory = _text(properties.get("inventory"))
    verdict = Outcome.INCOMPLETE if not run.complete and run.records else run.verdict
    return ReportView(
        run_id=run_id,
        testbed=testbed,
        operators=_text(properties.get("operators") or properties.get("operator")),
        campaign=campaign or _text(properties.get("campaign")),
        profile=f"{manifest.profile.name} {manifest.profile.version}"
        if manifest and manifest.profile
        else "",
        started=_moment(manifest.started) if manifest is not None else "",
        finished=_moment(manifest.finished) if manifest and manifest.finished else "",
        verdict=verdict,
        complete=run.complete,
        counts=run.counts(),
        matrix=matrix,
        nodes=tuple(nodes),
        provenance=_provenance(run),
        short_runs=short_runs,
        warnings=run.warnings,
        tester=tester or _text(properties.get("tester")),
        scope=scope_text(inventory if inventory != testbed else "", len([n for n in groups if n]), scope),
        models=model_rows(run.records, scope),
        short_soaks=short_soaks,
        header=_css_text(f"kcloud-lab {run_id} {verdict.value}"),
        quarantines=tuple(read_quarantines(run.directory)),
    )


def _css_text(text: str) -> str:
    """Text safe inside a CSS string (the PDF's running header): printable ASCII without quotes or
    backslashes, so a hostile run id can neither end the string nor the style sheet."""
    return "".join(c for c in text if c.isascii() and c.isprintable() and c not in '\\"<>')


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
    run_dir: Path,
    node: str | None,
    records: Sequence[TestRecord],
    trust_mode: str | None,
    axes: tuple[Cell, ...] = (),
    declared: Sequence[DeclaredCards] = (),
) -> NodeSection:
    run_dir = run_dir.resolve()  # once here, not once per evidence file
    name = node or "—"
    problems: list[str] = []
    tests: list[TestRow] = []
    rows: list[MeasurementRow] = []
    charts: list[Chart] = []
    omitted = 0
    evidence: list[EvidenceText] = []
    shown: set[str] = set()  # anchors of evidence present in the document
    for record in records:
        if record.error is not None and record.error.details:
            details = record.error.details
            truncated = len(details) > _MAX_EVIDENCE_CHARS
            anchor = evidence_anchor(record.test_id, ERROR_DETAILS)
            evidence.append(
                EvidenceText(record.test_id, ERROR_DETAILS, details[:_MAX_EVIDENCE_CHARS], truncated, anchor)
            )
            shown.add(anchor)
        for path in _evidence_paths(record):
            anchor = evidence_anchor(record.test_id, path)
            if is_series_path(path):
                if len(charts) >= _MAX_CHARTS_PER_NODE:
                    omitted += 1
                    continue
                chart = _chart(run_dir, record, path, problems)
                if chart is not None:
                    charts.append(replace(chart, anchor=anchor))
                    shown.add(anchor)
            elif record.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.MARGINAL):
                text = _evidence_text(run_dir, record.test_id, path, problems)
                if text is not None:
                    evidence.append(replace(text, anchor=anchor))
                    shown.add(anchor)
    failures: list[Failure] = []
    measured: list[tuple[str, Measurement]] = []
    short: set[str] = set()
    rules: dict[str, dict[str, str]] = {}
    for record in records:
        test_link = Link(
            short_test_name(record.test_id, node, record.device), "#" + anchor_of_test(record.test_id)
        )
        card = record.device or ""
        tests.append(
            TestRow(
                test_id=record.test_id,
                device=card,
                outcome=record.outcome,
                duration=record.duration,
                note=str(record.error) if record.error is not None else record.reason,
                short_run=record.properties.get("short_run") is True,
                name=test_link.label,
                anchor=anchor_of_test(record.test_id),
                evidence=_links(record, record.evidence, shown),
            )
        )
        rows.extend(_measurement_row(record, m, node) for m in record.measurements)
        measured.extend((card, m) for m in record.measurements)
        if record.properties.get("short_run") is True:
            short.update(m.name for m in record.measurements)
        summary = rules_summary(record)
        if summary:
            for m in record.measurements:
                rules.setdefault(m.name, {})[card] = summary
        failing = [m for m in record.measurements if m.verdict in _FAILING]
        for m in failing:
            links = _links(record, m.evidence or record.evidence, shown)[:_MAX_FAILURE_LINKS]
            failures.append(Failure(m.name, card, m.verdict, m.reason, test_link, links))
        if record.outcome in _FAILING and not failing:
            reason = str(record.error) if record.error is not None else record.reason
            links = _links(record, record.evidence, shown)[:_MAX_FAILURE_LINKS]
            failures.append(Failure(test_link.label, card, record.outcome, reason, test_link, links))
    identity_rows, cards, conditions = identity(records, trust_mode, declared)
    anchor = _anchor(name)
    return NodeSection(
        name=name,
        anchor=anchor,
        verdict=combine(record.outcome for record in records),
        identity=identity_rows,
        tests=tuple(tests),
        measurements=tuple(rows),
        charts=tuple(charts),
        charts_omitted=omitted,
        evidence=tuple(evidence),
        problems=tuple(problems),
        appendix_anchor="appendix-" + anchor,
        axes=axes,
        cards=cards,
        figures=key_figures(measured, frozenset(short), rules),
        failures=tuple(failures),
        conditions=conditions,
        llm=llm_section(records, [(chart.title, chart.anchor) for chart in charts]),
        references=reference_rows(records),
    )


def _evidence_paths(record: TestRecord) -> list[str]:
    paths = list(record.evidence)
    for m in record.measurements:
        paths.extend(path for path in m.evidence if path not in paths)
    return paths


def _links(record: TestRecord, paths: Sequence[str], shown: set[str]) -> tuple[Link, ...]:
    """Where a failure's evidence is: its place in the appendix when drawn or quoted there, else
    the file itself (relative to the run directory, where ``report.html`` lives by default)."""
    links = []
    if record.error is not None and record.error.details:
        links.append(Link(ERROR_DETAILS, "#" + evidence_anchor(record.test_id, ERROR_DETAILS)))
    for path in paths:
        anchor = evidence_anchor(record.test_id, path)
        label = path.rsplit("/", 1)[-1]
        links.append(Link(label, "#" + anchor if anchor in shown else path))
    return tuple(links)


def anchor_of_test(test_id: str) -> str:
    return "t-" + hashlib.sha256(test_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def evidence_anchor(test_id: str, path: str) -> str:
    key = f"{test_id}\0{path}".encode("utf-8", "surrogatepass")
    return "ev-" + hashlib.sha256(key).hexdigest()[:16]


def _anchor(name: str) -> str:
    """An id made of ASCII letters, digits, '-' and '_' (the section markers ``lab verify`` reads);
    a name that had to be rewritten (Korean, spaces) keeps a short digest so two never collide."""
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
    if plain != name:
        plain += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return "node-" + plain


def readable_name(record: TestRecord) -> str:
    """A record as a person names it: its criteria's short names (else the test's) and where it
    ran — ``offline-throughput · kt-rbln-07:rbln2`` — never the pytest node id."""
    names = list(dict.fromkeys(m.name for m in record.measurements))
    what = ", ".join(names) if names else short_test_name(record.test_id, record.node, record.device)
    where = ":".join(part for part in (record.node, record.device) if part)
    return f"{what} · {where}" if where else what


def rules_summary(record: TestRecord) -> str:
    """The record's MLPerf rule status ("MLPerf rules: all held" or which did not), or ""."""
    rules = record.properties.get("mlperf_rules")
    summary = rules.get("summary") if isinstance(rules, dict) else None
    return summary if isinstance(summary, str) else ""


def _measurement_row(record: TestRecord, m: Measurement, node: str | None = None) -> MeasurementRow:
    return MeasurementRow(
        test_id=record.test_id,
        name=m.name,
        test=short_test_name(record.test_id, node or record.node, record.device),
        device=record.device or "",
        criterion=m.name,
        limit=limit_text(m),
        # a criterion that could not be judged ("not computable: ...") says why where the value would be
        measured=measured_text(m),
        margin="" if m.margin is None else f"{m.margin:+.4g}",
        unit=m.unit,
        verdict=m.verdict,
        reason=m.reason,
        target="#" + anchor_of_test(record.test_id),
        uncertified=m.verdict is Outcome.SKIP and not limit_text(m),
        **_accuracy_beside(record, m),
    )


def _accuracy_beside(record: TestRecord, m: Measurement) -> dict[str, Any]:
    """The card's accuracy, as a reader sees it beside a performance figure: "top1 0.9778 (99.8 %
    of FP32 0.9800)"; nothing for the accuracy criteria themselves or records without one."""
    accuracy = record.properties.get("accuracy")
    if not isinstance(accuracy, dict) or m.name.startswith("accuracy"):
        return {}
    value, reference = accuracy.get("value"), accuracy.get("reference")
    if not isinstance(value, int | float) or not isinstance(reference, int | float) or not reference:
        return {}
    text = f"{accuracy.get('metric', '')} {value:.4f} ({value / reference:.1%} of FP32 {reference:.4f})"
    return {"accuracy": text.strip(), "accuracy_passed": accuracy.get("passed") is True}


def _chart(run_dir: Path, record: TestRecord, path: str, problems: list[str]) -> Chart | None:
    try:
        series = read_series(_inside(run_dir, path))
    except DataFormatError as exc:
        problems.append(f"{record.test_id}: {exc}")
        return None
    title = f"{series.name} — {record.device or record.test_id}"
    if series.kind == "samples":
        svg = histogram(series, title=title)
    elif series.kind == "curve":
        svg = curve_chart(series, title=title)
    else:
        svg = line_chart(series, title=title)
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
    rows.append(("started", _moment(manifest.started)))
    rows.append(("finished", _moment(manifest.finished) if manifest.finished else "—"))
    if manifest.finished is not None:
        rows.append(("wall_time", f"{(manifest.finished - manifest.started).total_seconds():.1f} s"))
    rows.append(("test_time", f"{sum(record.duration for record in run.records):.1f} s"))
    rows.append(("exit_status", "—" if manifest.exit_status is None else str(manifest.exit_status)))
    for key in ("tester_source", "campaign_source"):
        if key in manifest.properties:
            rows.append((key, _text(manifest.properties[key])))
    shards = manifest.properties.get("shards")  # a merged run (lab campaign merge): each shard's origin
    if isinstance(shards, list):
        for shard in shards:
            if isinstance(shard, dict):
                rows.append(("shard", f"{shard.get('number')}/{len(shards)}: {_shard_line(shard)}"))
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

"""The report puts MLPerf's rule status beside each performance figure, names short runs by
criterion and card (never a pytest node id), keeps rule material out of the node's identity,
and a property recorded as a list or map stays one (no Python repr in the report)."""

from __future__ import annotations

from pathlib import Path

from lab.criteria import JsonValue, Outcome, evaluate
from lab.inventory.model import Axis, Criterion, Limits
from lab.performance.rules import check_rules
from lab.pytest_plugin.recording import _json_safe
from lab.report import render_report
from lab.report.seal import split
from lab.results import Manifest, RunWriter, TestRecord, write_manifest

THROUGHPUT = Criterion(
    "offline-throughput", Axis.PERFORMANCE, "samples/s", "", Limits(minimum=1000.0, marginal=0.05)
)
SHORT = "MLPerf rules: did not hold: duration ≥ 600 s (2 s); not run: accuracy, TEST01"
HELD = "MLPerf rules: all held"


def _record(card: str, summary: str, **properties: JsonValue) -> TestRecord:
    m = evaluate(THROUGHPUT, 1500.0, "rngd")
    return TestRecord(
        test_id=f"testsuites/performance/test_performance.py::test_offline_throughput[n1:{card}]",
        outcome=Outcome.PASS,
        node="n1",
        device=card,
        measurements=(m,),
        properties={"mlperf_rules": {"summary": summary, "held": summary == HELD, "rules": []}, **properties},
    )


def _render(tmp_path: Path, records: list[TestRecord]) -> str:
    run_dir = tmp_path / "run"
    manifest = Manifest.start(run_id="run")
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        for record in records:
            writer.record(record)
    write_manifest(run_dir, manifest.finish(exit_status=0))
    return split(render_report(run_dir, lang="en")).body


def test_rule_status_sits_beside_the_figure(tmp_path: Path) -> None:
    html = _render(
        tmp_path,
        [
            _record("npu0", SHORT, short_run=True, audits={"TEST04": {"passed": True, "detail": "× 1.01"}}),
            _record("npu1", SHORT, short_run=True),
        ],
    )
    figures = html.split("offline-throughput", 1)[1].split("</tr>", 1)[0]
    assert "MLPerf rules: did not hold: duration ≥ 600 s (2 s); not run: accuracy, TEST01" in figures.replace(
        "&#8805;", "≥"
    )
    assert "[short run" not in figures  # the duration rule says it, not a second flag
    assert "mlperf rules" not in html and "audits" not in html  # verdict material, not identity


def test_cards_with_different_rule_status_are_each_named(tmp_path: Path) -> None:
    html = _render(tmp_path, [_record("npu0", HELD), _record("npu1", SHORT)])
    row = html.split("offline-throughput", 1)[1].split("</tr>", 1)[0]
    assert "npu0: MLPerf rules: all held" in row and "npu1: MLPerf rules: did not hold" in row


def test_short_runs_are_listed_by_criterion_and_card_not_node_id(tmp_path: Path) -> None:
    html = _render(tmp_path, [_record("npu0", SHORT, short_run=True)])
    provenance = html.split("Short runs (not MLPerf-compliant)</h3>", 1)[1].split("</ul>", 1)[0]
    assert "offline-throughput · n1:npu0" in provenance
    assert "::" not in provenance and "testsuites/" not in provenance


def test_a_real_rule_report_renders(tmp_path: Path) -> None:
    report = check_rules([], accuracy=None, audits=None)
    html = _render(tmp_path, [_record("npu0", report.summary)])
    assert "MLPerf rules: did not hold: result VALID" in html


def test_recorded_lists_and_maps_stay_json() -> None:
    assert _json_safe([0.5, (1, 2)]) == [0.5, [1, 2]]
    assert _json_safe({"TEST04": {"passed": True}}) == {"TEST04": {"passed": True}}
    assert _json_safe(Path("/x")) == "/x"


def test_a_secret_inside_a_structured_property_is_masked() -> None:
    from lab.pytest_plugin.masking import masked_property
    from lab.results.masking import SECRETS

    SECRETS.add("rules-secret-7731")
    masked = masked_property({"TEST04": {"detail": "x rules-secret-7731 y"}, "list": ["rules-secret-7731"]})
    assert "rules-secret-7731" not in str(masked)
    assert isinstance(masked, dict) and isinstance(masked["list"], list)

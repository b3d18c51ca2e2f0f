"""The HTML report: self-contained, escaped, bilingual, built from the stored run only."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lab.criteria import DataFormatError, Outcome, not_computable
from lab.inventory.model import Axis, Criterion, Limits
from lab.report import render_report
from lab.report.seal import split
from lab.report.view import _measurement_row
from lab.results import TestRecord
from tests.report.synthetic import (
    HOSTILE_DEVICE,
    HOSTILE_FIRMWARE,
    PERF_TEST,
    TEMP_TEST,
    UNFINISHED_TEST,
    XSS,
    build_run,
)


def _body(html: str) -> str:
    return split(html).body


def test_report_is_self_contained_with_no_script_and_no_url(finished_run: Path) -> None:
    html = render_report(finished_run, lang="en")
    assert re.search(r"<script", html, re.IGNORECASE) is None
    assert re.search(r"(https?:)?//[a-z0-9]", html.replace("file://", ""), re.IGNORECASE) is None
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert html.count('<svg class="chart"') == 2  # the soak line chart and the latency histogram


def test_hostile_device_name_firmware_and_transcript_are_escaped(finished_run: Path) -> None:
    body = _body(render_report(finished_run, lang="en"))
    assert XSS not in body and HOSTILE_DEVICE not in body and HOSTILE_FIRMWARE not in body
    assert "npu0&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "1.2.3&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in body
    assert "onerror=alert(2)>" not in body
    assert "timeout &lt;script&gt;" in body  # the error message
    assert "rbln-smi hung for 30 s\n&lt;script&gt;alert(1)&lt;/script&gt;" in body  # its details, as evidence
    assert "$ furiosa-smi info\n&lt;script&gt;alert(1)&lt;/script&gt;\n펌웨어 오류" in body  # the transcript


def test_summary_matrix_counts_and_certificate_contents(finished_run: Path) -> None:
    body = _body(render_report(finished_run, lang="en"))
    summary = body.split("<!--lab-section:summary-->")[1].split("<!--/lab-section-->")[0]
    # kt-rbln-07: stability MARGINAL 1 (84 °C in the 5 % band of 85 °C), performance PASS 1
    row = summary.split("kt-rbln-07</a></th>")[1].split("</tr>")[0]
    cells = re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
    assert len(cells) == 5
    assert "no test" in cells[0] and "MARGINAL 1" in cells[1] and "PASS 1" in cells[4]
    node = body.split("<!--lab-section:node-kt-rbln-07-->")[1].split("<!--/lab-section-->")[0]
    assert "SHA256:abc" in node and "strict" in node and "3.0.0" in node  # identity from record properties
    assert "≤ 85" in node and "+1" in node and "°C" in node  # limit, margin, unit of the temperature row
    assert "short run — not MLPerf-compliant" in node
    appendix = body.split("<!--lab-section:appendix-node-kt-rbln-07-->")[1].split("<!--/lab-section-->")[0]
    assert '<svg class="chart"' in appendix
    assert 'class="violation"' not in appendix  # the soak stays below 85 °C in this run


def test_first_violation_is_marked_on_the_chart(tmp_path: Path) -> None:
    from lab.results.series import Series, write_series

    run_dir = build_run(tmp_path / "run")
    path = write_series(
        run_dir, TEMP_TEST, Series("hot", "°C", t=(0.0, 1.0, 2.0), values=(80.0, 90.0, 84.0), maximum=85.0)
    )
    record_file = next(run_dir.glob("records-*.jsonl"))
    text = record_file.read_text(encoding="utf-8")
    soak_dir = path.rsplit("/", 1)[0]
    record_file.write_text(
        text.replace(f'"{soak_dir}/temperature.series.json"', f'"{path}"'), encoding="utf-8"
    )
    body = _body(render_report(run_dir, lang="en"))
    assert '<circle class="violation"' in body and "90 °C above maximum 85 °C" in body


def test_korean_and_english_labels_come_from_one_catalog(finished_run: Path) -> None:
    korean = _body(render_report(finished_run, lang="ko"))
    english = _body(render_report(finished_run, lang="en"))
    for label in ("호환성", "안정성", "사용성", "확장성", "성능", "종합 판정"):
        assert label in korean and label not in english
    for label in ("Compatibility", "Stability", "Usability", "Scalability", "Performance", "Overall verdict"):
        assert label in english
    assert "광주 AI 클러스터 검증 환경" in english  # run data is never translated
    with pytest.raises(DataFormatError, match="unknown report language"):
        render_report(finished_run, lang="fr")


def test_half_finished_run_renders_as_incomplete(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "cut", finished=False)
    body = _body(render_report(run_dir, lang="en"))
    cover = body.split("<!--lab-section:cover-->")[1].split("<!--/lab-section-->")[0]
    assert 'verdict-big INCOMPLETE">INCOMPLETE' in cover
    assert "This run did not complete" in cover and "not finished" in cover
    assert UNFINISHED_TEST.replace("[", "[") in body and "never finished" in body


def test_a_lab_restyles_by_overriding_one_template(tmp_path: Path, finished_run: Path) -> None:
    override = tmp_path / "lab-style"
    override.mkdir()
    (override / "style.css.j2").write_text("body { color: rebeccapurple; }\n", encoding="utf-8")
    (override / "messages.yaml").write_text(
        'title: {ko: "광주 인증서", en: "Gwangju certificate"}\n', encoding="utf-8"
    )
    body = _body(render_report(finished_run, lang="en", templates=override))
    assert "rebeccapurple" in body and "--pass:" not in body  # the style was replaced whole
    assert "<h1>Gwangju certificate</h1>" in body
    assert "Overall verdict" in body  # every other label still comes from the default catalog
    with pytest.raises(DataFormatError, match="no such template directory"):
        render_report(finished_run, templates=tmp_path / "missing")


def test_broken_override_template_is_a_clear_error(tmp_path: Path, finished_run: Path) -> None:
    override = tmp_path / "broken"
    (override / "partials").mkdir(parents=True)
    (override / "partials" / "cover.html.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(DataFormatError, match="report template error"):
        render_report(finished_run, templates=override)


def test_damaged_evidence_is_listed_not_raised(finished_run: Path) -> None:
    soak = next((finished_run / "evidence").glob("*test_temperature*/temperature.series.json"))
    soak.write_text("{broken", encoding="utf-8")
    latency = next((finished_run / "evidence").glob("*test_throughput*/latency.series.json"))
    latency.unlink()
    body = _body(render_report(finished_run, lang="en"))
    assert "Unreadable data" in body and "not JSON" in body and "no such series file" in body


def test_evidence_paths_cannot_climb_out_of_the_run(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "run")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    record_file = next(run_dir.glob("records-*.jsonl"))
    text = record_file.read_text(encoding="utf-8")
    evidence = re.search(r'"(evidence/[^"]*transcript\.txt)"', text)
    assert evidence is not None
    record_file.write_text(text.replace(evidence.group(1), "../secret.txt"), encoding="utf-8")
    body = _body(render_report(run_dir, lang="en"))
    assert "TOP-SECRET" not in body and "points outside the run directory" in body


def test_the_report_is_rebuilt_from_files_alone(tmp_path: Path, finished_run: Path) -> None:
    copy = tmp_path / "copied-run"
    shutil.copytree(finished_run, copy)
    assert PERF_TEST in _body(render_report(copy, lang="en"))


def test_a_symbolic_link_in_the_evidence_cannot_lead_outside(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "run")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    transcript = next((run_dir / "evidence").glob("*test_firmware*/transcript.txt"))
    transcript.unlink()
    transcript.symlink_to(secret)
    body = _body(render_report(run_dir, lang="en"))
    assert "TOP-SECRET" not in body and "points outside the run directory" in body


def test_series_beyond_the_per_node_limit_are_counted_and_trust_mode_falls_back_to_the_run(
    tmp_path: Path,
) -> None:
    from lab.results import Manifest, RunWriter, TestRecord, write_manifest
    from lab.results.series import Series, write_series

    run_dir = tmp_path / "many"
    manifest = Manifest.start(run_id="many", trust_mode="tofu")
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        for index in range(45):
            test_id = f"t.py::test_{index}[n1:npu0]"
            path = write_series(run_dir, test_id, Series("power", "W", t=(0.0, 1.0), values=(1.0, 2.0)))
            writer.record(
                TestRecord(test_id=test_id, outcome=Outcome.PASS, node="n1", device="npu0", evidence=(path,))
            )
    write_manifest(run_dir, manifest.finish(exit_status=0))
    body = _body(render_report(run_dir, lang="en"))
    assert body.count('<svg class="chart"') == 40
    assert "Further series not drawn (at most 40 per node): 5" in body
    assert "tofu (run)" in body


def test_a_criterion_that_cannot_be_judged_shows_why_in_place_of_the_value() -> None:
    peak = Criterion("percent-of-peak", Axis.PERFORMANCE, "fraction", "", Limits(minimum=0.2))
    measured = not_computable(peak, "the catalog's int8_tops for sapeon-x220 is null")
    record = TestRecord(test_id="t.py::test_percent_of_peak[n:snpu0]", outcome=Outcome.SKIP, device="snpu0")
    row = _measurement_row(record, measured)
    assert (row.verdict, row.limit) == (Outcome.SKIP, "≥ 0.2")
    assert row.measured == "not computable: the catalog's int8_tops for sapeon-x220 is null"
    not_measured = _measurement_row(record, replace(measured, verdict=Outcome.ERROR, reason="not measured"))
    assert not_measured.measured == "—"  # a value the lab failed to read is not dressed up as a reason

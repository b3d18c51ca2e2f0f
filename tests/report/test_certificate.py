"""The certificate a reviewer reads: rows named by criterion and card, identity as a person reads
it, who ran it and for which campaign, short soaks counted, cards certified by model, failures
linked to evidence that exists, both languages equally complete."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from lab.report import render_report
from lab.report.humane import property_text, short_test_name
from lab.report.render import DEFAULT_TEMPLATES
from lab.report.seal import split
from lab.report.view import _anchor
from lab.results import Manifest, read_manifest, write_manifest
from lab.results.attribution import attribution
from tests.report.synthetic import TEMP_TEST, build_run


def _section(body: str, name: str) -> str:
    return body.split(f"<!--lab-section:{name}-->")[1].split("<!--/lab-section-->")[0]


def _with_properties(run_dir: Path, **extra: object) -> None:
    manifest = read_manifest(run_dir)
    data = manifest.to_dict()
    properties = dict(manifest.properties)
    properties.update(extra)  # type: ignore[arg-type]
    data["properties"] = properties  # type: ignore[assignment]
    write_manifest(run_dir, Manifest.from_dict(data))


def test_certificate_rows_are_named_by_criterion_and_card_not_node_ids(finished_run: Path) -> None:
    body = split(render_report(finished_run, lang="en")).body
    certificate = _section(body, "node-kt-rbln-07")
    assert "testsuites/" not in certificate and "::" not in certificate  # no pytest node id on a certificate
    figures = certificate.split("Key figures by axis")[1]
    assert re.search(r"<td>temperature</td>.*?<td>rbln0</td>", figures, re.DOTALL)
    assert figures.index("Stability") < figures.index("Performance")  # grouped by axis, in axis order
    appendix = _section(body, "appendix-node-kt-rbln-07")
    assert (
        "<td>temperature</td><td>rbln0</td>" in appendix
    )  # the full table is compact and named the same way
    assert TEMP_TEST in appendix  # the node id stays reachable (as the row's tooltip)


def test_identity_reads_as_a_person_reads_it(tmp_path: Path) -> None:
    assert property_text("soak_started_epoch", 1796414400.0) == "2026-12-04 20:00:00 UTC"
    assert property_text("soak_wall_seconds", 20.4123) == "20.41 s"
    assert property_text("spread", [0.5, 0.25, 1.0]) == "0.5, 0.25, 1"
    assert short_test_name("t/test_c.py::test_version_pinned[n1:rbln0-driver]", "n1", "rbln0") == (
        "version_pinned · driver"
    )
    run_dir = build_run(tmp_path / "run")
    record_file = next(run_dir.glob("records-*.jsonl"))
    text = record_file.read_text(encoding="utf-8")
    record_file.write_text(
        text.replace(
            '"short_run":true',
            '"short_run":true,"soak_started_epoch":1796414400.0,"spread":[0.5,0.25]',
            1,
        ),
        encoding="utf-8",
    )
    body = split(render_report(run_dir, lang="en")).body
    assert "1.79641e+09" not in body and "1796414400" not in body.split("<!--lab-signature")[0]
    assert "<th>soak started</th><td>2026-12-04 20:00:00 UTC</td>" in body
    assert "<th>spread</th><td>0.5, 0.25</td>" in body
    assert "[0.5" not in body.split("<!--lab-signature")[0]


def test_tester_and_campaign_come_from_the_run_or_the_command_line(finished_run: Path) -> None:
    cover = _section(split(render_report(finished_run, lang="en")).body, "cover")
    assert "<th>Run by</th><td>not recorded" in cover  # truly unknown: said, not guessed
    _with_properties(finished_run, tester="김시험", campaign="2026 Q4 certification")
    cover = _section(split(render_report(finished_run, lang="en")).body, "cover")
    assert "<th>Run by</th><td>김시험</td>" in cover and "2026 Q4 certification" in cover
    cover = _section(
        split(render_report(finished_run, lang="ko", tester="Lee", campaign="re-run")).body, "cover"
    )
    assert "<td>Lee</td>" in cover and "<td>re-run</td>" in cover


def test_attribution_sources_in_order() -> None:
    env = {
        "LAB_TESTER": "kim",
        "GITHUB_ACTOR": "bot",
        "GITHUB_WORKFLOW": "nightly",
        "GITHUB_RUN_NUMBER": "12",
    }
    assert attribution(tester="lee", campaign=None, environ=env) == {
        "tester": "lee",
        "tester_source": "command line",
        "campaign": "nightly #12",
        "campaign_source": "GITHUB_WORKFLOW",
    }
    assert attribution(tester=None, campaign=None, environ={"GITLAB_USER_LOGIN": "park"})["tester"] == "park"
    assert attribution(tester=" ", campaign=None, environ={}) == {}


def test_cover_counts_short_soaks_as_well_as_short_performance_runs(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "run")
    record_file = next(run_dir.glob("records-*.jsonl"))
    text = record_file.read_text(encoding="utf-8")
    record_file.write_text(
        text.replace('"trust_mode":"strict"', '"trust_mode":"strict","short_soak":true', 1),
        encoding="utf-8",
    )
    cover = _section(split(render_report(run_dir, lang="en")).body, "cover")
    assert "Short runs (not MLPerf-compliant): 1" in cover
    assert "Short soaks (shorter than the profile&#39;s duration): 1" in cover


def test_table_by_card_model_counts_certified_cards(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "run")

    def node(model: str, vendor: str, name: str) -> dict[str, object]:
        return {
            "operator": "kt-cloud",
            "cards": [{"model": model, "vendor": vendor, "name": name, "count": 1}],
        }

    scope = {
        "kt-rbln-07": node("atom-plus", "rebellions", "ATOM+"),
        "노드-가": node("rngd", "furiosaai", "RNGD"),
    }
    _with_properties(run_dir, scope=scope, inventory="lab-a")
    body = split(render_report(run_dir, lang="en")).body
    summary = _section(body, "summary")
    # kt-rbln-07's card: MARGINAL + PASS → certified; 노드-가's card: FAIL and ERROR → not
    assert re.search(r"ATOM\+.*?<td class=\"num\">1 / 1</td>", summary, re.DOTALL)
    assert re.search(r"RNGD.*?<td class=\"num\">0 / 1</td>", summary, re.DOTALL)
    cover = _section(body, "cover")
    assert "lab-a: 2 nodes, 2 cards — furiosaai: 1 × rngd; rebellions: 1 × atom-plus" in cover


def test_every_failure_on_a_certificate_links_to_evidence_that_exists(finished_run: Path) -> None:
    body = split(render_report(finished_run, lang="en")).body
    ids = set(re.findall(r'id="([^"]+)"', body))
    certificate = _section(body, _anchor("노드-가"))
    failures = certificate.split("Failures and errors")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>.*?</tr>", failures, re.DOTALL)
    assert len(rows) == 2  # the firmware FAIL and the ERROR test
    for row in rows:
        hrefs = re.findall(r'href="([^"]+)"', row)
        assert hrefs
        for href in hrefs:
            assert (href[1:] in ids) if href.startswith("#") else (finished_run / href).is_file(), href


def test_both_languages_are_equally_complete(finished_run: Path) -> None:
    catalog = yaml.safe_load((DEFAULT_TEMPLATES / "messages.yaml").read_text(encoding="utf-8"))
    missing = {
        key: sorted({"ko", "en"} - set(entry)) for key, entry in catalog.items() if set(entry) != {"ko", "en"}
    }
    assert missing == {}
    used = set()
    for template in DEFAULT_TEMPLATES.rglob("*.j2"):
        used |= set(re.findall(r't\("([a-z_.]+)"\)', template.read_text(encoding="utf-8")))
    dynamic = {key for key in catalog if key.startswith(("axis.", "card.", "prop.", "llm.llm_", "llm.rule."))}
    assert used - set(catalog) == set()  # every label a template asks for exists in both languages
    assert set(catalog) - used - dynamic == set()  # and none is dead
    for lang in ("ko", "en"):
        body = split(render_report(finished_run, lang=lang)).body
        visible = re.sub(r"<[^>]+>", " ", body)
        leaked = [
            key
            for key in catalog
            if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", visible) and "." in key
        ]
        assert leaked == [], lang  # a key shown raw means a label is missing

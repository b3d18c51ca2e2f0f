"""The run's own telemetry in Prometheus format: served over HTTP on 127.0.0.1 from the run
directory, scraped with urllib and parsed with prometheus_client's own parser. It follows the
run as it changes (a quarantine written, then released; a run still under way)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lab.health.quarantine import quarantine, release
from lab.report.metrics import parse_listen, serve_run_metrics
from tests.report.synthetic import build_run


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_finished_run_by_outcome_node_and_quarantine(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "run")  # PASS, MARGINAL (kt-rbln-07), FAIL, ERROR (노드-가)
    server, thread = serve_run_metrics(run_dir, 0)
    try:
        port = server.server_port
        first = _scrape(port)
        assert first[("lab_run_info", (("profile", "k-cloud-npu"), ("run_id", "run")))] == 1
        for outcome, count in (("PASS", 1), ("MARGINAL", 1), ("FAIL", 1), ("ERROR", 1), ("INCOMPLETE", 0)):
            assert first[("lab_run_tests", (("outcome", outcome),))] == count, outcome
        assert first[("lab_node_tests", (("node", "kt-rbln-07"), ("outcome", "MARGINAL")))] == 1
        assert first[("lab_node_tests", (("node", "노드-가"), ("outcome", "FAIL")))] == 1
        assert first[("lab_node_tests", (("node", "노드-가"), ("outcome", "PASS")))] == 0
        assert first[("lab_run_finished", ())] == 1
        assert not [key for key in first if key[0] == "lab_node_quarantined"]
        quarantine(run_dir, "노드-가", "kernel-aer-correctable: above maximum 100", suite="functional")
        held = _scrape(port)[("lab_node_quarantined", (("node", "노드-가"), ("suite", "functional")))]
        release(run_dir, "노드-가", by="tester")
        lifted = _scrape(port)[("lab_node_quarantined", (("node", "노드-가"), ("suite", "functional")))]
        assert (held, lifted) == (1, 0)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_run_under_way_is_not_finished(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path / "run", finished=False)
    server, thread = serve_run_metrics(run_dir, 0)
    try:
        page = _scrape(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert page[("lab_run_finished", ())] == 0
    assert page[("lab_run_tests", (("outcome", "INCOMPLETE"),))] == 1


@pytest.mark.parametrize(
    ("text", "expected"), [("9464", ("127.0.0.1", 9464)), ("0.0.0.0:9464", ("0.0.0.0", 9464))]
)
def test_listen_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "host", "9464x", "127.0.0.1:99999"])
def test_bad_listen_address(text: str) -> None:
    with pytest.raises(ValueError, match="not a port"):
        parse_listen(text)

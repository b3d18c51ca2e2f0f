"""``--lab-metrics-port``: the session serves its own run telemetry while it runs (a test of the
session scrapes it over HTTP) and the endpoint is gone when the session ends."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.plugin.conftest import write_fake_conftest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_pytest_option_serves_the_session_while_it_runs(
    lab_project: pytest.Pytester, tmp_path: Path
) -> None:
    port = _free_port()
    page = tmp_path / "page.txt"
    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(
        test_a=f"""
        import urllib.request

        def test_cool(device, measure):
            measure("temperature", 60.0)

        def test_zz_scrape(node):
            with urllib.request.urlopen("http://127.0.0.1:{port}/metrics", timeout=10) as response:
                open({str(page)!r}, "w", encoding="utf-8").write(response.read().decode())
        """
    )
    result = lab_project.runpytest(
        "--lab-inventory",
        "inventory.yaml",
        "--lab-no-lease",
        "--lab-metrics-port",
        str(port),
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=7)
    scraped = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page.read_text(encoding="utf-8"))
        for sample in family.samples
    }
    # the last scrape ran during the session: the four cards' checks had passed, the run had not ended
    assert scraped[("lab_run_tests", (("outcome", "PASS"),))] >= 4
    assert scraped[("lab_run_finished", ())] == 0
    with pytest.raises(OSError):  # the endpoint is gone with the session
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)

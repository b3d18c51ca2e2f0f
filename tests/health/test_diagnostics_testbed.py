"""testsuites/health on a real emulated test-bed. Vendor diagnostics: each node runs only its
own vendor's diagnostic (dcgmi on NVIDIA, rbln-vs on Rebellions, rngd-diag on RNGD), a healthy
node passes, an injected fault fails the right criterion with the failing test named, a Warboy
node (no published diagnostic) is SKIP.
Transfer bandwidth: rblnBandwidthLatencyTest per die against the expected link.
Exporter conformance: every vendor's emulated exporter (prometheus_client) conforms, and one
that reports 1/1000 of the tool's values fails exporter-agreement."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.results import Run, TestRecord, load_run
from tests.testbed_inventory import REPOSITORY, emulated_inventory, started_testbed

INVENTORY = emulated_inventory(
    "diag-test",
    """\
nodes:
  - name: ok-h100
    operator: nhn-cloud
    accelerators: [{model: h100-pcie, count: 2}]
    emulation: {seed: 11}
  - name: link-h100
    operator: nhn-cloud
    accelerators: [{model: h100-pcie, count: 2}]
    emulation:
      seed: 12
      faults: [{kind: pcie-degraded, device: 1}]
  - name: ecc-rbln
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 1}]
    emulation:
      seed: 13
      faults: [{kind: ecc-uncorrectable, device: 0}]
  - name: fw-rbln
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 1}]
    emulation:
      seed: 14
      faults: [{kind: wrong-firmware, device: 0}]
  - name: ok-rngd
    operator: naver-cloud
    accelerators: [{model: rngd, count: 1}]
    emulation: {seed: 15}
  - name: hot-rngd
    operator: naver-cloud
    accelerators: [{model: rngd, count: 2}]
    emulation:
      seed: 17
      faults: [{kind: thermal-runaway, device: 1}]
  - name: ok-warboy
    operator: kt-cloud
    accelerators: [{model: warboy, count: 1}]
    emulation: {seed: 18}
  - name: link-rbln
    operator: kt-cloud
    accelerators: [{model: atom-max, count: 1}]
    emulation:
      seed: 19
      faults: [{kind: pcie-degraded, device: 0, parameters: {link: Gen5 x8}}]
  - name: milli-rbln
    operator: kt-cloud
    accelerators: [{model: atom-max, count: 1}]
    emulation:
      seed: 16
      faults: [{kind: exporter-scale, device: 0}]
""",
)


@pytest.fixture(scope="module")
def diag_run() -> Iterator[tuple[Run, str]]:
    directory = Path(tempfile.mkdtemp(prefix="kcloud-diag-"))
    try:
        with started_testbed(INVENTORY, directory) as testbed:
            command = [
                sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "health"),
                "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(directory / "run"),
                "--lab-no-lease", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
            ]  # fmt: skip
            output = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
            yield load_run(directory / "run"), output.stdout + output.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _record(run: Run, node: str, test: str = "test_vendor_diagnostic") -> TestRecord:
    [record] = [r for r in run.records if r.node == node and f"::{test}[" in r.test_id]
    return record


def _verdicts(record: TestRecord) -> dict[str, tuple[Outcome, object]]:
    return {m.name: (m.verdict, m.value) for m in record.measurements}


def test_healthy_nodes_pass(diag_run: tuple[Run, str]) -> None:
    run, output = diag_run
    record = _record(run, "ok-h100")
    assert record.outcome is Outcome.PASS, output
    assert _verdicts(record) == {
        "vendor-diagnostic-software": (Outcome.PASS, 0),
        "vendor-diagnostic-hardware": (Outcome.PASS, 0),
    }


def test_a_degraded_link_fails_dcgm_pcie(diag_run: tuple[Run, str]) -> None:
    run, output = diag_run
    record = _record(run, "link-h100")
    assert record.outcome is Outcome.FAIL, output
    assert _verdicts(record)["vendor-diagnostic-hardware"] == (Outcome.FAIL, 1)
    assert _verdicts(record)["vendor-diagnostic-software"][0] is Outcome.PASS
    assert record.error is not None and "pcie[1]: GPU 1 PCIe link is Gen4 x8" in record.error.message


def test_rbln_vs_faults_fail_the_right_category(diag_run: tuple[Run, str]) -> None:
    run, output = diag_run
    ecc = _record(run, "ecc-rbln")
    assert _verdicts(ecc)["vendor-diagnostic-software"][0] is Outcome.PASS, output
    assert _verdicts(ecc)["vendor-diagnostic-hardware"] == (Outcome.FAIL, 2)  # hardware_presence, npu_memory
    firmware = _record(run, "fw-rbln")
    assert _verdicts(firmware)["vendor-diagnostic-software"] == (Outcome.FAIL, 1)
    assert _verdicts(firmware)["vendor-diagnostic-hardware"][0] is Outcome.PASS
    assert firmware.error is not None and "software_integrity: rbln0: firmware" in firmware.error.message


def test_rngd_diag_judges_rngd_hardware_only(diag_run: tuple[Run, str]) -> None:
    run, output = diag_run
    healthy = _record(run, "ok-rngd")
    assert healthy.outcome is Outcome.PASS, output
    assert _verdicts(healthy) == {"vendor-diagnostic-hardware": (Outcome.PASS, 0)}
    hot = _record(run, "hot-rngd")
    assert hot.outcome is Outcome.FAIL, output
    assert _verdicts(hot) == {"vendor-diagnostic-hardware": (Outcome.FAIL, 1)}
    assert hot.error is not None and "sensors[npu1]: " in hot.error.message
    assert "°C outside 10-80" in hot.error.message and "[npu0]" not in hot.error.message


def test_no_parsed_diagnostic_is_skip(diag_run: tuple[Run, str]) -> None:
    run, _ = diag_run
    record = _record(run, "ok-warboy")
    assert (record.outcome, record.reason) == (Outcome.SKIP, "no vendor diagnostic parsed for furiosactl")


def test_vendor_exporters_conform(diag_run: tuple[Run, str]) -> None:
    run, output = diag_run
    for node in ("ok-h100", "ok-rngd", "ecc-rbln"):
        record = _record(run, node, "test_exporter_conformance")
        assert record.outcome is Outcome.PASS, (node, record.error, output)
        assert _verdicts(record) == {
            "exporter-metrics": (Outcome.PASS, 0),
            "exporter-agreement": (Outcome.PASS, 0),
        }


def test_an_exporter_off_by_1000_fails_agreement(diag_run: tuple[Run, str]) -> None:
    run, output = diag_run
    record = _record(run, "milli-rbln", "test_exporter_conformance")
    assert record.outcome is Outcome.FAIL, output
    verdicts = _verdicts(record)
    assert verdicts["exporter-metrics"] == (Outcome.PASS, 0)
    assert verdicts["exporter-agreement"] == (Outcome.FAIL, 8)  # temperature and power of 4 dies
    assert record.error is not None and "rbln0 power: exporter rbln_npu_power = 0.0" in record.error.message
    assert _record(run, "milli-rbln").outcome is Outcome.PASS  # the card itself is fine


def test_transfer_bandwidth_against_the_expected_link(diag_run: tuple[Run, str]) -> None:
    run, output = diag_run
    healthy = _record(run, "ecc-rbln", "test_host_transfer_bandwidth")
    assert healthy.outcome is Outcome.PASS, output
    [measured] = healthy.measurements
    assert measured.name == "host-npu-bandwidth" and 0.78 < float(measured.value) < 0.86  # type: ignore[arg-type]
    halved = _record(run, "link-rbln", "test_host_transfer_bandwidth")
    assert halved.outcome is Outcome.FAIL, output
    assert [m.verdict for m in halved.measurements] == [Outcome.FAIL] * 4  # the four dies behind the link
    assert halved.error is not None and "rbln0: host-npu-bandwidth" in halved.error.message
    assert "Gen5 x16 = 63.0 GB/s" in halved.error.message
    skipped = _record(run, "ok-rngd", "test_host_transfer_bandwidth")
    assert (skipped.outcome, skipped.reason) == (Outcome.SKIP, "no transfer benchmark parsed for furiosa-smi")

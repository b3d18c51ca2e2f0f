"""Vendor diagnostics on a real emulated test-bed: each node runs only its own vendor's
diagnostic (dcgmi on NVIDIA, rbln-vs on Rebellions), a healthy node passes, an injected fault
fails the right criterion with the failing test named, and an RNGD node is SKIP."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.emulator.testbed.launcher import down, up
from lab.results import Run, TestRecord, load_run

REPOSITORY = Path(__file__).resolve().parents[2]

INVENTORY = """\
version: 1
name: diag-test
catalog: {repository}/inventory/devices.yaml
profiles: {repository}/inventory/profiles
defaults:
  emulated: true
  user: lab
  profile: kcloud-npu-v1
  timeouts: {{connect: 5, command: 30}}
nodes:
  - name: ok-h100
    operator: nhn-cloud
    accelerators: [{{model: h100-pcie, count: 2}}]
    emulation: {{seed: 11}}
  - name: link-h100
    operator: nhn-cloud
    accelerators: [{{model: h100-pcie, count: 2}}]
    emulation:
      seed: 12
      faults: [{{kind: pcie-degraded, device: 1}}]
  - name: ecc-rbln
    operator: kt-cloud
    accelerators: [{{model: atom-plus, count: 1}}]
    emulation:
      seed: 13
      faults: [{{kind: ecc-uncorrectable, device: 0}}]
  - name: fw-rbln
    operator: kt-cloud
    accelerators: [{{model: atom-plus, count: 1}}]
    emulation:
      seed: 14
      faults: [{{kind: wrong-firmware, device: 0}}]
  - name: ok-rngd
    operator: naver-cloud
    accelerators: [{{model: rngd, count: 1}}]
    emulation: {{seed: 15}}
"""


@pytest.fixture(scope="module")
def diag_run() -> Iterator[tuple[Run, str]]:
    directory = Path(tempfile.mkdtemp(prefix="kcloud-diag-"))
    inventory = directory / "inventory.yaml"
    inventory.write_text(INVENTORY.format(repository=REPOSITORY), encoding="utf-8")
    testbed = up(inventory, directory / "testbed")
    try:
        command = [
            sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "health"),
            "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(directory / "run"),
            "--lab-no-lease", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
        ]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
        yield load_run(directory / "run"), output.stdout + output.stderr
    finally:
        down(directory / "testbed")
        shutil.rmtree(directory, ignore_errors=True)


def _record(run: Run, node: str) -> TestRecord:
    [record] = [r for r in run.records if r.node == node]
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


def test_no_parsed_diagnostic_is_skip(diag_run: tuple[Run, str]) -> None:
    run, _ = diag_run
    record = _record(run, "ok-rngd")
    assert (record.outcome, record.reason) == (Outcome.SKIP, "no vendor diagnostic parsed for furiosa-smi")

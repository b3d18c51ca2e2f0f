"""Kernel health probe: strict parsing of sysfs AER counters and kernel log lines, and the gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.health import KernelHealth, KernelProbeError, judge_gate, parse_kernel_probe, read_kernel_health
from lab.health.kernel import PROBE
from lab.inventory import load_inventory
from lab.transport.fake import FakeTransport

CAPTURES = Path(__file__).resolve().parents[1] / "devices" / "captures" / "kernel"
REPOSITORY = Path(__file__).resolve().parents[2]
BDF = "0000:17:00.0"


def probe_output(dmesg: str, files: dict[str, str], status: int = 0) -> str:
    parts = [dmesg.rstrip("\n"), f"@@dmesg-status {status}"]
    for name, text in files.items():
        parts += [f"@@file /sys/bus/pci/devices/{BDF}/{name}", text.rstrip("\n")]
    return "\n".join([*parts, "@@end"]) + "\n"


def captured() -> str:
    files = {
        name: (CAPTURES / name).read_text()
        for name in ("aer_dev_correctable", "aer_dev_nonfatal", "aer_dev_fatal")
    }
    return probe_output((CAPTURES / "dmesg.txt").read_text(), files)


def test_captured_sources_parse_into_counters_and_events() -> None:
    health = parse_kernel_probe(captured())
    assert health.aer == {BDF: {"correctable": 816, "nonfatal": 1, "fatal": 0}}
    assert [(x.bdf, x.code) for x in health.xids] == [("0000:17:00", 79), ("0000:17:00", 13)]
    assert [x.code for x in health.devastating_xids()] == [79]
    assert health.machine_checks == 1
    # AER echoes in the log are not driver errors: the counters count them
    assert health.driver_errors == (
        "[ 9130.114000] rebellions 0000:51:00.0: rbln_dev_fault: firmware error 0x12 on die 1",
    )


def test_growth_since_a_baseline() -> None:
    before = parse_kernel_probe(probe_output("", {"aer_dev_correctable": "RxErr 5\nTOTAL_ERR_COR 5"}))
    after = parse_kernel_probe(captured())
    window = after.since(before)
    assert window.aer[BDF]["correctable"] == 811
    assert len(window.xids) == 2
    # a counter below its baseline (device reset) counts from zero again
    assert before.since(after).aer[BDF]["correctable"] == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "dmesg: read kernel buffer failed: Operation not permitted\n@@dmesg-status 1\n@@end\n",
            "dmesg_restrict",
        ),
        ("@@dmesg-status 0\n", "ends early"),
        (
            "@@dmesg-status 0\n@@file /sys/bus/pci/devices/x/aer_dev_fatal\nDLP zero\n@@end\n",
            "unexpected AER counter",
        ),
        ("@@dmesg-status 0\n@@file /sys/bus/pci/devices/x/aer_dev_fatal\nDLP 0\n@@end\n", "no total line"),
        ("@@dmesg-status 0\n@@file /sys/class/hwmon/temp1\n1\n@@end\n", "unexpected sysfs path"),
    ],
)
def test_garbage_is_an_infrastructure_error(text: str, message: str) -> None:
    with pytest.raises(KernelProbeError, match=message):
        parse_kernel_probe(text)


def test_probe_runs_over_the_transport() -> None:
    fake = FakeTransport("n1")
    fake.reply(PROBE, stdout=captured())
    assert read_kernel_health(fake).aer_total("correctable") == 816


def test_gate_judges_with_the_profile() -> None:
    profile = load_inventory(REPOSITORY / "inventory" / "emulated.yaml").profiles["kcloud-npu-v1"]
    healthy = parse_kernel_probe(probe_output("", {"aer_dev_correctable": "RxErr 3\nTOTAL_ERR_COR 3"}))
    verdict = judge_gate(healthy, profile)
    assert verdict.passed and verdict.reason == ""
    assert {m.name for m in verdict.measurements} >= {"kernel-aer-correctable", "kernel-aer-fatal"}
    stormy = judge_gate(parse_kernel_probe(captured()), profile)
    failed = {m.name for m in stormy.measurements if m.verdict is Outcome.FAIL}
    assert failed == {
        "kernel-aer-correctable",
        "kernel-aer-nonfatal",
        "kernel-machine-checks",
        "kernel-xid-devastating",
        "kernel-driver-errors",
    }
    assert not stormy.passed and "kernel-aer-correctable: " in stormy.reason
    # after a baseline, only the growth of correctable errors is judged
    assert judge_gate(
        KernelHealth(aer={BDF: {"correctable": 900}}), profile, KernelHealth(aer={BDF: {"correctable": 850}})
    ).passed

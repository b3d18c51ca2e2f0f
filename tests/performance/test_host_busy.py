"""A limit missed by a device computed on an oversubscribed controller is ERROR, not FAIL; a
figure refused for wrong outputs (no timing) stays FAIL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.inventory import load_inventory
from lab.performance.node_session import PerformanceSession
from lab.results import load_run
from lab.transport.fake import FakeTransport
from tests.conftest import make_node, profiles_with_settings
from tests.testbed_inventory import emulated_inventory, started_testbed

from .conftest import REPOSITORY, cpu_quiet


def _session(node_address: str, emulated: bool) -> PerformanceSession:
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    node = make_node(address=node_address, emulated=emulated, labels={"perf-backend": "emulated"})
    return PerformanceSession(FakeTransport(), node, inventory.catalog, inventory.profiles["kcloud-npu-v1"])


@pytest.mark.parametrize(
    ("address", "emulated", "pressure", "busy"),
    [
        ("192.0.2.7", True, 0.8, True),  # emulated on this machine, which was oversubscribed
        ("192.0.2.7", True, 0.2, False),  # below the profile's 0.5
        ("127.0.0.1", False, 0.8, True),  # a CPU reference node on this machine
        ("192.0.2.7", False, 0.95, False),  # a real remote node: its figures are its own
        ("192.0.2.7", True, None, False),  # no PSI on the host: nothing to say
    ],
)
def test_only_devices_sharing_a_busy_controller_are_excused(
    address: str, emulated: bool, pressure: float | None, busy: bool
) -> None:
    with _session(address, emulated) as perf:
        perf.worst_cpu_pressure = pressure
        reason = perf.host_busy_reason()
    assert (reason is not None) is busy
    if reason is not None:
        assert "80%" in reason and "host_busy_cpu_pressure" in reason


NODES = """\
nodes:
  - name: busy-hot
    accelerators: [{model: atom-plus, count: 2}]
    emulation:
      seed: 31
      faults:
        - {kind: thermal-runaway, device: 0, after_seconds: 0, parameters: {inlet_celsius: 5000}}
  - name: busy-wrong
    accelerators: [{model: rngd, count: 1}]
    emulation:
      seed: 32
      faults:
        - {kind: wrong-output, device: 0, after_seconds: 0}
"""


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/pressure/cpu").exists(), reason="this kernel has no PSI")
def test_a_miss_under_any_measured_pressure_is_inconclusive_when_the_profile_says_so(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A profile whose busy threshold is a hair above zero: any wait for a CPU during the run
    # (there is always some on a machine running this test suite) makes a miss inconclusive.
    profiles = profiles_with_settings(tmp_path / "profiles", host_busy_cpu_pressure=0.000001)
    inventory = emulated_inventory(
        "host-busy-test", NODES, command_timeout=None, profiles=profiles, defaults={"operator": "kt-cloud"}
    )
    with started_testbed(inventory, tmp_path) as testbed:
        command = [
            sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "performance"),
            "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(tmp_path / "run"),
            "--lab-perf-duration", "1", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q",
            "-k", "offline_throughput",
        ]  # fmt: skip
        with cpu_quiet(tmp_path_factory):
            done = subprocess.run(
                command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=False
            )
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-2000:]
    records = {record.device: record for record in load_run(tmp_path / "run").records}
    hot, healthy = records["rbln0"], records["rbln1"]
    # with a threshold of ~0 a miss can only be inconclusive; a pass stays a pass
    assert healthy.outcome is not Outcome.FAIL, healthy.reason
    if healthy.outcome is not Outcome.ERROR:
        assert all(m.verdict is healthy.outcome for m in healthy.measurements)
    pressure = hot.properties.get("host_cpu_pressure")
    assert isinstance(pressure, float), (hot.outcome, hot.reason, hot.error)
    if pressure <= 0.000001:
        pytest.skip("no task waited for a CPU during the run: the miss stands as a FAIL")
    assert hot.outcome is Outcome.ERROR, (hot.outcome, hot.reason)
    (measured,) = hot.measurements
    assert measured.verdict is Outcome.ERROR and measured.reason.startswith("inconclusive: the host")
    assert isinstance(measured.value, float)  # the figure is kept, only the verdict withheld
    # wrong outputs are wrong on any host: the refused figure is FAIL, never "inconclusive"
    wrong = records["npu0"]
    assert wrong.outcome is Outcome.FAIL, (wrong.outcome, wrong.reason, wrong.error)
    assert wrong.measurements[-1].reason.startswith("not certified: accuracy")

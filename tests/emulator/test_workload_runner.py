"""The npu-workload runner and the session API: results, ownership, faults, resets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from lab.emulator import defaults
from lab.emulator.reference import reference_checksum
from lab.emulator.runner import WorkloadSession
from lab.emulator.spec import FaultEntry
from lab.emulator.workload import WorkloadModel
from tests.emulator.helpers import EmulatedNode

MakeNode = Callable[..., EmulatedNode]


def wait_for_owner(node: EmulatedNode, deadline: float = 10.0) -> None:
    """Poll (bounded) until a workload owns device 0."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if "npu-workload" in node.tool("furiosa_smi", "ps", at=None).stdout:
            return
        time.sleep(0.05)
    raise AssertionError("the workload never claimed the device")


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_run_prints_a_result_matching_the_model(make_node: MakeNode) -> None:
    node = make_node("rngd", 1)
    result = node.run(
        "npu-workload",
        "run",
        "--device",
        "0",
        "--model",
        "resnet50",
        "--batch",
        "4",
        "--queries",
        "500",
        "--no-wait",
        at=10.0,
    )
    assert result.status == 0, result.stderr
    data = json.loads(result.stdout)
    model = WorkloadModel.for_device(node.spec.devices[0], "resnet50", 4, node.spec.seed)
    expected = [model.service_time(index) for index in range(500)]
    assert data["queries"] == 500 and data["samples"] == 2000
    assert data["latency_s"]["mean"] == pytest.approx(sum(expected) / 500, rel=1e-12)
    assert data["throughput_sps"] == pytest.approx(2000 / sum(expected), rel=1e-9)
    assert data["checksum"] == data["checksum"].strip() and len(data["checksum"]) == 16
    # the device counted the queries (one more for this tool read)
    with node.node_dir.transaction() as state:
        assert state.device(0).queries == 500


def test_throttled_card_is_slower_by_exactly_the_model_factor(make_node: MakeNode) -> None:
    node = make_node(
        "atom-plus", 1, faults=(FaultEntry(kind="thermal-runaway", device=0, after_seconds=0.0),)
    )
    # at t=900 s the failed cooling has long pushed the card past its slowdown temperature
    result = node.run(
        "npu-workload",
        "run",
        "--device",
        "0",
        "--model",
        "resnet50",
        "--batch",
        "1",
        "--queries",
        "200",
        "--no-wait",
        at=900.0,
    )
    data = json.loads(result.stdout)
    assert data["perf_factor_mean"] == pytest.approx(defaults.THROTTLE_CLOCK_FRACTION, rel=1e-12)
    model = WorkloadModel.for_device(node.spec.devices[0], "resnet50", 1, node.spec.seed)
    throttled = [model.service_time(index, defaults.THROTTLE_CLOCK_FRACTION) for index in range(200)]
    assert data["latency_s"]["mean"] == pytest.approx(sum(throttled) / 200, rel=1e-12)
    assert data["throughput_sps"] == pytest.approx(
        defaults.THROTTLE_CLOCK_FRACTION * 200 / sum(model.service_time(i) for i in range(200)), rel=1e-9
    )


def test_smoke_checksum_equals_the_controller_side_reference(make_node: MakeNode) -> None:
    node = make_node("rngd", 2, faults=(FaultEntry(kind="wrong-output", device=1),))
    good = node.run("npu-workload", "smoke", "--device", "0")
    bad = node.run("npu-workload", "smoke", "--device", "1")
    assert json.loads(good.stdout)["checksum"] == reference_checksum()
    assert json.loads(bad.stdout)["checksum"] != reference_checksum()


def test_second_workload_on_a_busy_device_is_refused_naming_the_owner(make_node: MakeNode) -> None:
    node = make_node("rngd", 2, time_scale=1.0)
    owner = subprocess.Popen(
        node.command("npu-workload", "run", "--device", "0", "--model", "resnet50", "--seconds", "30"),
        env=node.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_owner(node)
        second = node.run("npu-workload", "smoke", "--device", "0")
        assert second.status == 4
        assert f"device busy: npu0 is owned by pid {owner.pid}" in second.stderr
        assert node.run("npu-workload", "smoke", "--device", "1").status == 0  # other cards stay free
        # a killed owner cannot clean up: its stale claim is reclaimed
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        status = node.tool("furiosa_smi", "status", "--output", "json", at=None).json()
        npu0 = status[0]  # type: ignore[index]
        assert npu0["device"] == "npu0" and npu0["liveness"] == "alive"
        # the dead owner's claim is dropped
        assert {core["status"] for core in npu0["cores"]} == {"available"}
        assert node.run("npu-workload", "smoke", "--device", "0").status == 0
    finally:
        stop(owner)


def test_terminated_owner_releases_the_device_and_stops_heating(make_node: MakeNode) -> None:
    node = make_node("rngd", 1, time_scale=100.0, start_wall=time.time())
    owner = subprocess.Popen(
        node.command("npu-workload", "run", "--device", "0", "--model", "resnet50", "--seconds", "3000"),
        env=node.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_owner(node)
        owner.send_signal(signal.SIGTERM)
        assert owner.wait(timeout=10) == 128 + signal.SIGTERM
        assert node.tool("furiosa_smi", "ps", at=None).stdout.count("npu-workload") == 0
        with node.node_dir.transaction() as state:
            ((start, end, _),) = state.device(0).busy
        assert end < start + 3000.0  # the busy interval was cut at the kill
    finally:
        stop(owner)


def test_hung_device_blocks_the_workload_until_killed_and_a_reset_recovers(make_node: MakeNode) -> None:
    node = make_node("h100-pcie", 1, faults=(FaultEntry(kind="hang", device=0),))
    hung = subprocess.Popen(
        node.command(
            "npu-workload", "run", "--device", "0", "--model", "resnet50", "--queries", "10", "--no-wait"
        ),
        env=node.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            hung.wait(timeout=1.0)
        busy_reset = node.run("nvidia-smi", "-r", "-i", "0")
        assert busy_reset.status != 0 and "in use" in busy_reset.stderr
        hung.kill()
        hung.wait(timeout=10)
    finally:
        stop(hung)
    reset = node.run("nvidia-smi", "-r", "-i", "0")
    assert reset.status == 0 and "was successfully reset" in reset.stdout
    after = node.run(
        "npu-workload", "run", "--device", "0", "--model", "resnet50", "--queries", "10", "--no-wait"
    )
    assert after.status == 0, after.stderr


def test_device_that_fell_off_the_bus_cannot_run(make_node: MakeNode) -> None:
    node = make_node("rngd", 1, faults=(FaultEntry(kind="fell-off-bus", device=0),))
    result = node.run("npu-workload", "smoke", "--device", "0")
    assert result.status == 3 and "not on the PCI bus" in result.stderr


def test_bad_arguments_are_usage_errors_not_tracebacks(make_node: MakeNode) -> None:
    node = make_node("rngd", 1)
    for args in (
        ("run", "--device", "0", "--model", "resnet51", "--queries", "5"),
        ("run", "--device", "zero", "--model", "resnet50", "--queries", "5"),
        ("run", "--device", "0", "--model", "resnet50"),
        ("smoke", "--device", "9"),
    ):
        result = node.run("npu-workload", *args)
        assert result.status in (2, 3) and "Traceback" not in result.stderr, (args, result.stderr)


def test_session_api_for_a_loadgen_agent(make_node: MakeNode, monkeypatch: pytest.MonkeyPatch) -> None:
    node = make_node("rngd", 1)
    monkeypatch.setenv(defaults.TIME_ENV, "50.0")
    with WorkloadSession(node.node_dir, device=0, model="resnet50", batch=1) as session:
        timings = [session.next_query(at=50.0 + n * 0.01) for n in range(100)]
        owners = node.tool("furiosa_smi", "ps", at=50.0).stdout
        assert f"| {os.getpid()} | npu0:[0, 7] |" in owners  # the agent's process holds the device
    model = WorkloadModel.for_device(node.spec.devices[0], "resnet50", 1, node.spec.seed)
    assert [t.emulated_seconds for t in timings] == [model.service_time(i) for i in range(100)]
    assert all(t.wall_seconds == t.emulated_seconds for t in timings)  # time scale 1
    with node.node_dir.transaction() as state:
        # 100 inference queries plus the one read by furiosa-smi ps
        assert state.device(0).queries == 101 and state.device(0).owner is None


def test_rbln_reset_recovers_a_hung_die(make_node: MakeNode) -> None:
    node = make_node("atom-plus", 1, faults=(FaultEntry(kind="hang", device=0),))
    assert node.tool("rbln_smi", "--json", at=10.0).json()["devices"][0]["pstate"] == "P12"  # type: ignore[index]
    reset = node.tool("rbln_smi", "reset", "-d", "0", at=11.0)
    assert reset.status == 0 and "rbln0" in reset.stdout
    assert node.tool("rbln_smi", "--json", at=12.0).json()["devices"][0]["pstate"] == "P14"  # type: ignore[index]
    missing = node.tool("rbln_smi", "reset", "-d", "3", at=12.0)
    assert missing.status == 2 and "no such device" in missing.stderr


def test_runaway_card_reads_no_hotter_than_its_shutdown_limit(make_node: MakeNode) -> None:
    node = make_node("h100-pcie", 1, faults=(FaultEntry(kind="thermal-runaway"),))
    out = node.tool(
        "nvidia_smi",
        "--query-gpu=temperature.gpu,clocks_throttle_reasons.active",
        "--format=csv,noheader",
        at=3600.0,
    ).stdout
    temperature, reasons = out.strip().split(", ")
    assert defaults.SLOWDOWN_CELSIUS < int(temperature) <= defaults.SHUTDOWN_CELSIUS + 1
    assert int(reasons, 16) & 0x40


def test_nvidia_smi_lists_the_workload_as_a_compute_app(
    make_node: MakeNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = make_node("h100-pcie", 2)
    query = ("--query-compute-apps=gpu_bus_id,pid,process_name,used_memory", "--format=csv,noheader,nounits")
    assert node.tool("nvidia_smi", *query, at=5.0).stdout == ""
    monkeypatch.setenv(defaults.TIME_ENV, "5.0")
    with WorkloadSession(node.node_dir, device=1, model="resnet50", batch=1, command="npu-workload run"):
        listed = node.tool("nvidia_smi", *query, at=5.0).stdout
    assert listed == f"00000000:2A:00.0, {os.getpid()}, npu-workload, 16384\n"


def test_same_seed_and_times_give_the_same_workload_result(make_node: MakeNode) -> None:
    args = ("run", "--device", "0", "--model", "bert-large", "--batch", "2", "--queries", "300", "--no-wait")
    first, second = make_node("rngd", 1, seed=21), make_node("rngd", 1, seed=21)
    one = first.run("npu-workload", *args, at=120.0)
    two = second.run("npu-workload", *args, at=120.0)
    assert one.status == 0 and one.stdout == two.stdout
    other = make_node("rngd", 1, seed=22).run("npu-workload", *args, at=120.0)
    assert json.loads(other.stdout)["latency_s"] != json.loads(one.stdout)["latency_s"]

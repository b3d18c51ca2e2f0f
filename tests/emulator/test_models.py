"""Unit tests of the pure models: noise, thermal, workload, device readings, faults."""

from __future__ import annotations

import math

import pytest

from lab.emulator import defaults, noise
from lab.emulator.device import EmulatedDevice
from lab.emulator.faults import active_faults, note_queries
from lab.emulator.spec import FaultEntry, NodeSpec
from lab.emulator.state import DeviceRecord
from lab.emulator.thermal import ThermalModel
from lab.emulator.workload import UnknownModelError, WorkloadModel
from tests.emulator.helpers import device_spec, node_spec


def fresh_device(spec: NodeSpec, index: int = 0, record: DeviceRecord | None = None) -> EmulatedDevice:
    return EmulatedDevice(spec, spec.devices[index], record or DeviceRecord({}))


# --- noise -------------------------------------------------------------------------------


def test_noise_is_a_pure_function_of_seed_and_keys() -> None:
    assert noise.uniform(7, "temp", 0, 12) == noise.uniform(7, "temp", 0, 12)
    assert noise.uniform(7, "temp", 0, 12) != noise.uniform(8, "temp", 0, 12)
    assert noise.uniform(7, "temp", 0, 12) != noise.uniform(7, "temp", 0, 13)
    draws = [noise.normal(1, "n", i) for i in range(4000)]
    mean = sum(draws) / len(draws)
    spread = math.sqrt(sum((d - mean) ** 2 for d in draws) / len(draws))
    assert abs(mean) < 0.06 and abs(spread - 1.0) < 0.05


# --- thermal -----------------------------------------------------------------------------


def test_thermal_step_is_the_exact_first_order_solution() -> None:
    model = ThermalModel(resistance=0.25, time_constant=60.0)
    # one time constant closes 1 - 1/e of the gap
    assert model.step(0.0, 30.0, 60.0, 70.0) == pytest.approx(70.0 - 40.0 / math.e)
    assert model.time_to_reach(30.0, 50.0, 70.0) == pytest.approx(60.0 * math.log(2.0))
    assert model.time_to_reach(30.0, 80.0, 70.0) is None


def test_thermal_integration_over_segments_composes() -> None:
    model = ThermalModel(resistance=0.25, time_constant=60.0)

    def power(t: float) -> float:
        return 160.0 if 10.0 <= t < 70.0 else 20.0

    whole = model.integrate(0.0, 30.0, 100.0, [10.0, 70.0], power, lambda t: 25.0)
    first = model.step(0.0, 30.0, 10.0, 30.0)
    second = model.step(10.0, first, 70.0, 65.0)
    third = model.step(70.0, second, 100.0, 30.0)
    assert whole == pytest.approx(third)


# --- workload ----------------------------------------------------------------------------


def test_workload_ground_truth_matches_a_large_sample() -> None:
    model = WorkloadModel.for_device(device_spec("rngd", 0), "resnet50", batch=1, seed=3)
    samples = sorted(model.service_time(i) for i in range(20000))
    truth = model.ground_truth()
    assert sum(samples) / len(samples) == pytest.approx(truth.mean, rel=0.005)
    assert samples[int(0.9 * len(samples))] == pytest.approx(truth.p90, rel=0.01)
    assert samples[int(0.5 * len(samples))] == pytest.approx(truth.p50, rel=0.01)
    assert truth.p50 < truth.mean < truth.p90 < truth.p99
    assert truth.throughput == pytest.approx(1 / truth.mean)


def test_workload_scales_with_peak_batch_and_factor() -> None:
    rngd = WorkloadModel.for_device(device_spec("rngd", 0), "resnet50", batch=8, seed=3)
    warboy = WorkloadModel.for_device(device_spec("warboy", 0), "resnet50", batch=8, seed=3)
    assert rngd.ground_truth().throughput > 5 * warboy.ground_truth().throughput
    batch1 = WorkloadModel.for_device(device_spec("rngd", 0), "resnet50", batch=1, seed=3)
    assert rngd.ground_truth().throughput > batch1.ground_truth().throughput  # batching helps
    assert rngd.ground_truth(factor=0.6).throughput == pytest.approx(0.6 * rngd.ground_truth().throughput)
    assert rngd.service_time(5, factor=0.6) == pytest.approx(rngd.service_time(5) / 0.6)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(UnknownModelError, match="unknown model 'resnet51'"):
        WorkloadModel.for_device(device_spec("rngd", 0), "resnet51", batch=1, seed=0)


# --- device ------------------------------------------------------------------------------


def test_idle_card_sits_at_idle_power_and_steady_temperature() -> None:
    device = fresh_device(node_spec("rngd"))
    reading = device.read(100.0)
    idle = 40.0  # RNGD's recorded idle power (defaults.IDLE_POWER_WATTS), not 15 % of its 180 W
    assert reading.power == pytest.approx(idle, rel=defaults.POWER_NOISE_FRACTION)
    expected = 25.0 + defaults.FULL_LOAD_RISE_CELSIUS * idle / 180.0
    assert reading.temperature == pytest.approx(expected, abs=defaults.TEMPERATURE_NOISE_CELSIUS)
    assert reading.utilization == 0 and not reading.throttled and reading.present


def test_busy_card_heats_towards_full_load_steady_state() -> None:
    record = DeviceRecord({})
    device = fresh_device(node_spec("rngd"), record=record)
    device.record_busy(0.0, 1000.0, utilization=1.0)
    start = device.temperature_at(0.0)
    one_tau = device.temperature_at(defaults.THERMAL_TIME_CONSTANT_S)
    settled = device.temperature_at(900.0)
    assert settled == pytest.approx(25.0 + defaults.FULL_LOAD_RISE_CELSIUS, abs=0.01)
    assert one_tau == pytest.approx(settled - (settled - start) / math.e, abs=0.01)
    busy = device.read(500.0)
    assert busy.power == pytest.approx(180.0, rel=0.03) and busy.utilization > 0.9
    assert settled < defaults.SLOWDOWN_CELSIUS  # a healthy card does not throttle


def test_thermal_runaway_throttles_and_lowers_perf_exactly() -> None:
    fault = FaultEntry(kind="thermal-runaway", device=0, after_seconds=20.0)
    spec = node_spec("atom-plus", faults=(fault,))
    device, healthy = fresh_device(spec, 0), fresh_device(spec, 1)
    assert not device.read(19.0).throttled
    late = device.read(600.0)
    assert late.throttled and late.temperature > defaults.SLOWDOWN_CELSIUS
    assert late.clock_mhz == round(defaults.BASE_CLOCK_MHZ * defaults.THROTTLE_CLOCK_FRACTION)
    assert device.perf_factor_at(600.0) == defaults.THROTTLE_CLOCK_FRACTION
    assert healthy.perf_factor_at(600.0) == 1.0 and not healthy.read(600.0).throttled


def test_readings_are_deterministic_for_the_same_seed_and_time() -> None:
    first = fresh_device(node_spec("rngd", seed=11)).read(42.5)
    second = fresh_device(node_spec("rngd", seed=11)).read(42.5)
    other = fresh_device(node_spec("rngd", seed=12)).read(42.5)
    assert (first.temperature, first.power) == (second.temperature, second.power)
    assert (first.temperature, first.power) != (other.temperature, other.power)


def test_identity_is_deterministic_and_distinct_per_card() -> None:
    spec = node_spec("rngd", count=3)
    cards = [fresh_device(spec, index) for index in range(3)]
    assert len({card.uuid for card in cards}) == 3
    assert [card.pci_bdf() for card in cards] == ["0000:17:00.0", "0000:2a:00.0", "0000:3d:00.0"]
    assert cards[0].uuid == fresh_device(node_spec("rngd", count=3), 0).uuid
    assert cards[0].uuid != fresh_device(node_spec("rngd", count=3, name="emu-02"), 0).uuid


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        (
            FaultEntry(kind="pcie-degraded", parameters={"link": "Gen4 x8"}),
            lambda r: (r.pcie_generation, r.pcie_width) == (4, 8),
        ),
        (
            FaultEntry(kind="wrong-firmware", parameters={"version": "0.0.9+bad"}),
            lambda r: r.firmware == "0.0.9+bad",
        ),
        (FaultEntry(kind="ecc-uncorrectable", parameters={"count": 2}), lambda r: r.ecc_uncorrectable == 2),
        (
            FaultEntry(kind="ecc-correctable", parameters={"per_hour": 3600}),
            lambda r: r.ecc_correctable == 101,
        ),
        (FaultEntry(kind="fell-off-bus"), lambda r: not r.present),
        (FaultEntry(kind="hang"), lambda r: r.hung and r.utilization == 1.0),
        (FaultEntry(kind="wrong-output"), lambda r: r.wrong_output),
        (
            FaultEntry(kind="perf-degradation", parameters={"per_hour": 0.36}),
            lambda r: r.perf_factor == pytest.approx(0.99),
        ),
    ],
    ids=lambda value: getattr(value, "kind", ""),
)
def test_each_fault_changes_the_reading(fault: FaultEntry, check: object) -> None:
    spec = node_spec("rngd", faults=(fault,))
    assert check(fresh_device(spec).read(100.0))  # type: ignore[operator]
    healthy = fresh_device(node_spec("rngd")).read(100.0)
    assert not check(healthy)  # type: ignore[operator]


def test_query_triggered_fault_starts_when_the_count_is_reached() -> None:
    spec = node_spec("rngd", faults=(FaultEntry(kind="ecc-uncorrectable", device=0, after_queries=5),))
    record = DeviceRecord({})
    record.queries = 4
    note_queries(spec, 0, record, 10.0)
    assert active_faults(spec, 0, record, 10.0) == []
    record.queries = 5
    note_queries(spec, 0, record, 12.0)
    note_queries(spec, 0, record, 30.0)  # the start is recorded once
    (fault,) = active_faults(spec, 0, record, 12.0)
    assert fault.kind == "ecc-uncorrectable" and fault.start == 12.0


def test_reset_clears_a_hang_but_not_a_degraded_link() -> None:
    faults = (FaultEntry(kind="hang", after_seconds=5.0), FaultEntry(kind="pcie-degraded", after_seconds=5.0))
    record = DeviceRecord({})
    device = fresh_device(node_spec("rngd", faults=faults), record=record)
    assert device.read(10.0).hung
    record.resets.append(20.0)
    after = device.read(30.0)
    assert not after.hung and after.pcie_width == 8


def test_old_busy_intervals_fold_into_the_checkpoint_without_changing_temperature() -> None:
    spec = node_spec("rngd")
    folded, full = DeviceRecord({}), DeviceRecord({})
    folding, reference = fresh_device(spec, record=folded), fresh_device(spec, record=full)
    for n in range(80):
        start = n * 10.0
        folding.record_busy(start, start + 5.0, 1.0)
        full.busy.append([start, start + 5.0, 1.0])  # no folding: the exact history
    assert len(folded.busy) == 64 and folded.checkpoint is not None
    assert folding.temperature_at(805.0) == pytest.approx(reference.temperature_at(805.0), abs=1e-9)

"""NVIDIA: nvidia-smi --query-gpu CSV (real capture with units, [N/A], throttle mask, lost GPU)."""

from __future__ import annotations

import pytest
from device_captures import CAPTURED_NVIDIA_FIELDS, capture

from lab.devices.model import ThrottleReason
from lab.devices.nvidia import (
    QUERY_FIELDS,
    NvidiaSmiAdapter,
    decode_throttle_mask,
    parse_compute_apps,
    parse_query_gpu,
    query_arguments,
)
from lab.errors import CommandFailed, ToolOutputError
from lab.inventory.model import PcieLink
from lab.transport.fake import FakeTransport


def test_captured_csv_with_header_and_units_field_by_field() -> None:
    [gpu] = parse_query_gpu(capture("nvidia_smi_query_gpu_h100.csv"), CAPTURED_NVIDIA_FIELDS)
    assert (gpu.identity.index, gpu.identity.device) == (0, "0")
    assert gpu.identity.product == "NVIDIA H100 PCIe"
    assert gpu.identity.uuid == "GPU-5a1e…"
    assert gpu.identity.pci_bdf == "0000:17:00.0"  # nvidia prints an 8-digit domain
    assert gpu.versions.driver == "550.90.07"
    assert gpu.versions.firmware == "96.00.74.00.01"
    assert gpu.telemetry.temperature_celsius == 34.0
    assert gpu.telemetry.power_watts == pytest.approx(48.27)
    assert gpu.telemetry.power_limit_watts == pytest.approx(350.0)
    assert gpu.telemetry.memory_used_bytes == 1 * 2**20
    assert gpu.telemetry.memory_total_bytes == 81559 * 2**20
    assert gpu.telemetry.utilization_percent == 0.0
    assert gpu.telemetry.pstate == "P0"
    assert gpu.raw["pci.bus_id"] == "00000000:17:00.0"
    # Not in that query: None, not 0.
    assert gpu.link is None
    assert gpu.telemetry.throttle is None
    assert gpu.health.ecc_uncorrectable is None


def _row(**overrides: str) -> str:
    values = {
        "index": "0",
        "name": "NVIDIA H100 PCIe",
        "uuid": "GPU-5a1e0000-1111-2222-3333-444455556666",
        "serial": "1650923012345",
        "pci.bus_id": "00000000:17:00.0",
        "driver_version": "550.90.07",
        "vbios_version": "96.00.74.00.01",
        "temperature.gpu": "34",
        "power.draw": "48.27",
        "power.limit": "350.00",
        "memory.used": "1",
        "memory.total": "81559",
        "utilization.gpu": "0",
        "clocks.sm": "1755",
        "pstate": "P0",
        "pcie.link.gen.gpucurrent": "5",
        "pcie.link.width.current": "16",
        "pcie.replay_counter": "0",
        "ecc.errors.corrected.volatile.total": "0",
        "ecc.errors.uncorrected.volatile.total": "0",
        "clocks_throttle_reasons.active": "0x0000000000000000",
        "retired_pages.pending": "No",
    }
    values.update({key.replace("__", "."): value for key, value in overrides.items()})
    assert list(values) == list(QUERY_FIELDS)
    return ", ".join(values[field] for field in QUERY_FIELDS) + "\n"


def test_full_query_row_noheader_nounits() -> None:
    [gpu] = parse_query_gpu(_row())
    assert gpu.link == PcieLink(5, 16)
    assert gpu.telemetry.clock_mhz == 1755.0
    assert gpu.telemetry.throttle == frozenset()
    assert gpu.telemetry.throttled is False
    assert gpu.health.ecc_correctable == 0
    assert gpu.health.ecc_uncorrectable == 0
    assert gpu.health.retired_pages_pending is False
    assert gpu.health.alive is True
    assert gpu.identity.serial == gpu.identity.card_id == "1650923012345"


def test_not_available_and_not_supported_become_none() -> None:
    text = _row(
        serial="[N/A]",
        power__draw="[N/A]",
        ecc__errors__uncorrected__volatile__total="[Not Supported]",
        retired_pages__pending="[N/A]",
        pcie__link__gen__gpucurrent="[N/A]",
    )
    [gpu] = parse_query_gpu(text)
    assert gpu.identity.serial is None
    assert gpu.telemetry.power_watts is None
    assert gpu.health.ecc_uncorrectable is None
    assert gpu.health.retired_pages_pending is None
    assert gpu.link is None
    assert gpu.health.ecc_correctable == 0  # a real zero stays zero


@pytest.mark.parametrize("marker", ["[GPU is lost]", "[GPU requires reset]", "[Unknown Error]"])
def test_gpu_the_driver_cannot_read_is_reported_not_alive(marker: str) -> None:
    [gpu] = parse_query_gpu(_row(temperature__gpu=marker, power__draw=marker))
    assert gpu.health.alive is False
    assert gpu.health.status == marker
    assert gpu.telemetry.temperature_celsius is None
    assert gpu.telemetry.power_watts is None
    assert gpu.identity.product == "NVIDIA H100 PCIe"  # the row is still returned


def test_unknown_marker_is_a_tool_output_error() -> None:
    with pytest.raises(ToolOutputError, match="unexpected marker"):
        parse_query_gpu(_row(power__draw="[Insufficient Permissions]"))


def test_pcie_replays_are_a_pcie_error_counter() -> None:
    [gpu] = parse_query_gpu(_row(pcie__replay_counter="81"))
    assert dict(gpu.health.pcie_errors or {}) == {"replay_counter": 81}


@pytest.mark.parametrize(
    ("mask", "reasons"),
    [
        ("0x0000000000000000", set()),
        ("0x0000000000000001", {ThrottleReason.GPU_IDLE}),
        ("0x0000000000000020", {ThrottleReason.SW_THERMAL}),
        ("0x0000000000000040", {ThrottleReason.HW_THERMAL}),
        ("0x0000000000000080", {ThrottleReason.HW_POWER_BRAKE}),
        (
            "0x00000000000000E4",
            {
                ThrottleReason.SW_POWER_CAP,
                ThrottleReason.SW_THERMAL,
                ThrottleReason.HW_THERMAL,
                ThrottleReason.HW_POWER_BRAKE,
            },
        ),
        ("0x0000000000001000", {ThrottleReason.UNKNOWN}),
    ],
)
def test_throttle_mask_decoding(mask: str, reasons: set[ThrottleReason]) -> None:
    assert decode_throttle_mask(mask) == reasons


def test_thermal_throttle_is_visible_in_the_report() -> None:
    [gpu] = parse_query_gpu(_row(clocks_throttle_reasons__active="0x0000000000000040"))
    assert gpu.telemetry.thermally_throttled is True
    [idle] = parse_query_gpu(_row(clocks_throttle_reasons__active="0x0000000000000001"))
    assert idle.telemetry.throttled is False  # idle is not a slowdown


@pytest.mark.parametrize("mask", ["64", "0x", "0xZZ", "0x00000000000000000040"])
def test_malformed_mask_is_refused(mask: str) -> None:
    with pytest.raises(ToolOutputError, match="hex mask"):
        parse_query_gpu(_row(clocks_throttle_reasons__active=mask))


def test_row_with_a_missing_column_is_refused() -> None:
    text = _row().replace(", P0,", ",")
    with pytest.raises(ToolOutputError, match="values, expected 22"):
        parse_query_gpu(text)


def test_header_naming_other_fields_is_refused() -> None:
    text = capture("nvidia_smi_query_gpu_h100.csv").replace("vbios_version", "vbios")
    with pytest.raises(ToolOutputError, match="header names"):
        parse_query_gpu(text, CAPTURED_NVIDIA_FIELDS)


def test_adapter_asks_for_the_field_list_once_as_arguments(fake: FakeTransport) -> None:
    two_gpus = _row() + _row(index="1", uuid="GPU-2", pci__bus_id="00000000:2A:00.0")
    fake.reply(["nvidia-smi", *query_arguments(QUERY_FIELDS)], stdout=two_gpus)
    gpus = NvidiaSmiAdapter(fake).list_devices()
    assert [g.identity.pci_bdf for g in gpus] == ["0000:17:00.0", "0000:2a:00.0"]
    assert fake.calls == [
        "nvidia-smi --query-gpu=" + ",".join(QUERY_FIELDS) + " --format=csv,noheader,nounits"
    ]


def test_compute_apps_map_to_gpu_index(fake: FakeTransport) -> None:
    fake.reply(["nvidia-smi", *query_arguments(QUERY_FIELDS)], stdout=_row(index="3", uuid="GPU-abc"))
    fake.reply_matching(r"--query-compute-apps", stdout="GPU-abc, 4242, python3, 1024\n")
    [app] = NvidiaSmiAdapter(fake).processes()
    assert (app.device_index, app.pid, app.name, app.memory_bytes) == (3, 4242, "python3", 1024 * 2**20)


def test_compute_app_on_an_unlisted_gpu_is_refused() -> None:
    with pytest.raises(ToolOutputError, match="did not list"):
        parse_compute_apps("GPU-zzz, 1, x, 1\n", {"GPU-abc": 0})


def test_no_devices_found_is_an_empty_list_not_an_error(fake: FakeTransport) -> None:
    fake.reply_matching(r"^nvidia-smi --query-gpu", stdout="No devices were found\n", exit_status=6)
    assert NvidiaSmiAdapter(fake).list_devices() == ()


def test_other_failures_are_command_failed(fake: FakeTransport) -> None:
    fake.reply_matching(
        r"^nvidia-smi --query-gpu",
        stdout="NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
        exit_status=9,
    )
    with pytest.raises(CommandFailed, match="couldn't communicate"):
        NvidiaSmiAdapter(fake).list_devices()


def test_reset_runs_gpu_reset_for_that_index(fake: FakeTransport) -> None:
    fake.reply(
        ["nvidia-smi", "--gpu-reset", "-i", "2"], stdout="GPU 00000000:3D:00.0 was successfully reset.\n"
    )
    adapter = NvidiaSmiAdapter(fake)
    assert adapter.supports_reset
    assert "successfully reset" in adapter.reset(2)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("index", "-1", "non-negative"),
        ("ecc__errors__uncorrected__volatile__total", "-3", "non-negative"),
        ("name", "[N/A]", "name: not reported"),
        ("pstate", "Pmax", "expected P<number>"),
        ("retired_pages__pending", "Maybe", "expected Yes or No"),
        ("pcie__link__gen__gpucurrent", "7", "not between 1 and 6"),
    ],
)
def test_impossible_values_are_tool_output_errors(field: str, value: str, message: str) -> None:
    with pytest.raises(ToolOutputError, match=message):
        parse_query_gpu(_row(**{field: value}))

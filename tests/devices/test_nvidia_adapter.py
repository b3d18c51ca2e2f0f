"""NVIDIA: nvidia-smi --query-gpu CSV (real capture with units, [N/A], throttle mask, lost GPU)."""

from __future__ import annotations

import pytest
from device_captures import CAPTURED_NVIDIA_FIELDS, capture

from lab.devices.model import ThrottleReason
from lab.devices.nvidia import (
    QUERY_FIELDS,
    NvidiaSmiAdapter,
    choose_fields,
    decode_throttle_mask,
    parse_compute_apps,
    parse_help_query_gpu,
    parse_query_gpu,
    parse_remapped_rows,
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


def _help(fake: FakeTransport, fields: tuple[str, ...] = QUERY_FIELDS) -> None:
    """A ``--help-query-gpu`` listing ``fields``, in the real help's line format."""
    text = 'List of valid properties to query for the switch "--query-gpu":\n\n'
    text += "".join(f'"{field}"\nWhat {field} is.\n\n' for field in fields)
    fake.reply(["nvidia-smi", "--help-query-gpu"], stdout=text)


def test_adapter_probes_the_fields_then_asks_for_them_once_as_arguments(fake: FakeTransport) -> None:
    _help(fake)
    two_gpus = _row() + _row(index="1", uuid="GPU-2", pci__bus_id="00000000:2A:00.0")
    fake.reply(["nvidia-smi", *query_arguments(QUERY_FIELDS)], stdout=two_gpus)
    adapter = NvidiaSmiAdapter(fake)
    gpus = adapter.list_devices()
    assert [g.identity.pci_bdf for g in gpus] == ["0000:17:00.0", "0000:2a:00.0"]
    assert fake.calls[:2] == [
        "nvidia-smi --help-query-gpu",
        "nvidia-smi --query-gpu=" + ",".join(QUERY_FIELDS) + " --format=csv,noheader,nounits",
    ]
    # A driver without row remapping refuses that query: the fields stay None, nothing fails.
    assert fake.calls[2].startswith("nvidia-smi --query-remapped-rows=")
    assert gpus[0].health.remapped_rows_pending is None
    adapter.list_devices()
    assert fake.calls.count("nvidia-smi --help-query-gpu") == 1  # probed once per adapter


def test_compute_apps_map_to_gpu_index(fake: FakeTransport) -> None:
    _help(fake)
    fake.reply(["nvidia-smi", *query_arguments(QUERY_FIELDS)], stdout=_row(index="3", uuid="GPU-abc"))
    fake.reply_matching(r"--query-compute-apps", stdout="GPU-abc, 4242, python3, 1024\n")
    [app] = NvidiaSmiAdapter(fake).processes()
    assert (app.device_index, app.pid, app.name, app.memory_bytes) == (3, 4242, "python3", 1024 * 2**20)


def test_compute_app_on_an_unlisted_gpu_is_refused() -> None:
    with pytest.raises(ToolOutputError, match="did not list"):
        parse_compute_apps("GPU-zzz, 1, x, 1\n", {"GPU-abc": 0})


def test_no_devices_found_is_an_empty_list_not_an_error(fake: FakeTransport) -> None:
    _help(fake)
    fake.reply_matching(r"^nvidia-smi --query-gpu", stdout="No devices were found\n", exit_status=6)
    assert NvidiaSmiAdapter(fake).list_devices() == ()


def test_other_failures_are_command_failed(fake: FakeTransport) -> None:
    _help(fake)
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


# --- fields probed with --help-query-gpu ------------------------------------------------------------


def test_help_of_driver_535_lists_no_pcie_replay_counter_so_it_is_not_asked() -> None:
    # captures/nvidia_smi_help_query_gpu_535.txt: the whole --help-query-gpu of driver 535.129.03.
    supported = parse_help_query_gpu(capture("nvidia_smi_help_query_gpu_535.txt"))
    assert {"index", "name", "clocks_event_reasons.active", "clocks_throttle_reasons.active"} <= supported
    assert "gpu_name" in supported and "clocks.current.sm" in supported  # aliases count
    fields = choose_fields(supported)
    assert "pcie.replay_counter" not in fields  # asking it would fail the whole query
    assert fields == tuple(field for field in QUERY_FIELDS if field != "pcie.replay_counter")


def test_a_driver_that_renamed_a_field_is_asked_the_new_name(fake: FakeTransport) -> None:
    newer = tuple(
        "clocks_event_reasons.active" if field == "clocks_throttle_reasons.active" else field
        for field in QUERY_FIELDS
        if field != "pcie.replay_counter"
    )
    _help(fake, newer)
    row = _row(clocks_throttle_reasons__active="0x0000000000000040")
    fields_asked = [field for field in QUERY_FIELDS if field != "pcie.replay_counter"]
    cells = dict(zip(QUERY_FIELDS, row.strip().split(", "), strict=True))
    fake.reply(
        ["nvidia-smi", *query_arguments(newer)], stdout=", ".join(cells[f] for f in fields_asked) + "\n"
    )
    [gpu] = NvidiaSmiAdapter(fake).list_devices()
    assert gpu.telemetry.throttle == frozenset({ThrottleReason.HW_THERMAL})
    assert gpu.health.pcie_errors is None  # not asked: not reported, never 0
    assert "clocks_event_reasons.active" in fake.calls[1]


def test_help_without_a_required_field_or_without_fields_is_a_tool_output_error() -> None:
    with pytest.raises(ToolOutputError, match="required fields \\['index'\\]"):
        choose_fields(frozenset({"name", "uuid"}))
    with pytest.raises(ToolOutputError, match="lists no field"):
        parse_help_query_gpu("nvidia-smi: command line parse error\n")


# --- remapped rows (A100/H100-class) ------------------------------------------------------------------


def test_remapped_rows_are_read_per_gpu(fake: FakeTransport) -> None:
    _help(fake)
    fake.reply(["nvidia-smi", *query_arguments(QUERY_FIELDS)], stdout=_row(uuid="GPU-abc"))
    fake.reply_matching(r"--query-remapped-rows=", stdout="GPU-abc, 0, 2, 1, 0\n")
    [gpu] = NvidiaSmiAdapter(fake).list_devices()
    assert fake.calls[2] == (
        "nvidia-smi --query-remapped-rows=gpu_uuid,remapped_rows.correctable,remapped_rows.uncorrectable,"
        "remapped_rows.pending,remapped_rows.failure --format=csv,noheader,nounits"
    )
    assert gpu.health.remapped_rows_uncorrectable == 2
    assert gpu.health.remapped_rows_correctable == 0
    assert gpu.health.remapped_rows_pending is True
    assert gpu.health.remapped_rows_failure is False
    assert (gpu.health.error_counters or {})["remapped_rows.uncorrectable"] == 2


def test_remapped_rows_yes_no_and_not_available() -> None:
    rows = parse_remapped_rows("GPU-a, 0, 0, No, Yes\nGPU-b, [N/A], [N/A], [N/A], [N/A]\n")
    assert rows["GPU-a"].failure is True and rows["GPU-a"].pending is False
    assert "GPU-b" not in rows  # no row remapping on that GPU: its fields stay None


@pytest.mark.parametrize(
    ("text", "message"),
    [("GPU-a, 0, 0, maybe, 0\n", "expected 0/1 or Yes/No"), ("GPU-a, -1, 0, 0, 0\n", "correctable")],
)
def test_remapped_rows_it_cannot_interpret_are_tool_output_errors(text: str, message: str) -> None:
    with pytest.raises(ToolOutputError, match=message):
        parse_remapped_rows(text)

"""FuriosaAI: furiosa-smi (RNGD) and furiosactl (Warboy), from real captures and scripted JSON."""

from __future__ import annotations

import json

import pytest
from device_captures import capture

from lab.devices.furiosa import (
    FuriosactlAdapter,
    FuriosaSmiAdapter,
    parse_furiosa_smi_json,
    parse_furiosa_smi_ps,
    parse_furiosa_smi_status,
    parse_furiosa_smi_status_json,
    parse_furiosa_smi_table,
    parse_furiosactl_table,
)
from lab.errors import CommandFailed, CommandTimeout, ToolOutputError
from lab.inventory.model import PcieLink
from lab.transport.fake import FakeTransport


def test_captured_rngd_table_field_by_field() -> None:
    [npu0] = parse_furiosa_smi_table(capture("furiosa_smi_info_rngd.txt"))
    assert npu0.tool == "furiosa-smi"
    assert npu0.identity.index == 0
    assert npu0.identity.device == "npu0"
    assert npu0.identity.product == "rngd"
    assert npu0.identity.pci_bdf == "0000:17:00.0"
    assert npu0.versions.firmware == "0.0.15+af1daaa"
    assert npu0.telemetry.temperature_celsius == pytest.approx(30.18)
    assert npu0.telemetry.power_watts == pytest.approx(53.00)
    assert npu0.raw["Temp."] == "30.18°C"
    # The table reports none of these: they stay None, never 0.
    assert npu0.link is None
    assert npu0.telemetry.utilization_percent is None
    assert npu0.health.alive is None
    assert npu0.identity.serial is None


def test_captured_warboy_table_field_by_field() -> None:
    [npu1] = parse_furiosactl_table(capture("furiosactl_info_warboy.txt"))
    assert npu1.tool == "furiosactl"
    assert (npu1.identity.index, npu1.identity.device, npu1.identity.product) == (1, "npu1", "warboy")
    assert npu1.versions.firmware == "1.6.0, 3c10fd3"
    assert npu1.telemetry.temperature_celsius == 54.0
    assert npu1.telemetry.power_watts == pytest.approx(0.99)
    assert npu1.identity.pci_bdf == "0000:44:00.0"


def test_newer_table_with_pert_and_full_columns() -> None:
    text = (
        "+------+--------+------------------+------------------+-----+---------+---------+--------------+\n"
        "| Arch | Device | Firmware         | PERT             | S/N | Temp.   | Power   | PCI-BDF      |\n"
        "+------+--------+------------------+------------------+-----+---------+---------+--------------+\n"
        "| rngd | npu0   | 2025.1.0+696efad | 2025.1.0+1694e18 | R01 | 29.81°C | 35.00 W | 0000:30:00.0 |\n"
        "+------+--------+------------------+------------------+-----+---------+---------+--------------+\n"
    )
    [npu0] = parse_furiosa_smi_table(text)
    assert npu0.versions.runtime == "2025.1.0+1694e18"
    assert npu0.identity.serial == "R01"
    assert npu0.identity.card_id == "R01"


def test_table_missing_a_required_column_is_refused_an_added_one_is_kept_raw() -> None:
    text = capture("furiosa_smi_info_rngd.txt").replace("| Power   |", "| Volts   |")
    with pytest.raises(ToolOutputError, match=r"missing \['Power'\]") as caught:
        parse_furiosa_smi_table(text)
    assert caught.value.raw == text
    assert caught.value.tool == "furiosa-smi"
    # A column a newer release adds is not interpreted (no guessed meaning) but kept as printed.
    added = capture("furiosa_smi_info_rngd.txt").replace("| Firmware       |", "| Governor       |")
    [npu0] = parse_furiosa_smi_table(added)
    assert npu0.raw["Governor"] == "0.0.15+af1daaa"
    assert npu0.versions.firmware is None


RNGD_JSON = [
    {
        "arch": "rngd",
        "dev_name": "npu0",
        "device_uuid": "A4C0E1D2-0000-4000-8000-000000000000",
        "device_sn": "RNGD0000001",
        "firmware": "0.0.15+af1daaa",
        "pert": "0.0.15+1694e18",
        "temperature": "30.18°C",
        "power": "53.00 W",
        "pci_bdf": "0000:17:00.0",
        "pci_dev": "234:0",
    },
    {
        "arch": "rngd",
        "dev_name": "npu1",
        "device_uuid": "A4C0E1D2-0000-4000-8000-000000000001",
        "device_sn": "RNGD0000002",
        "firmware": "0.0.15+af1daaa",
        "pert": "0.0.15+1694e18",
        "temperature": 41.5,
        "power": 120,
        "pci_bdf": "0000:2a:00.0",
        "pci_dev": "235:0",
        "liveness": "dead",
        "throttled": True,
        "pcie_link": "Gen4 x8",
        "error_info": {
            "axi_post_error": 0,
            "pcie_post_error": 3,
            "ecc_correctable_error": 7,
            "device_error": 1,
        },
    },
]


def test_json_reports_with_strings_numbers_and_optional_health() -> None:
    npu0, npu1 = parse_furiosa_smi_json(json.dumps(RNGD_JSON))
    assert npu0.identity.uuid == "A4C0E1D2-0000-4000-8000-000000000000"
    assert npu0.identity.serial == "RNGD0000001"
    assert npu0.telemetry.temperature_celsius == pytest.approx(30.18)
    assert npu0.telemetry.power_watts == 53.0
    assert npu0.versions.runtime == "0.0.15+1694e18"
    # The real tool's keys only: health stays unknown, not "healthy".
    assert npu0.link is None and npu0.health.alive is None and npu0.health.pcie_errors is None
    assert npu0.telemetry.throttle is None and npu0.health.ecc_correctable is None
    assert npu1.telemetry.temperature_celsius == 41.5
    assert npu1.telemetry.power_watts == 120.0
    assert npu1.link == PcieLink(4, 8)
    assert npu1.health.alive is False
    assert npu1.telemetry.thermally_throttled is True
    assert npu1.health.ecc_correctable == 7
    assert npu1.health.ecc_uncorrectable is None  # no such counter printed
    assert dict(npu1.health.pcie_errors or {}) == {"pcie_post_error": 3}
    assert dict(npu1.health.error_counters or {}) == {
        "axi_post_error": 0,
        "device_error": 1,
        "ecc_correctable_error": 7,
        "pcie_post_error": 3,
    }


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda d: d.pop("dev_name"), "key 'dev_name' missing"),
        (lambda d: d.update(temperature="hot"), "temperature"),
        (lambda d: d.update(power=True), "expected a number or a string"),
        (lambda d: d.update(pci_bdf="17-00-0"), "PCI address"),
        (lambda d: d.update(pcie_link="PCIe 5 x16"), "expected 'Gen<N> x<W>'"),
        (lambda d: d.update(pcie_link="Gen5 x17"), "not a PCIe link width"),
        (lambda d: d.update(liveness="zombie"), "expected alive or dead"),
        (lambda d: d.update(throttled="yes"), "expected true or false"),
        (lambda d: d.update(error_info={"pcie_post_error": "many"}), "expected an integer"),
        (lambda d: d.update(error_info={"pcie_post_error": -1}), "expected a non-negative integer"),
    ],
)
def test_json_shape_errors_name_the_field(mutation: object, message: str) -> None:
    document = json.loads(json.dumps(RNGD_JSON[:1]))
    mutation(document[0])  # type: ignore[operator]
    with pytest.raises(ToolOutputError, match=message):
        parse_furiosa_smi_json(json.dumps(document))


STATUS = (
    "+------+--------+----------+------------------+------------------+-----------------------+\n"
    "| Arch | Device | Liveness | Cores            | Core Utilization | DRAM Used / Total     |\n"
    "+------+--------+----------+------------------+------------------+-----------------------+\n"
    "| rngd | npu0   | alive    | 0-7 (occupied)   | 97.0%            | 9.60 GiB / 48.00 GiB  |\n"
    "| rngd | npu1   | alive    | 0-7 (free)       | 0.0%             | 0.19 GiB / 48.00 GiB  |\n"
    "+------+--------+----------+------------------+------------------+-----------------------+\n"
)


def refuse_output_flag(fake: FakeTransport) -> None:
    """An older furiosa-smi: ``--output`` is a usage error (exit 2), as clap reports it."""
    fake.reply_matching(
        r"^furiosa-smi \S+ --output json$",
        exit_status=2,
        stderr="error: unexpected argument '--output' found\n",
    )


def test_adapter_runs_info_json_then_status_as_argument_lists(fake: FakeTransport) -> None:
    refuse_output_flag(fake)
    fake.reply(["furiosa-smi", "info", "--format", "json"], stdout=json.dumps(RNGD_JSON))
    fake.reply(["furiosa-smi", "status"], stdout=STATUS)
    npu0, npu1 = FuriosaSmiAdapter(fake).list_devices()
    # An older furiosa-smi refuses --output: the adapter asks --format and reads the status table.
    assert fake.calls == [
        "furiosa-smi info --output json",
        "furiosa-smi info --format json",
        "furiosa-smi status",
    ]
    assert npu0.telemetry.utilization_percent == 97.0
    assert npu0.telemetry.memory_used_bytes == round(9.6 * 2**30)
    assert npu0.telemetry.memory_total_bytes == 48 * 2**30
    assert npu0.raw["dram"] == "9.60 GiB / 48.00 GiB"
    assert npu0.health.alive is True  # from status: info had no liveness
    assert npu1.health.alive is False  # info said dead: status "alive" does not overrule it
    assert npu1.telemetry.utilization_percent == 0.0


def test_status_can_be_skipped_and_missing_rows_leave_fields_none(fake: FakeTransport) -> None:
    refuse_output_flag(fake)
    fake.reply(["furiosa-smi", "info", "--format", "json"], stdout=json.dumps(RNGD_JSON))
    npu0, _ = FuriosaSmiAdapter(fake, with_status=False).list_devices()
    assert npu0.telemetry.utilization_percent is None
    assert fake.calls == ["furiosa-smi info --output json", "furiosa-smi info --format json"]
    only_npu1 = "\n".join(line for line in STATUS.splitlines() if "npu0" not in line) + "\n"
    fake.reply(["furiosa-smi", "status"], stdout=only_npu1)
    npu0, npu1 = FuriosaSmiAdapter(fake).list_devices()
    assert npu0.telemetry.utilization_percent is None and npu1.telemetry.utilization_percent == 0.0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("| alive    | 0-7 (occupied)", "| zombie   | 0-7 (occupied)", "expected alive or dead"),
        ("97.0%", "970.%", "outside 0..100"),
        ("9.60 GiB / 48.00 GiB ", "9.60 GiB of 48.0 GiB", "expected 'used / total'"),
        ("| npu1   |", "| npu0   |", "listed twice"),
    ],
)
def test_malformed_status_is_a_tool_output_error(old: str, new: str, message: str) -> None:
    assert old in STATUS
    with pytest.raises(ToolOutputError, match=message):
        parse_furiosa_smi_status(STATUS.replace(old, new))


def test_furiosactl_adapter_reads_the_table(fake: FakeTransport) -> None:
    fake.reply(["furiosactl", "info"], stdout=capture("furiosactl_info_warboy.txt"))
    [report] = FuriosactlAdapter(fake).list_devices()
    assert report.identity.product == "warboy"


def test_non_zero_exit_is_command_failed_with_stderr(fake: FakeTransport) -> None:
    fake.reply(
        ["furiosa-smi", "info", "--output", "json"], exit_status=1, stderr="error: driver not loaded\n"
    )
    with pytest.raises(CommandFailed, match="driver not loaded") as caught:
        FuriosaSmiAdapter(fake).list_devices()
    assert caught.value.result.exit_status == 1
    assert fake.calls == ["furiosa-smi info --output json"]  # not a usage error: no second guess


def test_missing_tool_is_command_failed(fake: FakeTransport) -> None:
    with pytest.raises(CommandFailed, match="command not found"):
        FuriosactlAdapter(fake).list_devices()


def test_hung_tool_is_a_timeout_with_the_adapter_deadline(fake: FakeTransport) -> None:
    fake.reply(["furiosa-smi", "info", "--output", "json"], hang=True)
    with pytest.raises(CommandTimeout, match="5 s deadline"):
        FuriosaSmiAdapter(fake, timeout=5).list_devices()


def test_empty_device_list_is_not_an_error(fake: FakeTransport) -> None:
    refuse_output_flag(fake)
    fake.reply(["furiosa-smi", "info", "--format", "json"], stdout="[]\n")
    assert FuriosaSmiAdapter(fake).list_devices() == ()
    # no status query for no devices
    assert fake.calls == ["furiosa-smi info --output json", "furiosa-smi info --format json"]


def test_ps_lists_owners_and_empty_output_means_none() -> None:
    text = (
        "+-----------+--------+------------------------------+\n"
        "| NPU       | PID    | CMD                          |\n"
        "+-----------+--------+------------------------------+\n"
        "| npu0pe0-1 | 132529 | python3 serve.py --model x   |\n"
        "+-----------+--------+------------------------------+\n"
    )
    [owner] = parse_furiosa_smi_ps(text)
    assert (owner.device_index, owner.pid, owner.name) == (0, 132529, "python3 serve.py --model x")
    assert parse_furiosa_smi_ps("") == ()


# --- current releases: --output json (key names as lablup/all-smi's furiosa reader takes them) ----

CURRENT_INFO = [
    {
        "index": "0",
        "arch": "RNGD",
        "dev_name": "npu0",
        "device_uuid": "8EAE95DA-2625-40D0-8838-68EA772193A8",
        "device_sn": "RNGD000002",
        "firmware": "2026.3.0, 2d3f72a",
        "temperature": "40.98°C",
        "power": "38 W",
        "core_clock": "1000 MHz",
        "governor": "OnDemand",
        "pci_bdf": "0000:03:00.0",
        "pci_dev": "510:0",
    }
]
CURRENT_STATUS = [
    {
        "arch": "RNGD",
        "device": "npu0",
        "liveness": "alive",
        "cores": [{"idx": core, "status": "occupied" if core < 4 else "available"} for core in range(8)],
        "pe_utilizations": [
            {"pe_core": core, "pe_utilization": 80.0 if core < 4 else 0.0} for core in range(8)
        ],
        "memory": {"dram": {"used_size": 12 * 2**30, "total_size": 48 * 2**30, "used_ratio": 0.25}},
    }
]


def test_current_tool_is_read_with_output_json_for_info_and_status(fake: FakeTransport) -> None:
    fake.reply(["furiosa-smi", "info", "--output", "json"], stdout=json.dumps(CURRENT_INFO))
    fake.reply(["furiosa-smi", "status", "--output", "json"], stdout=json.dumps(CURRENT_STATUS))
    [npu0] = FuriosaSmiAdapter(fake).list_devices()
    assert fake.calls == ["furiosa-smi info --output json", "furiosa-smi status --output json"]
    assert npu0.identity.product == "RNGD"
    assert npu0.versions.firmware == "2026.3.0, 2d3f72a"
    assert npu0.telemetry.power_watts == 38.0
    assert npu0.telemetry.clock_mhz == 1000.0
    assert npu0.raw["governor"] == "OnDemand"
    assert npu0.telemetry.utilization_percent == 40.0  # four of eight PEs at 80 %
    assert npu0.telemetry.memory_used_bytes == 12 * 2**30
    assert npu0.telemetry.memory_total_bytes == 48 * 2**30
    assert npu0.health.alive is True
    assert npu0.raw["cores"].startswith("0 (occupied), 1 (occupied)")


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda d: d.update(liveness="zombie"), "expected alive or dead"),
        (lambda d: d["pe_utilizations"][0].update(pe_utilization=101.0), "outside 0..100"),
        (lambda d: d["cores"][0].update(status="melted"), "unknown core state"),
        (lambda d: d.pop("pe_utilizations"), "key 'pe_utilizations' missing"),
        (lambda d: d["memory"]["dram"].update(used_size=-1), "non-negative"),
    ],
)
def test_status_json_it_cannot_interpret_is_a_tool_output_error(mutation: object, message: str) -> None:
    document = json.loads(json.dumps(CURRENT_STATUS))
    mutation(document[0])  # type: ignore[operator]
    with pytest.raises(ToolOutputError, match=message):
        parse_furiosa_smi_status_json(json.dumps(document))


def test_info_index_that_disagrees_with_the_device_name_is_refused() -> None:
    document = [dict(CURRENT_INFO[0], index="3")]
    with pytest.raises(ToolOutputError, match="does not match dev_name"):
        parse_furiosa_smi_json(json.dumps(document))

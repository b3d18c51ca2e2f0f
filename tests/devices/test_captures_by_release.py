"""One test per captured output of captures/README.md's "by release" table: older and current
layouts of furiosa-smi, furiosactl and rbln-smi, each checked field by field.

The layouts differ in ways the vendors vary between releases (a Liveness column, a per-core
cell printed over eight lines, ``npu0pe0-3`` against ``npu0:[0, 7]``, ``RNGD`` against
``rngd``, ``38 W`` against ``53.00 W``, ``1.7.0, 4dfed1852e7b`` against ``0.0.15+af1daaa``);
each capture is what the vendor's public documentation prints.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from device_captures import capture

from lab.devices.furiosa import (
    parse_furiosa_smi_ps,
    parse_furiosa_smi_status,
    parse_furiosa_smi_table,
    parse_furiosa_smi_topo,
    parse_furiosactl_table,
)
from lab.devices.model import DeviceProcess, same_product
from lab.devices.rebellions import parse_rbln_smi_table
from lab.errors import ToolOutputError
from lab.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]

# --- furiosa-smi info ---------------------------------------------------------------------------


def test_info_stable_docs_upper_case_arch_integer_watts_and_comma_firmware() -> None:
    npu0, npu1 = parse_furiosa_smi_table(capture("furiosa_smi_info_rngd_stable.txt"))
    assert npu0.identity.product == "RNGD"
    assert same_product(npu0.identity.product, "rngd")  # the catalog's name, whatever the case
    assert npu0.versions.firmware == "1.7.0, 4dfed1852e7b"  # the newer form, kept as printed
    assert npu0.telemetry.power_watts == 38.0  # " 38 W"
    assert npu0.telemetry.temperature_celsius == pytest.approx(40.98)
    assert (npu1.identity.index, npu1.identity.pci_bdf) == (1, "0000:04:00.0")
    assert npu1.telemetry.power_watts == 37.0


def test_info_format_full_2024_2_four_cards_clock_not_available() -> None:
    reports = parse_furiosa_smi_table(capture("furiosa_smi_info_full_rngd_2024_2.txt"))
    assert [r.identity.device for r in reports] == ["npu0", "npu1", "npu2", "npu3"]
    npu2 = reports[2]
    assert npu2.identity.uuid == "B45DF4F9-AA6C-447B-85AF-146DB0B9B31B"
    assert npu2.identity.serial == npu2.identity.card_id == "RNGD000128"
    assert npu2.versions.firmware == "0.0.21+d6cada3"
    assert npu2.telemetry.clock_mhz is None  # "N/A": not reported, never 0
    assert npu2.raw["PCI-DEV"] == "504:0"


def test_info_2025_1_pert_column_and_release_firmware_string() -> None:
    [npu0] = parse_furiosa_smi_table(capture("furiosa_smi_info_rngd_2025_1.txt"))
    assert npu0.versions.firmware == "2025.1.0+696efad"  # the release-numbered form of that year
    assert npu0.versions.runtime == "2025.1.0+1694e18"  # the PERT column
    assert npu0.telemetry.power_watts == 35.0 and npu0.identity.pci_bdf == "0000:30:00.0"
    assert "PERT" not in npu0.raw  # a known column is read, not kept as an unknown one


def test_info_2026_1_lower_case_arch_comma_firmware_decimal_watts() -> None:
    [npu0] = parse_furiosa_smi_table(capture("furiosa_smi_info_rngd_2026_1.txt"))
    assert npu0.identity.product == "rngd"
    assert npu0.versions.firmware == "1.7.0, 4dfed1852e7b"
    assert npu0.versions.runtime is None  # no PERT column in this release
    assert npu0.telemetry.power_watts == 38.4 and npu0.telemetry.temperature_celsius == 40.98


@pytest.mark.parametrize(
    ("arch", "model"),
    [
        ("rngd", "rngd"),
        ("RNGD", "rngd"),
        ("rngd_s", "rngd-s"),
        ("RNGD_S", "rngd-s"),
        ("RNGD_MAX", "rngd-max"),
    ],
)
def test_every_rngd_variant_furiosa_smi_prints_names_one_catalog_model(arch: str, model: str) -> None:
    """furiosa-feature-discovery knows arch rngd, rngd_s and rngd_max; the docs print it either case."""
    text = capture("furiosa_smi_info_rngd_stable.txt").replace("| RNGD |", f"| {arch.ljust(4)} |")
    text = text.replace("+------+", "+" + "-" * (max(4, len(arch)) + 2) + "+")
    text = text.replace("| Arch |", f"| {'Arch'.ljust(max(4, len(arch)))} |")
    npu0, _ = parse_furiosa_smi_table(text)
    assert npu0.identity.product == arch  # as printed
    catalog = load_inventory(REPO / "inventory" / "gwangju.yaml").catalog
    named = [key for key, entry in catalog.items() if same_product(npu0.identity.product, entry.product_name)]
    assert named == [model]


# --- furiosa-smi status ---------------------------------------------------------------------------


def test_status_2024_1_no_liveness_column_cores_over_eight_lines() -> None:
    rows = parse_furiosa_smi_status(capture("furiosa_smi_status_rngd_2024_1.txt"))
    assert sorted(rows) == [0, 1]
    assert rows[0].alive is None  # this release prints no liveness: unknown, not "alive"
    assert rows[0].utilization_percent == 0.0
    assert rows[0].cores is not None and rows[0].cores.count("(occupied)") == 8
    assert rows[0].memory_used_bytes is None


def test_status_2024_2_liveness_and_available_cores() -> None:
    rows = parse_furiosa_smi_status(capture("furiosa_smi_status_rngd_2024_2.txt"))
    assert sorted(rows) == [0, 1, 2, 3]
    assert all(row.alive is True for row in rows.values())
    assert rows[3].cores is not None and rows[3].cores.startswith("0 (available), 1 (available)")


def test_status_dead_device_and_per_core_figures_are_averaged() -> None:
    text = capture("furiosa_smi_status_rngd_2024_2.txt")
    text = text.replace("| rngd | npu1   | alive    |", "| rngd | npu1   | dead     |", 1)
    text = text.replace("Core 0: 0.00%,", "Core 0: 80.00%,", 1)  # npu0 only
    rows = parse_furiosa_smi_status(text)
    assert rows[1].alive is False
    assert rows[0].utilization_percent == pytest.approx(10.0)  # 80 % on one core of eight


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("3 (available),", "3 (melted),", "unknown core state"),
        ("Core 3: 0.00%,", "Core 3: lots,", "utilization"),
        ("| rngd | npu1   | alive    |", "| rngd | npu1   | maybe    |", "expected alive or dead"),
        ("| rngd | npu1   |", "| rngd |        |", "keyed lines"),
    ],
)
def test_status_it_cannot_interpret_is_a_tool_output_error(old: str, new: str, message: str) -> None:
    text = capture("furiosa_smi_status_rngd_2024_2.txt")
    assert old in text
    with pytest.raises(ToolOutputError, match=message) as caught:
        parse_furiosa_smi_status(text.replace(old, new, 1))
    assert "Core Utilization" in caught.value.raw


# --- furiosa-smi ps and topo -----------------------------------------------------------------------


def test_ps_2024_1_npu_pe_layout() -> None:
    [process] = parse_furiosa_smi_ps(capture("furiosa_smi_ps_2024_1.txt"))
    assert process == DeviceProcess(
        device_index=0, pid=132529, name="/usr/bin/python3 /usr/local/bin/uvicorn gptj:app"
    )


def test_ps_2024_2_one_process_on_four_cards_is_four_owners() -> None:
    processes = parse_furiosa_smi_ps(capture("furiosa_smi_ps_2024_2.txt"))
    assert [(p.device_index, p.pid) for p in processes] == [(0, 3283), (1, 3283), (2, 3283), (3, 3283)]
    assert processes[0].name is not None and processes[0].name.startswith("furiosa-mlperf llama-3.1-offline")


def test_ps_header_only_table_means_no_owner() -> None:
    header_only = "\n".join(capture("furiosa_smi_ps_2024_2.txt").splitlines()[:3]) + "\n"
    assert parse_furiosa_smi_ps(header_only) == ()


def test_ps_garbled_device_cell_is_an_error() -> None:
    text = capture("furiosa_smi_ps_2024_2.txt").replace("npu1:[0, 7]", "gpu1:[0, 7]")
    with pytest.raises(ToolOutputError, match="NPU core"):
        parse_furiosa_smi_ps(text)


def test_topo_2024_1_interconnect_between_sockets() -> None:
    topology = parse_furiosa_smi_topo(capture("furiosa_smi_topo_2024_1.txt"))
    assert topology.links[(0, 1)] == topology.links[(1, 0)] == "Interconnect"
    assert topology.links[(0, 0)] == "Noc"
    assert topology.numa_nodes == {0: 0, 1: 0}


def test_topo_2024_2_bridge_and_cpu_links() -> None:
    topology = parse_furiosa_smi_topo(capture("furiosa_smi_topo_2024_2.txt"))
    assert topology.links[(1, 2)] == "Bridge"
    assert topology.links[(0, 3)] == "Cpu"
    assert len(topology.links) == 16


def test_topo_unknown_link_kind_is_an_error() -> None:
    text = capture("furiosa_smi_topo_2024_2.txt").replace("| npu0   | Noc  | Cpu ", "| npu0   | Noc  | SYS ")
    with pytest.raises(ToolOutputError, match="unknown link kind 'SYS'"):
        parse_furiosa_smi_topo(text)


# --- furiosactl -----------------------------------------------------------------------------------


def test_furiosactl_sdk_0_5_layout_without_firmware_column() -> None:
    [npu1] = parse_furiosactl_table(capture("furiosactl_info_warboy_sdk_0_5.txt"))
    assert npu1.identity.index == 1
    assert npu1.identity.product == "Warboy"  # "FuriosaAI Warboy": the vendor prefix is dropped
    assert npu1.raw["name"] == "FuriosaAI Warboy"
    assert same_product(npu1.identity.product, "warboy")
    assert npu1.versions.firmware is None  # this release prints no firmware column
    assert npu1.telemetry.temperature_celsius == 40.0
    assert npu1.telemetry.power_watts == 0.0
    assert npu1.raw["PCI-DEV"] == "509:0"


# --- rbln-smi tables ------------------------------------------------------------------------------


def test_rbln_smi_v0_12_rebel_cr13_double_rule_and_kmd_version() -> None:
    reports = parse_rbln_smi_table(capture("rbln_smi_table_cr13_v0_12.txt"))
    assert [r.identity.device for r in reports] == ["rbln0", "rbln1", "rbln2"]
    rbln2 = reports[2]
    assert rbln2.identity.product == "RBLN-CR13"
    assert rbln2.versions.driver == "3.5.1"
    assert rbln2.telemetry.memory_total_bytes == round(140.0 * 2**30)
    assert rbln2.telemetry.power_watts == 100.0
    assert rbln2.telemetry.pstate == "P14"
    assert rbln2.processes is None  # no context table printed: owners unknown


@pytest.mark.parametrize(
    ("name", "model"), [("RBLN-CR03", "rebel-cr03"), ("RBLN-CR13", "rebel-cr13"), ("RBLN-CR23", "rebel-cr23")]
)
def test_every_rebel_product_rbln_smi_prints_names_one_catalog_model(name: str, model: str) -> None:
    """The REBEL products of Rebellions' PCI id list, in the v0.12 docs' layout."""
    text = capture("rbln_smi_table_cr13_v0_12.txt").replace("RBLN-CR13", name)
    rbln0 = parse_rbln_smi_table(text)[0]
    catalog = load_inventory(REPO / "inventory" / "gwangju.yaml").catalog
    named = [
        key for key, entry in catalog.items() if same_product(rbln0.identity.product, entry.product_name)
    ]
    assert named == [model]


def test_rbln_smi_two_dies_latest_docs() -> None:
    rbln0, rbln1 = parse_rbln_smi_table(capture("rbln_smi_table_ca12_two_dies.txt"))
    assert rbln0.telemetry.utilization_percent == 98.7
    assert rbln1.identity.pci_bdf == "0000:d8:00.0"
    assert rbln1.telemetry.memory_used_bytes == 0


def test_rbln_stat_legacy_docs_titles_spelled_infomation_no_perf_column() -> None:
    rbln0, rbln1 = parse_rbln_smi_table(capture("rbln_stat_table_ca12_legacy.txt"), tool="rbln-stat")
    assert rbln0.tool == "rbln-stat"
    assert rbln0.versions.driver is None  # "KMD ver: N/A"
    assert rbln0.telemetry.memory_used_bytes == round(2.4 * 2**30)  # "2.4GiB" in this release
    assert rbln0.telemetry.temperature_celsius == 30.0
    assert rbln0.telemetry.pstate is None and rbln0.telemetry.throttle is None  # no Perf column: unknown
    assert rbln1.identity.device == "rbln1" and rbln1.telemetry.power_watts == 6.1
    legacy_context = CONTEXT_HEADER_ONLY.replace("Context Information", "Context Infomation ")
    with_contexts = parse_rbln_smi_table(capture("rbln_stat_table_ca12_legacy.txt") + legacy_context)
    assert with_contexts[0].processes == ()


CONTEXT_HEADER_ONLY = (
    "+-------------------------------------------------------+\n"
    "|                  Context Information                  |\n"
    "+-----+-----+-----+----------+------+----------+--------+\n"
    "| NPU | PID | CTX | Priority | PTID | Memalloc | Status |\n"
    "+-----+-----+-----+----------+------+----------+--------+\n"
)


def test_rbln_smi_timestamp_line_na_cells_and_header_only_context_table() -> None:
    text = "Fri Dec  4 20:26:19 2026\n" + capture("rbln_smi_table_ca12_two_dies.txt").replace(
        "|  38C |  43.9W  |", "|  N/A |   N/A   |"
    )
    rbln0, rbln1 = parse_rbln_smi_table(text + CONTEXT_HEADER_ONLY)
    assert rbln0.telemetry.temperature_celsius is None and rbln0.telemetry.power_watts is None
    assert rbln0.processes == () and rbln1.processes == ()  # a table with no row: nobody holds a die


def test_rbln_smi_context_rows_become_each_dies_processes() -> None:
    row = "| 1   | 2733390 | 10001 | normal | 0 | 3.5GiB | idle |\n"
    rule = "+-----+-----+-----+----------+------+----------+--------+\n"
    text = capture("rbln_smi_table_ca12_two_dies.txt") + CONTEXT_HEADER_ONLY + row + rule
    rbln0, rbln1 = parse_rbln_smi_table(text)
    assert rbln0.processes == ()
    [context] = rbln1.processes or ()
    assert (context.pid, context.context_id, context.status) == (2733390, "10001", "idle")
    assert context.memory_bytes == round(3.5 * 2**30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Driver warning: something\n", "got 'Driver warning"),  # any other line above the table
        ("2026-13-45 garbage\n", "got '2026-13-45 garbage'"),
    ],
)
def test_rbln_smi_other_text_above_the_table_is_an_error(text: str, message: str) -> None:
    with pytest.raises(ToolOutputError, match=message):
        parse_rbln_smi_table(text + capture("rbln_smi_table_ca12_two_dies.txt"))


def test_rbln_smi_missing_required_column_is_an_error_added_column_kept_raw() -> None:
    text = capture("rbln_smi_table_ca12_two_dies.txt")
    with pytest.raises(ToolOutputError, match=r"missing \['Device'\]"):
        parse_rbln_smi_table(text.replace("| Device  |", "| Dev     |"))
    rbln0, _ = parse_rbln_smi_table(text.replace("|  Util |", "|  Fan  |"))
    assert rbln0.telemetry.utilization_percent is None
    assert rbln0.raw["Fan"] == "98.7"

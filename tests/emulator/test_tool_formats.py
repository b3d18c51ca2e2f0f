"""Golden-format tests: each emulated tool prints the layout of domain.md §5.

The expected shapes come from the real tools' captures quoted in domain.md (column names,
units inside values, key names, string-vs-int quirks), not from the emulator's code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable

import pytest

from lab.devices.rebellions import RebellionsAdapter
from lab.emulator.spec import FaultEntry
from tests.emulator.helpers import EmulatedNode

MakeNode = Callable[..., EmulatedNode]


def box_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """Parse a +---+ box table: (headers, rows); checks every line has the same width."""
    lines = [line for line in text.splitlines() if line]
    assert len({len(line) for line in lines}) == 1, "ragged table"
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    return cells[0], cells[1:]


def test_furiosa_smi_info_table_matches_domain_example(make_node: MakeNode) -> None:
    node = make_node("rngd", 2, firmware="0.0.15+af1daaa")
    out = node.tool("furiosa_smi", "info").stdout
    lines = out.splitlines()
    assert lines[0] == "+------+--------+----------------+---------+---------+--------------+"
    assert lines[1] == "| Arch | Device | Firmware       | Temp.   | Power   | PCI-BDF      |"
    row = re.compile(
        r"^\| rngd \| npu(\d)   \| 0\.0\.15\+af1daaa \| \d\d\.\d\d°C \| \d+\.\d\d W "
        r"\| 0000:[0-9a-f]{2}:00\.0 \|$"
    )
    assert [row.match(line).group(1) for line in lines[3:5]] == ["0", "1"]  # type: ignore[union-attr]
    assert lines[5] == lines[0] and len(lines) == 6


def test_furiosa_smi_full_and_json(make_node: MakeNode) -> None:
    node = make_node("rngd", 1)
    headers, rows = box_rows(node.tool("furiosa_smi", "info", "--format", "full").stdout)
    assert {"UUID", "S/N", "Clock", "PCI-DEV"} <= set(headers)
    assert re.fullmatch(r"\d+ MHz", rows[0][headers.index("Clock")])
    (entry,) = node.tool("furiosa_smi", "info", "--output", "json").json()  # type: ignore[misc]
    for key in (
        "index",
        "core_clock",
        "governor",
        "arch",
        "dev_name",
        "device_uuid",
        "device_sn",
        "firmware",
        "pert",
        "temperature",
        "power",
        "pci_bdf",
        "pci_dev",
    ):
        assert key in entry
    assert re.fullmatch(r"\d+\.\d\d°C", entry["temperature"]) and re.fullmatch(r"\d+\.\d\d W", entry["power"])
    assert entry["dev_name"] == "npu0" and entry["arch"] == "rngd"


def test_furiosa_smi_status_and_ps_show_the_owner(make_node: MakeNode) -> None:
    node = make_node("rngd", 2)
    out = node.tool("furiosa_smi", "status").stdout
    headers, rows = box_rows(out)
    # The real layout: one device over eight core lines, its cells on the middle line.
    assert headers == ["Arch", "Device", "Liveness", "Cores", "Core Utilization"] and len(rows) == 16
    assert rows[3][:3] == ["rngd", "npu0", "alive"] and rows[0][:3] == ["", "", ""]
    assert re.fullmatch(r"0 \((available|occupied)\),", rows[0][3])
    assert re.fullmatch(r"Core 7: \d+\.\d\d%", rows[7][4])
    (entry, _) = node.tool("furiosa_smi", "status", "--output", "json").json()  # type: ignore[misc]
    assert entry["liveness"] == "alive" and len(entry["pe_utilizations"]) == 8
    assert entry["memory"]["dram"]["total_size"] == 48 * 2**30
    headers, rows = box_rows(node.tool("furiosa_smi", "ps").stdout)
    assert headers == ["PID", "NPU core", "CMD"] and rows == []


def test_furiosa_smi_prints_the_format_of_the_catalogs_release(make_node: MakeNode) -> None:
    old = make_node("rngd", 1, tool_version="2024.1.0")
    headers, _ = box_rows(old.tool("furiosa_smi", "status").stdout)
    assert headers == ["Arch", "Device", "Cores", "Core Utilization"]  # no Liveness column yet
    headers, _ = box_rows(old.tool("furiosa_smi", "ps").stdout)
    assert headers == ["NPU", "PID", "CMD"]
    assert old.tool("furiosa_smi", "info", "--format", "json").json()
    refused = old.tool("furiosa_smi", "info", "--output", "json")
    assert refused.status == 2 and "unexpected argument '--output'" in refused.stderr
    current = make_node("rngd", 1)
    refused = current.tool("furiosa_smi", "info", "--format", "json")
    assert refused.status == 2 and "unexpected argument '--format'" in refused.stderr


def test_furiosactl_info_for_warboy(make_node: MakeNode) -> None:
    node = make_node("warboy", 2, firmware="1.6.0, 3c10fd3")
    headers, rows = box_rows(node.tool("furiosactl", "info").stdout)
    assert headers == ["NPU", "Name", "Firmware", "Temp.", "Power", "PCI-BDF"]
    assert rows[1][:3] == ["npu1", "warboy", "1.6.0, 3c10fd3"]
    assert re.fullmatch(r"\d+°C", rows[1][3]) and re.fullmatch(r"\d+\.\d\d W", rows[1][4])


def rbln_tables(out: str) -> tuple[str, str]:
    """rbln-smi's two tables without their title lines: (device table, context table)."""
    lines = out.splitlines()
    [title] = [n for n, line in enumerate(lines) if "Context Information" in line]
    assert "KMD ver" in lines[1]
    device = lines[:1] + lines[2 : title - 1]
    return "\n".join(device), "\n".join(lines[title - 1 : title] + lines[title + 1 :])


def test_rbln_smi_table_matches_domain_columns(make_node: MakeNode) -> None:
    node = make_node("atom-plus", 2, driver="3.0.0")
    out = node.tool("rbln_smi").stdout
    table, contexts = rbln_tables(out)
    headers, rows = box_rows(table)
    assert headers == [
        "NPU",
        "Name",
        "Device",
        "PCI BUS ID",
        "Temp",
        "Power",
        "Perf",
        "Memory(used/total)",
        "Util",
    ]
    npu, name, device, _bus, temp, power, perf, memory, util = rows[0]
    assert (npu, name, device) == ("0", "RBLN-CA12", "rbln0")
    assert re.fullmatch(r"\d+C", temp) and re.fullmatch(r"\d+\.\dW", power) and perf == "P14"
    assert re.fullmatch(r"\d+\.\dGB / 15\.7GiB", memory) and re.fullmatch(r"\d+\.\d", util)
    assert "KMD ver: 3.0.0" in out
    # The second table the real tool prints: no process holds a die, so only its header.
    headers, rows = box_rows(contexts)
    assert headers == ["NPU", "Process", "PID", "CTX", "Priority", "PTID", "Memalloc", "Status", "Util"]
    assert rows == []
    assert "+=====+" in table  # the current release's header rule (docs.rbln.ai v0.12.0 example)


def test_rbln_smi_context_table_lists_the_owner_as_the_json_does(make_node: MakeNode) -> None:
    from lab.emulator.ownership import claim

    node = make_node("atom-plus", 2)
    with node.node_dir.transaction() as state:
        claim(state.device(1), device=1, command="vllm serve model")
    _, contexts = rbln_tables(node.tool("rbln_smi").stdout)
    _, rows = box_rows(contexts)
    [context] = node.tool("rbln_smi", "--json").json()["contexts"]  # type: ignore[call-overload]
    assert rows == [
        [
            "1",
            "vllm",
            str(os.getpid()),
            context["ctx_id"],
            "normal",
            "0",
            context["memalloc"],
            "running",
            context["util_info"],
        ]
    ]
    assert (context["npu"], context["pid"]) == (1, str(os.getpid()))


def test_rbln_smi_prints_the_header_rule_of_the_catalogs_release(make_node: MakeNode) -> None:
    old = make_node("atom-plus", 1, tool_version="0.10.4")  # docs.rbln.ai v0.10.4: "+-----+"
    table, contexts = rbln_tables(old.tool("rbln_smi").stdout)
    assert "=" not in table + contexts
    assert box_rows(contexts)[0][0] == "NPU"
    newer = make_node("atom-plus", 1, tool_version="0.12.0")
    assert "+=====+" in rbln_tables(newer.tool("rbln_smi").stdout)[0]


def test_rbln_smi_json_structure_and_units(make_node: MakeNode) -> None:
    node = make_node("atom-plus", 1, driver="3.0.0", firmware="3.0.0")
    data = node.tool("rbln_smi", "--json").json()
    assert isinstance(data, dict) and data["KMD_version"] == "3.0.0"
    (device,) = data["devices"]
    assert device["npu"] == 0 and device["device"] == "rbln0" and device["fw_ver"] == "3.0.0"
    assert re.fullmatch(r"\d+C", device["temperature"]) and re.fullmatch(r"\d+uW", device["card_power"])
    assert device["memory"] == {"used": device["memory"]["used"], "total": "16877879296"}
    assert device["memory"]["used"].isdigit() and re.fullmatch(r"\d+\.\d", device["util"])
    assert device["pci"]["link_speed"] == "32.0GT/s" and device["pci"]["link_width"] == "16"
    assert device["pstate"] == "P14" and data["contexts"] == []


def test_atom_max_lists_four_dies_with_one_sid_and_the_card_power(make_node: MakeNode) -> None:
    node = make_node("atom-max", 1)
    devices = node.tool("rbln_smi", "--json").json()["devices"]  # type: ignore[index]
    assert [d["device"] for d in devices] == ["rbln0", "rbln1", "rbln2", "rbln3"]
    assert len({d["sid"] for d in devices}) == 1 and len({d["card_power"] for d in devices}) == 1
    assert len({d["pci"]["bus_id"] for d in devices}) == 4


def test_older_rbln_sdk_prints_npu_as_string(make_node: MakeNode) -> None:
    node = make_node("atom-plus", 1, options={"rbln_npu_as_string": True})
    assert node.tool("rbln_smi", "--json").json()["devices"][0]["npu"] == "0"  # type: ignore[index]


NVIDIA_FIELDS = (
    "index,name,uuid,pci.bus_id,driver_version,vbios_version,temperature.gpu,power.draw,power.limit,"
    "memory.used,memory.total,utilization.gpu,pstate"
)


def test_nvidia_smi_query_csv_matches_domain_example(make_node: MakeNode) -> None:
    node = make_node("h100-pcie", 1, driver="550.90.07")
    header, row = node.tool("nvidia_smi", f"--query-gpu={NVIDIA_FIELDS}", "--format=csv").stdout.splitlines()
    assert header == (
        "index, name, uuid, pci.bus_id, driver_version, vbios_version, temperature.gpu, power.draw [W], "
        "power.limit [W], memory.used [MiB], memory.total [MiB], utilization.gpu [%], pstate"
    )
    pattern = (
        r"0, NVIDIA H100 PCIe, GPU-[0-9a-f-]{36}, 00000000:17:00\.0, 550\.90\.07, 96\.00\.74\.00\.01, \d+, "
        r"\d+\.\d\d W, 350\.00 W, 1 MiB, 81559 MiB, 0 %, P0"
    )
    assert re.fullmatch(pattern, row), row


def test_nvidia_smi_noheader_nounits_and_errors(make_node: MakeNode) -> None:
    node = make_node("h100-pcie", 2)
    out = node.tool(
        "nvidia_smi", "--query-gpu=index,power.draw,memory.total,fan.speed", "--format=csv,noheader,nounits"
    )
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and re.fullmatch(r"1, \d+\.\d\d, 81559, \[N/A\]", lines[1])
    bad = node.tool("nvidia_smi", "--query-gpu=index,bogus", "--format=csv")
    assert bad.status == 2 and 'Field "bogus" is not a valid field to query.' in bad.stderr
    listing = node.tool("nvidia_smi", "-L").stdout.splitlines()
    assert re.fullmatch(r"GPU 1: NVIDIA H100 PCIe \(UUID: GPU-[0-9a-f-]{36}\)", listing[1])
    details = node.tool("nvidia_smi", "-q").stdout
    assert (
        "==============NVSMI LOG==============" in details
        and "Attached GPUs                             : 2" in details
    )


def test_sapeon_smi_is_labelled_synthetic(make_node: MakeNode) -> None:
    node = make_node("sapeon-x220", 1)
    assert "SYNTHETIC" in node.tool("sapeon_smi").stdout.splitlines()[0]
    data = node.tool("sapeon_smi", "--json").json()
    assert data["synthetic"] is True  # type: ignore[index]
    assert data["devices"][0]["synthetic_figures"] == ["int8_tops", "tdp_watts"]  # type: ignore[index]


def test_nvidia_smi_fields_follow_the_catalogs_driver_branch(make_node: MakeNode) -> None:
    old = make_node("h100-pcie", 1, tool_version="535.129.03")
    assert '"pcie.replay_counter"' not in old.tool("nvidia_smi", "--help-query-gpu").stdout
    assert '"clocks_event_reasons.active" or "clocks_throttle_reasons.active"' in (
        old.tool("nvidia_smi", "--help-query-gpu").stdout
    )
    refused = old.tool("nvidia_smi", "--query-gpu=index,pcie.replay_counter", "--format=csv")
    assert refused.status == 2 and 'Field "pcie.replay_counter" is not a valid field' in refused.stderr
    current = make_node("h100-pcie", 1)
    assert '"pcie.replay_counter"' in current.tool("nvidia_smi", "--help-query-gpu").stdout


def test_systemctl_stub_reports_the_vendor_daemon(make_node: MakeNode) -> None:
    rbln = make_node("atom-plus", 1)
    assert rbln.tool("systemctl", "is-active", "rbln-smd").stdout == "active\n"
    gpu = make_node("h100-pcie", 1)
    result = gpu.tool("systemctl", "is-active", "rbln-smd")
    assert (result.status, result.stdout) == (3, "inactive\n")


@pytest.mark.parametrize(
    ("tool_version", "active", "inactive"),
    [
        ("", "rbln-smd", "rbln_daemon"),
        ("0.10.4", "rbln-smd", "rbln_daemon"),
        ("0.9.2", "rbln_daemon", "rbln-smd"),
    ],
)
def test_rebellions_daemon_has_the_unit_name_of_the_catalogs_release(
    make_node: MakeNode, tool_version: str, active: str, inactive: str
) -> None:
    node = make_node("atom-plus", 1, tool_version=tool_version)
    assert node.tool("systemctl", "is-active", f"{active}.service").stdout == "active\n"
    result = node.tool("systemctl", "is-active", inactive)
    assert (result.status, result.stdout) == (3, "inactive\n")
    # The functional check asks the adapter's unit, then its aliases: one of them is active.
    names = (RebellionsAdapter.management_daemon, *RebellionsAdapter.management_daemon_aliases)
    assert [node.tool("systemctl", "is-active", str(name)).status for name in names].count(0) == 1


def test_same_seed_and_time_give_identical_bytes(make_node: MakeNode) -> None:
    first, second = make_node("rngd", 2, seed=5), make_node("rngd", 2, seed=5)
    assert (
        first.tool("furiosa_smi", "info", at=77.0).stdout
        == second.tool("furiosa_smi", "info", at=77.0).stdout
    )
    other = make_node("rngd", 2, seed=6)
    assert (
        first.tool("furiosa_smi", "info", at=77.0).stdout != other.tool("furiosa_smi", "info", at=77.0).stdout
    )


@pytest.mark.parametrize(
    ("model", "module", "args", "fault", "visible"),
    [
        (
            "rngd",
            "furiosa_smi",
            ("info", "--output", "json"),
            FaultEntry(kind="pcie-degraded", device=0),
            lambda out: json.loads(out)[0]["pcie_link"] == "Gen4 x8",
        ),
        (
            "rngd",
            "furiosa_smi",
            ("info",),
            FaultEntry(kind="fell-off-bus", device=1),
            lambda out: "npu0" in out and "npu1" not in out,
        ),
        (
            "rngd",
            "furiosa_smi",
            ("info",),
            FaultEntry(kind="wrong-firmware", device=0),
            lambda out: "0.0.13+5d2e7c1" in out,
        ),
        ("rngd", "furiosa_smi", ("status",), FaultEntry(kind="hang", device=0), lambda out: "dead" in out),
        (
            "atom-plus",
            "rbln_smi",
            ("--json",),
            FaultEntry(kind="hang", device=0),
            lambda out: json.loads(out)["devices"][0]["pstate"] == "P12",
        ),
        (
            "atom-plus",
            "rbln_smi",
            ("--json",),
            FaultEntry(kind="thermal-runaway", device=0),
            lambda out: json.loads(out)["devices"][0]["pstate"] == "P10",
        ),
        (
            "atom-plus",
            "rbln_smi",
            ("--json",),
            FaultEntry(kind="pcie-degraded", device=0, parameters={"link": "Gen3 x4"}),
            lambda out: json.loads(out)["devices"][0]["pci"]["link_speed"] == "8.0GT/s",
        ),
        (
            "h100-pcie",
            "nvidia_smi",
            ("--query-gpu=clocks_throttle_reasons.active", "--format=csv,noheader"),
            FaultEntry(kind="thermal-runaway"),
            lambda out: int(out.split()[0], 16) & 0x40,
        ),
        (
            "h100-pcie",
            "nvidia_smi",
            (
                "--query-gpu=ecc.errors.uncorrected.volatile.total,retired_pages.pending",
                "--format=csv,noheader",
            ),
            FaultEntry(kind="ecc-uncorrectable"),
            lambda out: out.splitlines()[0] == "1, Yes",
        ),
        (
            "h100-pcie",
            "nvidia_smi",
            ("--query-gpu=ecc.errors.corrected.volatile.total", "--format=csv,noheader"),
            FaultEntry(kind="ecc-correctable"),
            lambda out: int(out.split()[0]) > 0,
        ),
        (
            "h100-pcie",
            "nvidia_smi",
            ("--query-gpu=pcie.link.gen.gpucurrent,pcie.link.width.current", "--format=csv,noheader"),
            FaultEntry(kind="pcie-degraded"),
            lambda out: out.splitlines()[0] == "4, 8",
        ),
        (
            "sapeon-x220",
            "sapeon_smi",
            ("--json",),
            FaultEntry(kind="hang"),
            lambda out: json.loads(out)["devices"][0]["alive"] is False,
        ),
    ],
    ids=lambda value: getattr(value, "kind", None) or (value if isinstance(value, str) else ""),
)
def test_fault_is_visible_in_the_tool_output(
    make_node: MakeNode,
    model: str,
    module: str,
    args: tuple[str, ...],
    fault: FaultEntry,
    visible: Callable[[str], object],
) -> None:
    faulty = make_node(model, 2, faults=(fault,))
    healthy = make_node(model, 2)
    assert visible(faulty.tool(module, *args, at=600.0).stdout)
    assert not visible(healthy.tool(module, *args, at=600.0).stdout)


@pytest.mark.parametrize(
    ("model", "module", "args"),
    [
        ("rngd", "furiosa_smi", ("info", "--format", "xml")),
        ("rngd", "furiosa_smi", ("bogus",)),
        ("rngd", "furiosa_smi", ("reset", "--device", "npuX")),
        ("rngd", "furiosa_smi", ("reset", "--device", "npu7")),
        ("warboy", "furiosactl", ("list",)),
        ("atom-plus", "rbln_smi", ("--xml",)),
        ("atom-plus", "rbln_smi", ("reset", "-d")),
        ("h100-pcie", "nvidia_smi", ("--query-gpu=index", "--format=json")),
        ("h100-pcie", "nvidia_smi", ("--query-gpu=", "--format=csv")),
        ("h100-pcie", "nvidia_smi", ("-i", "x", "-L")),
        ("h100-pcie", "nvidia_smi", ("-r",)),
        ("h100-pcie", "nvidia_smi", ("--bogus",)),
        ("sapeon-x220", "sapeon_smi", ("reset", "zero")),
        ("rngd", "npu_workload", ()),
        ("rngd", "npu_workload", ("run", "--device", "0", "--model", "resnet50", "--queries", "0")),
        (
            "rngd",
            "npu_workload",
            ("run", "--device", "0", "--model", "resnet50", "--queries", "5", "--seconds", "1"),
        ),
        ("rngd", "npu_workload", ("smoke", "--device")),
    ],
)
def test_bad_arguments_give_a_usage_error(
    make_node: MakeNode, model: str, module: str, args: tuple[str, ...]
) -> None:
    result = make_node(model, 1).tool(module, *args)
    assert result.status == 2 and result.stderr.strip()


def test_rbln_stat_is_the_deprecated_alias(make_node: MakeNode) -> None:
    node = make_node("atom-plus", 1)
    old = node.run("rbln-stat", "--json", at=3.0)
    new = node.run("rbln-smi", "--json", at=3.0)
    assert old.status == 0 and "deprecated" in old.stderr
    assert json.loads(old.stdout)["devices"][0]["uuid"] == json.loads(new.stdout)["devices"][0]["uuid"]

"""Rebellions: rbln-smi --json (real capture, old-SDK string index, ATOM-Max dies) and the table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from device_captures import capture

from lab.devices.model import ThrottleReason, group_cards, node_power_watts
from lab.devices.rebellions import RebellionsAdapter, parse_rbln_smi_json, parse_rbln_smi_table
from lab.devices.registry import adapter_for
from lab.errors import ToolOutputError
from lab.inventory.model import PcieLink
from lab.transport.fake import FakeTransport


def test_captured_json_field_by_field() -> None:
    [rbln0] = parse_rbln_smi_json(capture("rbln_smi_ca22.json"))
    identity = rbln0.identity
    assert (identity.index, identity.device, identity.product) == (0, "rbln0", "RBLN-CA22")
    assert identity.serial == identity.card_id == "0000000022513364"
    assert identity.uuid == "3a5d3eec-…"
    assert identity.pci_bdf == "0000:03:00.0"
    assert identity.numa_node == 0
    assert rbln0.link == PcieLink(generation=5, width=16)
    assert rbln0.versions.driver == "3.0.0"
    assert rbln0.versions.firmware == "3.0.0"
    telemetry = rbln0.telemetry
    assert telemetry.temperature_celsius == 29.0
    assert telemetry.power_watts == pytest.approx(18.109794)
    assert telemetry.utilization_percent == 0.0
    assert telemetry.memory_used_bytes == 75497472
    assert telemetry.memory_total_bytes == 16877879296
    assert telemetry.pstate == "P14"
    assert telemetry.throttle == frozenset()
    assert telemetry.throttled is False
    assert rbln0.health.status == "normal"
    assert rbln0.health.alive is True
    assert rbln0.raw["card_power"] == "18109794uW"
    [context] = rbln0.processes or ()
    assert context.pid == 2733390
    assert context.name == "VLLM::EngineCore"
    assert context.memory_bytes == round(3.5 * 2**30)
    assert context.context_id == "10001"
    assert context.status == "idle"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(capture("rbln_smi_ca22.json"))
    return document


def test_old_sdk_prints_the_npu_index_as_a_string() -> None:
    document = _document()
    document["devices"][0]["npu"] = "0"
    document["contexts"][0]["npu"] = "0"
    [rbln0] = parse_rbln_smi_json(json.dumps(document))
    assert rbln0.identity.index == 0
    assert len(rbln0.processes or ()) == 1


@pytest.mark.parametrize("bad_index", ["zero", "0.0", True, None, [0]])
def test_an_index_that_is_neither_int_nor_decimal_string_is_refused(bad_index: object) -> None:
    document = _document()
    document["devices"][0]["npu"] = bad_index
    with pytest.raises(ToolOutputError, match=r"devices\[0\]\.npu"):
        parse_rbln_smi_json(json.dumps(document))


def _atom_max(cards: int = 2, card_power_uw: tuple[int, ...] = (310_000_000, 280_500_000)) -> str:
    """An ATOM-Max node as rbln-smi shows it: four dies per card, each repeating the card power."""
    template = _document()["devices"][0]
    devices = []
    for card in range(cards):
        for die in range(4):
            index = card * 4 + die
            device = json.loads(json.dumps(template))
            device.update(
                npu=index,
                name="RBLN-CA25",
                sid=f"00000000225133{card:02d}",
                device=f"rbln{index}",
                card_power=f"{card_power_uw[card]}uW",
                temperature=f"{40 + die}C",
                util=f"{10.0 * die:.1f}",
            )
            devices.append(device)
    return json.dumps({"KMD_version": "3.0.0", "devices": devices, "contexts": []})


def test_atom_max_dies_dedup_by_sid_for_node_power() -> None:
    dies = parse_rbln_smi_json(_atom_max())
    assert len(dies) == 8
    # Die level: every die repeats its card's power.
    assert [d.telemetry.power_watts for d in dies[:4]] == [pytest.approx(310.0)] * 4
    cards = group_cards(dies)
    assert [card.card_id for card in cards] == ["0000000022513300", "0000000022513301"]
    assert [len(card.dies) for card in cards] == [4, 4]
    assert cards[0].power_watts == pytest.approx(310.0)
    assert cards[1].power_watts == pytest.approx(280.5)
    assert cards[0].temperature_celsius == 43.0  # hottest die
    assert cards[0].utilization_percent == pytest.approx(15.0)  # mean of 0, 10, 20, 30
    # Summing die power would count each card four times (2362 W); the node total counts it once.
    assert sum(d.telemetry.power_watts or 0 for d in dies) == pytest.approx(4 * 590.5)
    assert node_power_watts(dies) == pytest.approx(590.5)


def test_contexts_attach_to_their_die_and_processes_lists_them_all(fake: FakeTransport) -> None:
    document = json.loads(_atom_max())
    document["contexts"] = [
        {"ctx_id": "1", "npu": 5, "process": "a", "pid": "10", "memalloc": "1.0GiB", "status": "run"},
        {"ctx_id": "2", "npu": "0", "process": "b", "pid": 11, "memalloc": "0.0B", "status": "idle"},
    ]
    fake.reply(["rbln-smi", "--json"], stdout=json.dumps(document))
    dies = RebellionsAdapter(fake).list_devices()
    assert [p.pid for p in dies[5].processes or ()] == [10]
    assert [p.pid for p in dies[0].processes or ()] == [11]
    assert dies[1].processes == ()
    assert sorted(p.pid for p in RebellionsAdapter(fake).processes()) == [10, 11]


@pytest.mark.parametrize(
    ("pstate", "reasons", "alive"),
    [
        ("P2", frozenset(), True),
        ("P10", frozenset({ThrottleReason.THERMAL}), True),
        ("P12", frozenset({ThrottleReason.HANG}), False),
        ("P8", frozenset({ThrottleReason.UNKNOWN}), True),
    ],
)
def test_pstate_decodes_throttling_and_hang(
    pstate: str, reasons: frozenset[ThrottleReason], alive: bool
) -> None:
    document = _document()
    document["devices"][0]["pstate"] = pstate
    [rbln0] = parse_rbln_smi_json(json.dumps(document))
    assert rbln0.telemetry.throttle == reasons
    assert rbln0.health.alive is alive
    assert rbln0.telemetry.thermally_throttled is (pstate == "P10")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("temperature",), "29K", "unknown unit 'K'"),
        (("card_power",), "18109794", "unit missing"),
        (("pstate",), "fast", "expected P<number>"),
        (("pci", "link_speed"), "30.0GT/s", "not a PCIe generation"),
        (("pci", "link_width"), "17", "not a PCIe link width"),
        (("memory", "used"), "2.4GB", "expected an integer"),
        (("util",), "150.0", "outside 0..100"),
        (("sid",), 22513364, "expected a string"),
    ],
)
def test_malformed_values_raise_tool_output_error(path: tuple[str, ...], value: object, message: str) -> None:
    document = _document()
    target = document["devices"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    text = json.dumps(document)
    with pytest.raises(ToolOutputError, match=message) as caught:
        parse_rbln_smi_json(text)
    assert caught.value.raw == text


def test_captured_table_field_by_field() -> None:
    [rbln0] = parse_rbln_smi_table(capture("rbln_smi_table_ca12.txt"))
    assert (rbln0.identity.index, rbln0.identity.device, rbln0.identity.product) == (0, "rbln0", "RBLN-CA12")
    assert rbln0.identity.pci_bdf == "0000:51:00.0"
    assert rbln0.versions.driver is None  # "KMD ver: N/A"
    assert rbln0.telemetry.temperature_celsius == 38.0
    assert rbln0.telemetry.power_watts == pytest.approx(43.9)
    assert rbln0.telemetry.pstate == "P2"
    assert rbln0.telemetry.utilization_percent == pytest.approx(98.7)
    assert rbln0.telemetry.memory_used_bytes == 2_400_000_000
    assert rbln0.telemetry.memory_total_bytes == round(15.7 * 2**30)
    assert rbln0.raw["memory"] == "2.4GB / 15.7GiB"  # GB vs GiB: kept verbatim
    assert rbln0.link is None


def test_table_with_a_different_title_is_refused() -> None:
    text = capture("rbln_smi_table_ca12.txt").replace("Device Information", "Device Informatio ")
    with pytest.raises(ToolOutputError, match="is not 'Device Information KMD ver"):
        parse_rbln_smi_table(text)


def test_rbln_stat_is_the_same_adapter_running_the_old_program(fake: FakeTransport) -> None:
    fake.reply(["rbln-stat", "--json"], stdout=capture("rbln_smi_ca22.json"))
    adapter = adapter_for("rbln-stat", fake)
    assert isinstance(adapter, RebellionsAdapter)
    [report] = adapter.list_devices()
    assert report.identity.product == "RBLN-CA22"
    assert fake.calls == ["rbln-stat --json"]


def test_emulator_ecc_counters_are_read_and_absent_means_none() -> None:
    document = _document()
    [plain] = parse_rbln_smi_json(json.dumps(document))
    assert (plain.health.ecc_correctable, plain.health.ecc_uncorrectable) == (None, None)
    document["devices"][0]["ecc"] = {"correctable": "12", "uncorrectable": "1"}
    [counted] = parse_rbln_smi_json(json.dumps(document))
    assert (counted.health.ecc_correctable, counted.health.ecc_uncorrectable) == (12, 1)
    document["devices"][0]["ecc"] = {"correctable": "-1", "uncorrectable": "0"}
    with pytest.raises(ToolOutputError, match="expected a non-negative integer"):
        parse_rbln_smi_json(json.dumps(document))

"""The soak engine with a scripted node (FakeTransport) and a fake clock: gaps, the grace
period, a lost card, throttling with its first-violation time, and crash-safe series."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.errors import ConnectionLost
from lab.inventory.model import Profile
from lab.results.series import read_series
from lab.stability.settings import SoakSettings
from lab.stability.soak import NodeUnreachable, Soak
from lab.stability.verdicts import soak_measurements
from lab.transport.fake import FakeTransport
from tests.stability.fake_node import FakeClock, ScriptedRbln, emulated_inventory, rbln_node

TEST_ID = "suite.py::test_soak[node]"


def _soak(tmp_path: Path, **overrides: object) -> tuple[Soak, ScriptedRbln, FakeTransport, FakeClock]:
    inventory = emulated_inventory()
    node, profile = rbln_node(inventory)
    settings = replace(SoakSettings.from_profile(profile, node, duration=60.0), **overrides)  # type: ignore[arg-type]
    transport = FakeTransport(node.name)
    scripted = ScriptedRbln.install(transport, 2)
    clock = FakeClock()
    soak = Soak(
        transport, node, inventory.catalog, profile, tmp_path, TEST_ID, settings,
        workload=False, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    return soak, scripted, transport, clock


def test_a_dropped_connection_is_a_recorded_gap_and_the_soak_goes_on(tmp_path: Path) -> None:
    soak, _, transport, _ = _soak(tmp_path)

    def drop_between_rounds(number: int, lag: float) -> None:
        if number == 9:
            transport.fail_with(ConnectionLost("link down", node="n"))
        if number == 13:
            transport.fail_with(None)

    soak.on_round = drop_between_rounds
    result = soak.run()
    assert [(gap.t, gap.seconds) for gap in result.gaps] == [(10.0, 4.0)]
    assert "link down" in result.gaps[0].error
    gaps = read_series(tmp_path / next(p for p in result.evidence if "unreachable" in p))
    assert gaps.t == (10.0,) and gaps.values == (4.0,)
    temperature = read_series(
        tmp_path / next(p for p in result.evidence if p.endswith("rbln0.temperature.series.jsonl"))
    )
    assert 10.0 not in temperature.t and 14.0 in temperature.t  # the gap has no samples, the soak went on
    assert result.rounds == 61  # every slot was tried, the failed ones included, plus the closing round


def test_a_node_unreachable_past_the_grace_period_is_an_infrastructure_error(tmp_path: Path) -> None:
    soak, _, transport, _ = _soak(tmp_path, grace_s=5.0)
    soak.on_round = lambda number, lag: (
        transport.fail_with(ConnectionLost("gone", node="n")) if number == 19 else None
    )
    with pytest.raises(NodeUnreachable, match="unreachable for 6 s"):
        soak.run()
    # what was sampled before the loss is on disk and readable: the crash-safety promise
    folder = next((tmp_path / "evidence").iterdir())
    power = read_series(folder / "rbln1.power.series.jsonl")
    assert power.t[-1] == 19.0 and len(power.values) == 20


def test_a_throttled_card_fails_with_the_time_and_sample_of_its_first_throttle(tmp_path: Path) -> None:
    soak, scripted, _, _ = _soak(tmp_path)

    def overheat(number: int, lag: float) -> None:
        if number == 36:  # from round 37 (t = 37 s) card 1 is hot and in P10
            scripted.cards[1] = replace(scripted.cards[1], temperature=91.0, pstate="P10")

    soak.on_round = overheat
    result = soak.run()
    verdicts = {m.name: m for m in soak_measurements(result, soak_profile(), "atom-plus")}
    assert verdicts["throttling"].verdict is Outcome.FAIL and verdicts["throttling"].value == 1.0
    assert "first on rbln1 at t=37 s" in verdicts["throttling"].reason
    assert (
        "pstate=P10" in verdicts["throttling"].reason and "temperature=91 °C" in verdicts["throttling"].reason
    )
    assert (
        verdicts["temperature-margin"].verdict is Outcome.FAIL
        and verdicts["temperature-margin"].value == -6.0
    )
    assert verdicts["soak-liveness"].verdict is Outcome.PASS
    throttled = read_series(tmp_path / verdicts["throttling"].evidence[1])
    violation = throttled.violation()
    assert violation is not None and violation.t == 37.0


def test_a_card_missing_from_its_tool_fails_liveness_not_infrastructure(tmp_path: Path) -> None:
    soak, scripted, _, _ = _soak(tmp_path)
    soak.on_round = lambda number, lag: setattr(scripted.cards[0], "listed", number < 29)
    result = soak.run()
    verdicts = {m.name: m for m in soak_measurements(result, soak_profile(), "atom-plus")}
    liveness = verdicts["soak-liveness"]
    assert liveness.verdict is Outcome.FAIL and liveness.value == 31.0  # t = 30 ... 60
    assert "first on rbln0 at t=30 s: card missing or not alive [not listed by its tool]" in liveness.reason


def test_healthy_steady_cards_pass_and_unreported_counters_make_no_measurement(tmp_path: Path) -> None:
    soak, _, _, _ = _soak(tmp_path)
    result = soak.run()
    measured = {m.name: m.verdict for m in soak_measurements(result, soak_profile(), "atom-plus")}
    assert measured == {
        "throttling": Outcome.PASS,
        "temperature-margin": Outcome.PASS,
        "soak-liveness": Outcome.PASS,
    }  # the scripted rbln-smi prints no ECC counters; without workload, no throughput or power judgement
    assert result.missed_rounds == 0 and result.max_lag_s == 0.0


def soak_profile() -> Profile:
    return emulated_inventory().profiles["kcloud-npu-v1"]


def test_a_gap_still_open_when_the_soak_ends_is_recorded_too(tmp_path: Path) -> None:
    soak, _, transport, _ = _soak(tmp_path)
    soak.on_round = lambda number, lag: (
        transport.fail_with(ConnectionLost("x", node="n")) if number == 54 else None
    )
    result = soak.run()
    assert [(gap.t, gap.seconds) for gap in result.gaps] == [(55.0, 5.0)]  # from t=55 to the end at 60

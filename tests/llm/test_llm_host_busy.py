"""The LLM suite's busy-host rule is the performance suite's (lab.performance.host_busy): a limit
missed by an endpoint computed on an oversubscribed controller is ERROR, not the card's FAIL;
wrong text fails on any host."""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest

from lab.criteria import Measurement, Outcome
from lab.errors import CriterionFailed
from lab.inventory.model import Axis, Limits, Serving
from lab.llm.session import LlmSession
from lab.performance.host_busy import HostPressure, HostTooBusy
from lab.performance.result import AgentResult
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY
from lab.pytest_plugin.host_busy import raise_inconclusive_if_busy
from lab.results import load_run
from lab.transport.sshd import SshdServer
from tests.conftest import make_node, profiles_with_settings
from tests.testbed_inventory import sshd_cpu_node, suite_command, write_real_inventory

from .conftest import MODEL, EndpointFactory
from .test_llm_suite import CARD, REPOSITORY


class _Runner:
    """Stands in for the AgentRunner: hands back results carrying the agent's ``host_cpu_pressure``."""

    def __init__(self, pressures: list[float | None]) -> None:
        self.pressures = pressures

    def run(self, request: Mapping[str, object], label: str) -> AgentResult:
        return AgentResult("n", {"host_cpu_pressure": self.pressures.pop(0), "detail": {}})


@pytest.mark.parametrize(
    ("address", "pressures", "busy"),
    [
        ("127.0.0.1", [0.1, 0.8, None], True),  # a loopback endpoint; one run of three was starved
        ("127.0.0.1", [0.1, 0.4, None], False),  # never above the profile's 0.5
        ("192.0.2.7", [0.9, 0.95, 0.9], False),  # a remote node: its host is the product
    ],
)
def test_the_llm_session_notes_every_runs_pressure_for_the_shared_rule(
    address: str, pressures: list[float | None], busy: bool
) -> None:
    host = HostPressure(make_node(address=address, emulated=False), limit=0.5)
    session = LlmSession(
        cast(Any, _Runner(list(pressures))), Serving(f"{address}:8000", MODEL), duration_s=1.0, host=host
    )
    for _ in pressures:
        session.offline(["the card"])
    assert host.worst == max(p for p in pressures if p is not None)
    reason = host.reason()
    assert (reason is not None) is busy
    if reason is not None:
        assert "80%" in reason and "host_busy_cpu_pressure" in reason


class _Item:
    def __init__(self, measurements: list[Measurement]) -> None:
        self.stash = pytest.Stash()
        self.stash[MEASUREMENTS_KEY] = measurements


def _measured(name: str, verdict: Outcome, reason: str = "below 20 tokens/s") -> Measurement:
    return Measurement(
        name=name, value=3.0, unit="tokens/s", limits=Limits(minimum=20.0), axis=Axis.PERFORMANCE,
        verdict=verdict, reason=reason,
    )  # fmt: skip


def _untimed(measured: Measurement) -> bool:
    return "accuracy" in measured.name


def test_a_timing_miss_on_a_busy_host_is_inconclusive_and_keeps_its_figure() -> None:
    measurements = [_measured("llm-offline-tokens-per-second", Outcome.FAIL)]
    with pytest.raises(HostTooBusy, match="inconclusive: the host was busy"):
        raise_inconclusive_if_busy(
            cast(pytest.Item, _Item(measurements)), CriterionFailed("missed"), "the host was busy", _untimed
        )
    (measured,) = measurements
    assert measured.verdict is Outcome.ERROR and measured.value == 3.0
    assert measured.reason == "inconclusive: the host was busy (measured: below 20 tokens/s)"


def test_a_miss_stands_when_the_host_was_quiet_or_the_text_was_wrong() -> None:
    timing = [_measured("llm-offline-tokens-per-second", Outcome.FAIL)]
    with pytest.raises(CriterionFailed) as quiet:
        raise_inconclusive_if_busy(
            cast(pytest.Item, _Item(timing)), CriterionFailed("missed"), None, _untimed
        )
    assert not isinstance(quiet.value, HostTooBusy) and timing[0].verdict is Outcome.FAIL
    wrong = [_measured("llm-test06", Outcome.PASS), _measured("llm-accuracy-rouge-l", Outcome.FAIL)]
    with pytest.raises(CriterionFailed) as stands:
        raise_inconclusive_if_busy(
            cast(pytest.Item, _Item(wrong)),
            CriterionFailed("wrong"),
            "the host was busy",
            _untimed,
        )
    assert not isinstance(stands.value, HostTooBusy) and wrong[1].verdict is Outcome.FAIL


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.usefixtures("quiet_cpu")
@pytest.mark.skipif(not Path("/proc/pressure/cpu").exists(), reason="this kernel has no PSI")
@pytest.mark.skipif(platform.machine() != "x86_64", reason="the catalog's CPU reference entry is x86-64")
def test_the_llm_suite_makes_a_speed_miss_on_a_busy_host_an_error_and_wrong_text_a_failure(
    llm_endpoint: EndpointFactory, tmp_path: Path
) -> None:
    # A profile whose busy threshold is a hair above zero (any wait for a CPU during the run makes
    # a miss inconclusive) and whose tokens/s minimum no endpoint reaches (every card misses it).
    profiles = profiles_with_settings(tmp_path / "profiles", host_busy_cpu_pressure=0.000001)
    profile = profiles / "kcloud-npu-v1.yaml"
    text = profile.read_text(encoding="utf-8")
    head, _, rest = text.partition("  llm-offline-tokens-per-second:\n")
    assert "cpu-x86-64: {min: 20}" in rest, (
        "the profile has no CPU node limit for llm-offline-tokens-per-second"
    )
    profile.write_text(
        head
        + "  llm-offline-tokens-per-second:\n"
        + rest.replace("cpu-x86-64: {min: 20}", "cpu-x86-64: {min: 1000000}", 1)
    )
    endpoint = llm_endpoint(card=CARD, faults={"wrong_tokens": True})
    with SshdServer(tmp_path / "sshd") as server:
        node = sshd_cpu_node("llm-busy", server, {"address": endpoint.address, "model": MODEL})
        inventory = write_real_inventory(tmp_path / "inventory.yaml", "llm-busy", node, profiles=profiles)
        command = suite_command(
            REPOSITORY / "testsuites" / "llm", inventory, tmp_path / "run",
            "-k", "offline_tokens_per_second or test_llm_accuracy",
        )  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=False
        )
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-2000:]
    by = {
        record.test_id.split("::")[-1].split("[")[0]: record for record in load_run(tmp_path / "run").records
    }
    speed = by["test_llm_offline_tokens_per_second"]
    pressure = speed.properties.get("host_cpu_pressure")
    assert isinstance(pressure, float), (speed.outcome, speed.reason, speed.properties)
    if pressure <= 0.000001:
        pytest.skip("no task waited for a CPU during the run: the miss stands as a FAIL")
    assert speed.outcome is Outcome.ERROR, (speed.outcome, speed.reason)
    (measured,) = speed.measurements
    assert measured.verdict is Outcome.ERROR and measured.reason.startswith("inconclusive: the host")
    assert isinstance(measured.value, float) and measured.value < 1000000  # the figure is kept
    # the card's wrong text is wrong on any host
    accuracy = by["test_llm_accuracy"]
    assert accuracy.outcome is Outcome.FAIL, (accuracy.outcome, accuracy.reason)
    assert {m.name: m.verdict for m in accuracy.measurements}["llm-accuracy-rouge-l"] is Outcome.FAIL

"""A BMC that cannot be read costs only the wall figure: the run goes on, and the session stops asking.

``WallPowerWatch`` serves the performance and the LLM sessions alike; before it the LLM suite let a
wedged BMC turn every LLM test of its node into ERROR (the campaign's emu-kt-rbln-01 showed it).
"""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path

import pytest

from lab.inventory import load_inventory
from lab.inventory.model import Bmc
from lab.performance.result import AgentResult
from lab.performance.wall_power import RESULT_KEY, WallPowerWatch, WallSeries

REPOSITORY = Path(__file__).resolve().parents[2]


def _silent_port() -> tuple[socket.socket, int]:
    """A port that accepts TCP connections and never answers (a wedged BMC web server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener, listener.getsockname()[1]


def test_a_wedged_bmc_leaves_each_run_with_an_error_series_and_is_asked_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAB_TEST_BMC_PASSWORD", "not-used-for-anything")
    listener, port = _silent_port()
    try:
        node = load_inventory(REPOSITORY / "inventory" / "emulated.yaml").nodes[0]
        bmc = Bmc("127.0.0.1", port, "lab", "LAB_TEST_BMC_PASSWORD", tls="insecure", timeout=0.5)
        watch = WallPowerWatch(dataclasses.replace(node, bmc=bmc), interval_s=0.1)
        runs: list[float] = []

        def run() -> AgentResult:
            runs.append(time.monotonic())
            return AgentResult(node=node.name, data={"status": "ok"})

        began = time.monotonic()
        first = watch.around(run)
        first_s = time.monotonic() - began
        began = time.monotonic()
        second = watch.around(run)
        second_s = time.monotonic() - began
        watch.close()
    finally:
        listener.close()
    assert len(runs) == 2  # both runs ran, once each
    for result in (first, second):
        series = WallSeries.from_json(result.data[RESULT_KEY])
        assert series is not None and not series.watts
        assert series.errors and "could not be read before the run" in series.errors[0]
    assert first_s >= 0.4  # the first run waited out the BMC's timeout ...
    assert second_s < 0.3  # ... the second did not ask again


def test_an_llm_run_on_a_node_with_a_wedged_bmc_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.llm.session import LlmSession

    monkeypatch.setenv("LAB_TEST_BMC_PASSWORD", "not-used-for-anything")
    listener, port = _silent_port()
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    node = next(n for n in inventory.nodes if n.serving is not None)
    bmc = Bmc("127.0.0.1", port, "lab", "LAB_TEST_BMC_PASSWORD", tls="insecure", timeout=0.5)

    class Runner:
        def run(self, request: dict[str, object], *, label: str) -> AgentResult:
            window = {"start": 0.0, "end": 1.0, "origin_epoch": time.time()}
            return AgentResult(node=node.name, data={"status": "ok", "window": window})

    assert node.serving is not None
    session = LlmSession(Runner(), node.serving, wall=dataclasses.replace(node, bmc=bmc))  # type: ignore[arg-type]
    try:
        result = session._run({}, "llm-offline")
    finally:
        session.close()
        listener.close()
    watts, series = session.wall_watts(result)
    assert watts is None and series is not None and "could not be read" in series.errors[0]

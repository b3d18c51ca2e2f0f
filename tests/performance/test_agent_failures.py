"""A crash, a hang or a failing backend of the agent is ERROR (InfrastructureError), with its stderr."""

from __future__ import annotations

import threading
import time

import pytest

from lab.errors import InfrastructureError
from lab.performance.result import AgentError, AgentResult

from .conftest import PerfTestbed

pytestmark = pytest.mark.integration


def _offline(device: int, seconds: float, deadline: float) -> dict[str, object]:
    return {
        "scenario": "Offline",
        "backend": {"name": "emulated", "options": {"model": "resnet50", "batch": 8}},
        "devices": [device],
        "min_duration_s": seconds,
        "expected_qps": 2000,
        "deadline_s": deadline,
    }


def test_agent_killed_mid_run_is_an_error_with_its_stderr(perf_testbed: PerfTestbed) -> None:
    runner = perf_testbed.runner("acc-warboy")
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = runner.run(_offline(0, 30.0, 60.0), label="victim")
        except Exception as error:  # the assertion below says which
            outcome["error"] = error

    thread = threading.Thread(target=run)
    began = time.monotonic()
    thread.start()
    control = perf_testbed.transport("acc-warboy")
    pid = ""
    while time.monotonic() - began < 20 and not pid:
        if runner._remote_dir:  # the run's directory on the node, once made
            found = control.run(["cat", f"{runner._remote_dir}/victim-1/agent.pid"])
            pid = found.stdout.strip() if found.ok else ""
        time.sleep(0.2)
    assert pid.isdigit(), "the agent never wrote its pid"
    time.sleep(1.0)  # let LoadGen start
    control.check(["kill", "-KILL", pid])
    thread.join(30)
    assert not thread.is_alive()
    error = outcome.get("error")
    assert isinstance(error, AgentError) and isinstance(error, InfrastructureError), outcome
    assert "the agent failed" in str(error)
    assert time.monotonic() - began < 25  # nowhere near the 30 s the run asked for


def test_agent_past_its_deadline_is_stopped_and_is_an_error(perf_testbed: PerfTestbed) -> None:
    runner = perf_testbed.runner("acc-warboy")
    began = time.monotonic()
    with pytest.raises(AgentError, match="deadline of 2 s expired"):
        runner.run(_offline(1, 30.0, 2.0))
    assert time.monotonic() - began < 10


def test_backend_failure_is_an_error_naming_the_cause(perf_testbed: PerfTestbed) -> None:
    runner = perf_testbed.runner("acc-warboy")
    with pytest.raises(AgentError, match="no such device: npu7"):
        runner.run(_offline(7, 1.0, 30.0))


def test_unknown_backend_is_an_error_listing_the_known_ones(perf_testbed: PerfTestbed) -> None:
    runner = perf_testbed.runner("acc-warboy")
    request = _offline(0, 1.0, 30.0)
    request["backend"] = {"name": "tpu", "options": {}}
    with pytest.raises(AgentError, match=r"unknown backend 'tpu'.*emulated"):
        runner.run(request)


def test_agent_result_without_output_is_an_error() -> None:
    with pytest.raises(AgentError, match="printed no result") as caught:
        AgentResult.parse("", node="n1", stderr="Segmentation fault")
    assert "Segmentation fault" in str(caught.value)


def test_offline_run_ended_before_its_min_duration_is_rerun_at_the_rate_reached(
    perf_testbed: PerfTestbed,
) -> None:
    # An expected QPS far below the card's (a probe fooled by a warming-up engine) makes LoadGen
    # issue too few samples: the run ends early, INVALID. The agent re-runs once at the reached rate.
    request = {**_offline(1, 1.0, 60.0), "expected_qps": 50}
    result = perf_testbed.runner("acc-warboy").run(request, label="underestimated")
    settings = result.data["settings"]
    assert isinstance(settings, dict)
    rerun = settings["rerun_below_min_duration"]
    assert isinstance(rerun, dict) and rerun["first_expected_qps"] == 50
    first_rate = rerun["first_samples_per_second"]
    assert isinstance(first_rate, float) and first_rate > 50
    assert result.valid, result.summary_text
    assert result.samples_per_second is not None and result.samples_per_second > 500

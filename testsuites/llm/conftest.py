"""Fixtures of the LLM serving suite: the node's endpoint, driven by the agent on the node.

A node without ``serving:`` in the inventory has no LLM endpoint to certify: its tests SKIP
with that reason. ``--lab-perf-duration`` shortens LoadGen runs as in the performance suite
(recorded as ``short_run``). Every run samples the node's vendor tool and must be served by
``serving.cards`` (``lab.llm.silicon``; ERROR "not served by the cards under test"); a CPU
reference node has no card to prove, and its records say so. A limit missed by an endpoint
computed on this machine's cores (emulated, loopback) while they were oversubscribed is ERROR
(``HostTooBusy``), as in the performance suite (``lab.performance.host_busy``).

A node whose ``serving.launch`` is set gets its endpoint started by the suite (``lab.llm.launch``:
argv over the transport, readiness checked from the node, bounded) before its first LLM test,
and stopped by pid after its last one (``pytest_runtest_teardown``, by the run's order of
tests; whatever remains at the session's end is stopped then); a launch that fails or never
answers is ERROR for each of that node's tests, with the tail of the engine's log, tried once.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from lab.criteria import Measurement
from lab.devices import adapter_for
from lab.devices.base import DeviceAdapter
from lab.errors import CriterionFailed, InfrastructureError
from lab.inventory.model import DeviceModel, Serving
from lab.llm.launch import LaunchedEndpoint, LaunchError
from lab.llm.session import CardWatch, LlmSession
from lab.performance.agent_runner import AgentRunner
from lab.performance.backend_choice import PYTHON_LABEL
from lab.performance.host_busy import HostPressure
from lab.performance.rules import record_rules
from lab.performance.settings import PerfSettings
from lab.performance.telemetry import telemetry_commands
from lab.pytest_plugin.figure_runs import RULE_RUNS_KEY
from lab.pytest_plugin.fixtures import LabNode
from lab.pytest_plugin.host_busy import raise_inconclusive_if_busy
from lab.pytest_plugin.session import LabSession
from lab.transport.base import Transport


@pytest.fixture
def llm(request: pytest.FixtureRequest, node: LabNode) -> Iterator[LlmSession]:
    serving = node.node.serving
    if serving is None:
        pytest.skip(f"{node.node.name} declares no LLM endpoint (inventory 'serving:')")
    duration = LabSession.of(request.config).options.perf_duration
    python = node.node.labels.get(PYTHON_LABEL)
    if python is None and node.node.emulated:
        # an emulated node shares the controller's venv (LoadGen installed), as the performance
        # suite's emulated backend does; a real node names its interpreter or has python3
        python = sys.executable
    runner = AgentRunner(
        node.transport,
        python=str(python) if python else "python3",
        build_dir=Path(tempfile.gettempdir()) / "kcloud-lab-agent",
    )
    if serving.launch:
        engine = _launched(request, node.name, serving, str(python) if python else "python3")
        request.node.user_properties.append(("llm_launch", engine.describe()))
    model = node.catalog[node.node.accelerators[0].model] if node.node.accelerators else None
    watch = _card_watch(node, model, serving.cards)
    if watch is None:
        request.node.user_properties.append(("llm_served_by", "not proved: a CPU reference node has no card"))

    def record(name: str, value: object) -> None:
        request.node.user_properties.append((name, value))

    limit = PerfSettings.from_profile(node.profile.settings, profile=node.profile.name).host_busy_cpu_pressure
    host = HostPressure(node.node, limit)
    session = LlmSession(
        runner, serving, duration_s=duration, watch=watch, record=record, wall=node.node, host=host
    )
    request.node.user_properties.append(("llm_endpoint", serving.address))
    request.node.user_properties.append(("llm_model", serving.model))
    request.node.user_properties.append(("short_run", duration is not None))
    try:
        yield session
    finally:
        session.close()
        runner.cleanup()
        if host.worst is not None:
            # how busy the node's host was: a reader can tell a slow card from a busy machine
            request.node.user_properties.append(("host_cpu_pressure", host.worst))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A limit missed by an endpoint computed on an oversubscribed controller is inconclusive
    (ERROR, ``HostTooBusy``), by the performance suite's rule; wrong text fails on any host."""
    try:
        return (yield)
    except CriterionFailed as failed:
        session = getattr(item, "funcargs", {}).get("llm")
        host = session.host if isinstance(session, LlmSession) else None
        if host is not None:
            # a figure can come from a run made in an earlier test (one Offline run per endpoint)
            for run in item.stash.get(RULE_RUNS_KEY, []):
                host.note(run.host_cpu_pressure)
        raise_inconclusive_if_busy(item, failed, host.reason() if host else None, untimed=_not_timing)


def _not_timing(measured: Measurement) -> bool:
    """A verdict no busy host explains: the outputs' accuracy, TEST06, the K-Cloud smoke step's
    failed requests, or a figure refused for them."""
    name = measured.name
    return (
        "accuracy" in name
        or "test06" in name
        or name == "kcloud-smoke"
        or measured.reason.startswith("not certified")
    )


_LAUNCHED: dict[str, LaunchedEndpoint | LaunchError] = {}
"""Per node: the engine the suite launched (or why it could not), until its last LLM test ends."""


def _launched(request: pytest.FixtureRequest, name: str, serving: Serving, python: str) -> LaunchedEndpoint:
    engine = _LAUNCHED.get(name)
    if engine is None:
        lab = LabSession.of(request.config)
        # the node's own transport, not this test's transcript: the engine outlives the test
        transport = lab.transport(name)
        try:
            # a real model loads for minutes: the node's command timeout bounds the wait
            engine = LaunchedEndpoint.start(
                transport, serving, python=python, deadline_s=lab.node(name).command_timeout
            )
        except LaunchError as error:
            engine = error
        except InfrastructureError as error:  # the node dropped mid-launch: same ERROR, said so
            engine = LaunchError(f"the endpoint could not be launched: {error}")
        _LAUNCHED[name] = engine
    if isinstance(engine, LaunchError):
        raise LaunchError(str(engine))  # a fresh exception each test: the first one's traceback is not reused
    return engine


def _node_of(item: pytest.Item | None) -> str | None:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("lab_target") if callspec is not None else None
    return getattr(target, "node_name", None)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After a node's last LLM test in this run, stop the engine the suite launched for it."""
    name = _node_of(item)
    if name is not None and name in _LAUNCHED and _last_of(item.session).get(name) == item.nodeid:
        _stop(name)


_LAST: dict[int, dict[str, str]] = {}
"""Per session (by id): each node's last LLM test in the run order. Tests run grouped by test
function, not by node, so "the next test is another node's" would restart engines; with xdist
one worker owns a node (the plugin's loadgroup), so its last test is the node's last there too."""


def _last_of(session: pytest.Session) -> dict[str, str]:
    if id(session) not in _LAST:
        here = Path(__file__).parent
        last: dict[str, str] = {}
        for item in session.items:
            name = _node_of(item)
            if name is not None and item.path.parent == here:
                last[name] = item.nodeid
        _LAST[id(session)] = last
    return _LAST[id(session)]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Whatever is still launched (an interrupted run) is stopped by pid too."""
    for name in list(_LAUNCHED):
        _stop(name)
    _LAST.pop(id(session), None)


def _stop(name: str) -> None:
    engine = _LAUNCHED.pop(name)
    if isinstance(engine, LaunchedEndpoint):
        # an unreachable node: its engine cannot be signalled from here (the next run's launch says so)
        with contextlib.suppress(InfrastructureError):
            engine.stop()


@pytest.fixture(autouse=True)
def mlperf_rules(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that made a LoadGen figure: MLPerf's rules, rule by rule, in its record
    (``mlperf_rules``), as in the performance suite. Recorded only: the LLM runs' settings are
    still set by hand (no mlperf.conf), so their seed rule does not hold."""
    yield
    runs = request.node.stash.get(RULE_RUNS_KEY, None)
    if runs is not None:
        record_rules(request.node.user_properties, runs)


def _card_watch(node: LabNode, model: DeviceModel | None, targets: tuple[int, ...]) -> CardWatch | None:
    """The vendor tool's listing to sample during each run (None on a CPU reference node)."""
    if model is None or model.vendor == "cpu":
        return None

    def factory(transport: Transport) -> DeviceAdapter:
        return adapter_for(model, transport)

    interval = node.profile.settings.get("telemetry_interval_seconds", 1.0)
    return CardWatch(
        telemetry_commands(factory, node.transport),
        factory,
        targets,
        model.dies_per_card,
        float(interval) if isinstance(interval, int | float) else 1.0,
        tdp_watts=model.tdp_watts.value,
    )

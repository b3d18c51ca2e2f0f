"""Performance (성능) and scalability (확장성), measured with MLPerf LoadGen on the node.

Each test pushes the agent to the node, runs one LoadGen scenario against the node's
backend (emulated card, CPU reference, or a vendor runtime) and judges the figure with the
profile's limits. LoadGen's summary and detail logs are kept as evidence of every figure.
Power is the card's board power from its vendor tool, not MLPerf's wall power.

Every figure sits beside its card's accuracy: one LoadGen AccuracyOnly run per card (the
profile's ``accuracy_task``, scored by the task's metric against the FP32 reference), and the
TEST01 audit comparing the outputs the Offline run logged with it. Each figure's record carries
both (properties ``accuracy`` and ``audits``); a figure of a card whose accuracy did not pass is
FAIL, "not certified", whatever its speed. The accuracy run comes before the soak (stability
suite), which checks accuracy again after it (``testsuites/stability/test_soak_accuracy.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import pytest

from lab.criteria import MeasuredValue, Outcome, evaluate, not_computable
from lab.errors import CriterionFailed, InfrastructureError
from lab.performance.accuracy import (
    ACCURACY_KEY,
    AUDITS_KEY,
    DEFAULT_TARGET_FRACTION,
    CardAccuracy,
    not_certified,
)
from lab.performance.agent_runner import ACCURACY_LOG
from lab.performance.audit import audit_logs
from lab.performance.cache_audit import cache_audit
from lab.performance.evidence import RunEvidence
from lab.performance.figures import efficiency, peak_fraction, scaling
from lab.performance.node_session import PerformanceSession
from lab.performance.result import AgentResult
from lab.performance.rules import RUN_RULES, rules_for
from lab.performance.server_search import TrialResult, find_max_qps
from lab.performance.validity import InvalidRun, detail_errors, run_problem, server_trial_passed
from lab.pytest_plugin.figure_runs import RULE_RUNS_KEY
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, CriteriaView, LabDevice, LabNode, Measure

FULL_LENGTH_RULES = (*RUN_RULES, "TEST04")
"""Rules whose failure, in a full-length run, leaves no figure (ERROR: the lab's settings or a
cache, never the card's speed). Accuracy's verdict is the accuracy criterion's own."""


@dataclass(frozen=True)
class FigureContext:
    """What every figure of this suite is made with: the test's record, the node's performance
    session, the profile's criteria and the test's evidence folder (the ``figures`` fixture)."""

    request: pytest.FixtureRequest
    perf: PerformanceSession
    measure: Measure
    criteria: CriteriaView
    evidence: RunEvidence

    @property
    def properties(self) -> list[tuple[str, object]]:
        """The test record's properties (``accuracy``, ``audits``, power sources...)."""
        properties: list[tuple[str, object]] = self.request.node.user_properties
        return properties

    def card_key(self, device: LabDevice) -> tuple[str, str, int]:
        """A card in this run: what the Offline, TEST04 and accuracy runs are shared by."""
        return (str(self.evidence.run_dir), device.node.name, device.index)


@pytest.fixture
def figures(
    request: pytest.FixtureRequest,
    perf: PerformanceSession,
    measure: Measure,
    criteria: CriteriaView,
    evidence: RunEvidence,
) -> FigureContext:
    """The test's ``FigureContext``."""
    return FigureContext(request, perf, measure, criteria, evidence)


def _require_valid(
    figures: FigureContext,
    name: str,
    value: MeasuredValue,
    results: Sequence[AgentResult],
    evidence: Sequence[str] = (),
) -> None:
    """A figure needs every run it comes from VALID and free of detail-log errors: otherwise it
    is recorded as ERROR with LoadGen's own words (the value kept, never judged) and the test
    is ERROR, never FAIL. In a full-length run MLPerf's run rules and TEST04 must hold too
    (a short run only records that they did not: it is CI's, not a certification's)."""
    figures.request.node.stash.setdefault(RULE_RUNS_KEY, list(results))  # what the rule checker reads
    for result in results:
        problem = run_problem(result)
        if problem is None:
            continue
        _not_a_figure(figures, name, value, evidence, problem)
        raise InvalidRun(f"{name}: {problem}\n{result.summary_text}")
    _refuse_unless_held(figures, name, value, evidence, FULL_LENGTH_RULES)


def _refuse_unless_held(
    figures: FigureContext, name: str, value: MeasuredValue, evidence: Sequence[str], rules: Sequence[str]
) -> None:
    """In a full-length run, no figure (ERROR) when one of ``rules`` did not hold; a short run
    only records its rules. Called once a rule's inputs are in the record's properties."""
    runs = figures.request.node.stash.get(RULE_RUNS_KEY, [])
    if runs and not any(run.short_run for run in runs):
        failed = rules_for(runs, figures.properties).failed(rules)
        if failed:
            problem = "MLPerf rules did not hold: " + "; ".join(rule.describe() for rule in failed)
            _not_a_figure(figures, name, value, evidence, problem)
            raise InvalidRun(f"{name}: {problem}")


def _not_a_figure(
    figures: FigureContext, name: str, value: MeasuredValue, evidence: Sequence[str], problem: str
) -> None:
    criteria = figures.criteria
    judged = evaluate(criteria[name], value, criteria.model, evidence=evidence)
    not_a_figure = replace(judged, verdict=Outcome.ERROR, reason=f"not a figure: {problem}")
    figures.request.node.stash.setdefault(MEASUREMENTS_KEY, []).append(not_a_figure)


def _skip_not_computable(figures: FigureContext, name: str, why: str) -> NoReturn:
    """Record ``name`` as "not computable" (SKIP with the reason, never 0) and skip the test."""
    measured = not_computable(figures.criteria[name], why, figures.criteria.model)
    figures.request.node.stash.setdefault(MEASUREMENTS_KEY, []).append(measured)
    pytest.skip(measured.reason)


_OFFLINE_RUNS: dict[tuple[str, str, int], tuple[AgentResult, tuple[str, ...]]] = {}
"""One Offline run per card and run, shared by the figures MLPerf derives from it (throughput,
efficiency, % of peak, the Server search's starting point): they describe the same performance
window, and the card is not run four times. xdist keeps a node's tests in one process."""


def _offline(figures: FigureContext, device: LabDevice) -> tuple[AgentResult, tuple[str, ...]]:
    """The card's Offline run and its LoadGen logs (evidence paths), run on first use."""
    key = figures.card_key(device)
    if key not in _OFFLINE_RUNS:
        perf = figures.perf
        result = perf.run(perf.plan(device.model).offline([device.index]), f"offline-{device.label}")
        _OFFLINE_RUNS[key] = (result, figures.evidence.loadgen_logs(result))
    return _OFFLINE_RUNS[key]


_CACHE_AUDITS: dict[tuple[str, str, int], tuple[dict[str, object], tuple[str, ...]]] = {}
"""TEST04 per card and run: one run with LoadGen issuing one sample over and over."""


def _cache_audit(figures: FigureContext, device: LabDevice) -> tuple[str, ...]:
    """Run the card's TEST04 (first use) and put it in the record's ``audits``; its logs."""
    key = figures.card_key(device)
    if key not in _CACHE_AUDITS:
        offline, _ = _offline(figures, device)
        request_ = figures.perf.plan(device.model).offline_same_sample([device.index])
        same = figures.perf.run(request_, f"test04-{device.label}")
        _CACHE_AUDITS[key] = (cache_audit(offline, same).to_json(), figures.evidence.loadgen_logs(same))
    audit, logs = _CACHE_AUDITS[key]
    figures.properties.append(("audits", {"TEST04": audit}))
    return logs


def _known_cache_audit(figures: FigureContext, device: LabDevice) -> None:
    """The card's TEST04 in this record too when it has run (the figures share its Offline run)."""
    known = _CACHE_AUDITS.get(figures.card_key(device))
    if known is not None:
        figures.properties.append(("audits", {"TEST04": known[0]}))


_ACCURACY: dict[tuple[str, str, int], tuple[CardAccuracy, tuple[str, ...]]] = {}
"""One accuracy run per card and run, beside every figure of the card."""
_AUDITS: dict[tuple[str, str, int], dict[str, object]] = {}


def _accuracy(figures: FigureContext, device: LabDevice) -> tuple[CardAccuracy, tuple[str, ...]]:
    """The card's accuracy (run on first use; its ``log`` the evidence path of LoadGen's log)."""
    key = figures.card_key(device)
    if key not in _ACCURACY:
        criteria = figures.criteria
        target = criteria.limits("accuracy").minimum if "accuracy" in criteria else None
        card, result = figures.perf.accuracy(
            device.model, device.index, target_fraction=target or DEFAULT_TARGET_FRACTION
        )
        logs = figures.evidence.loadgen_logs(result)
        _ACCURACY[key] = (replace(card, log=_accuracy_log(logs)), logs)
    return _ACCURACY[key]


def _accuracy_log(logs: Sequence[str]) -> str:
    found = [path for path in logs if path.endswith(ACCURACY_LOG)]
    if not found:
        raise InfrastructureError(f"the run kept outputs but no {ACCURACY_LOG} came back: {list(logs)}")
    return found[0]


def _audits(figures: FigureContext, device: LabDevice) -> dict[str, object]:
    """TEST01 for the card: its Offline run's logged outputs against its accuracy run's (no
    entry when the Offline run logged none: the audit did not run, which is not a pass)."""
    key = figures.card_key(device)
    if key not in _AUDITS:
        _, offline_logs = _offline(figures, device)
        card, _ = _accuracy(figures, device)
        run_dir = Path(figures.evidence.run_dir)
        sampled = [path for path in offline_logs if path.endswith(ACCURACY_LOG)]
        audits: dict[str, object] = {}
        if sampled:
            audits["TEST01"] = audit_logs(run_dir / sampled[0], run_dir / card.log).to_json()
        _AUDITS[key] = audits
    return _AUDITS[key]


def _certified(
    figures: FigureContext, device: LabDevice, name: str, value: MeasuredValue, logs: Sequence[str]
) -> None:
    """Measure a figure beside its card's accuracy and audits (record properties ``accuracy``,
    ``audits``); a card whose accuracy did not pass gets FAIL, "not certified", whatever its speed;
    in a full-length run a failed TEST01 (outputs of the performance run unlike the accuracy
    run's) leaves no figure (ERROR)."""
    card, _ = _accuracy(figures, device)
    accuracy = card.to_json()
    figures.properties.append((ACCURACY_KEY, accuracy))
    figures.properties.append((AUDITS_KEY, _audits(figures, device)))
    # TEST01 needs the card's accuracy run, so its rule is checked here, once it is recorded
    _refuse_unless_held(figures, name, value, logs, ("TEST01",))
    why = not_certified(accuracy)
    judged = evaluate(figures.criteria[name], value, figures.criteria.model, evidence=(*logs, card.log))
    if why is None or judged.verdict not in (Outcome.PASS, Outcome.MARGINAL, Outcome.FAIL):
        figures.measure(name, value, evidence=logs)  # certified, or nothing to certify (no limit, no value)
        return
    refused = replace(judged, verdict=Outcome.FAIL, reason=f"{why} (the figure itself: {judged.reason})")
    figures.request.node.stash.setdefault(MEASUREMENTS_KEY, []).append(refused)
    raise CriterionFailed(f"{name}: {refused.reason}")


def _latency_figure(
    figures: FigureContext,
    device: LabDevice,
    scenario: dict[str, object],
    label: str,
    percentile: str,
    name: str,
) -> None:
    """Run ``scenario`` on the card; its LoadGen ``percentile`` latency (ms) is the figure ``name``."""
    result = figures.perf.run(scenario, f"{label}-{device.label}")
    logs = figures.evidence.loadgen_logs(result)
    figure = result.latency_ms(percentile)
    _require_valid(figures, name, figure, [result], logs)
    _certified(figures, device, name, figure, logs)


def test_accuracy(device: LabDevice, figures: FigureContext) -> None:
    """LoadGen AccuracyOnly on the card: the task's metric over every sample, as a fraction of the
    FP32 reference computed on the controller, ≥ the profile's target (99 %)."""
    card, logs = _accuracy(figures, device)
    figures.properties.append((ACCURACY_KEY, card.to_json()))
    figures.properties.append(("accuracy_detail", card.describe()))
    figures.measure("accuracy", card.fraction, evidence=logs)


def test_offline_throughput(device: LabDevice, figures: FigureContext) -> None:
    """MLPerf Offline samples/s ≥ the profile's minimum, from a run LoadGen calls VALID, with
    TEST04 beside it (one sample repeated must not run faster: no cache)."""
    result, logs = _offline(figures, device)
    figure = result.samples_per_second
    if run_problem(result) is None:
        logs = (*logs, *_cache_audit(figures, device))
    _require_valid(figures, "offline-throughput", figure, [result], logs)
    _certified(figures, device, "offline-throughput", figure, logs)


def test_singlestream_latency(device: LabDevice, figures: FigureContext) -> None:
    """MLPerf SingleStream 90th-percentile latency ≤ the profile's maximum (ms), from a VALID run."""
    scenario = figures.perf.plan(device.model).singlestream(device.index)
    _latency_figure(figures, device, scenario, "singlestream", "90.00", "singlestream-p90-latency")


def test_multistream_latency(device: LabDevice, figures: FigureContext) -> None:
    """MLPerf MultiStream 99th-percentile latency ≤ the maximum, where the profile asks for it."""
    if "multistream-p99-latency" not in figures.criteria:
        pytest.skip(f"profile {figures.criteria.profile.name} has no multistream-p99-latency criterion")
    scenario = figures.perf.plan(device.model).multistream(device.index)
    _latency_figure(figures, device, scenario, "multistream", "99.00", "multistream-p99-latency")


def test_server_max_qps(device: LabDevice, figures: FigureContext) -> None:
    """The highest Poisson QPS whose run LoadGen calls VALID — p99 within the profile's bound,
    min duration, min query count and early stopping met — (bracket, then bisect). A trial whose
    detail log reports errors makes the figure ERROR: the search itself cannot be trusted."""
    plan = figures.perf.plan(device.model)
    offline, _ = _offline(figures, device)
    results: list[AgentResult] = []

    def trial(qps: float) -> TrialResult:
        result = figures.perf.run(plan.server(device.index, qps), f"server-{device.label}-{qps:.0f}")
        results.append(result)
        return TrialResult(qps, server_trial_passed(result), result.latency_ms("99.00"))

    start = 0.7 * (offline.samples_per_second or 1.0)
    search = find_max_qps(
        trial,
        start_qps=start,
        max_trials=figures.perf.settings.server_trials,
        tolerance=figures.perf.settings.server_tolerance,
    )
    logs = tuple(path for result in results for path in figures.evidence.loadgen_logs(result))
    figures.evidence.series(
        "server-search-p99", "ms", [t.qps for t in search.trials], [t.p99_ms or 0.0 for t in search.trials]
    )
    figure = search.best_qps if search.best_qps is not None else 0.0
    best = [r for r in results if server_trial_passed(r) and r.settings.get("target_qps") == search.best_qps]
    figures.request.node.stash[RULE_RUNS_KEY] = best[-1:]  # the run behind the figure (none: no rate held)
    with_errors = [result for result in results if detail_errors(result)]
    _require_valid(figures, "server-max-qps", figure, with_errors, logs)
    _certified(figures, device, "server-max-qps", figure, logs)


def test_efficiency(device: LabDevice, figures: FigureContext) -> None:
    """Offline samples/s per watt of the card's own board power over LoadGen's window; a device
    whose tool reports no power (a host CPU) is "not computable", not 0."""
    result, logs = _offline(figures, device)
    _known_cache_audit(figures, device)
    _require_valid(figures, "efficiency", None, [result], logs)  # before any figure is made
    series = figures.perf.series(result, device.model, [device.tool_index])
    power_points = [(s.t, s.power_watts) for s in series if s.power_watts is not None]
    if series and not power_points:
        _skip_not_computable(figures, "efficiency", f"{device.model.tool} reports no board power")
    power_log = figures.evidence.series(
        "board-power", "W", [t for t, _ in power_points], [p for _, p in power_points]
    )
    power = figures.perf.mean_power(result, device.model, [device.tool_index])
    value = efficiency(result.samples_per_second or 0.0, power)
    _certified(figures, device, "efficiency", value, (*logs, power_log))


def test_efficiency_wall(device: LabDevice, figures: FigureContext) -> None:
    """Offline samples/s per watt the whole server draws at the wall (its BMC over Redfish),
    from the same run as ``efficiency``; a node without a BMC is "not computable", not a guess.
    The record names the source of both power figures and the TLS mode of the BMC."""
    figures.properties.append(("power_source.efficiency", f"board: {device.model.tool}"))
    if device.node.bmc is None:
        _skip_not_computable(figures, "efficiency-wall", "the node has no bmc in the inventory")
    result, logs = _offline(figures, device)
    _known_cache_audit(figures, device)
    _require_valid(figures, "efficiency-wall", None, [result], logs)
    wall = figures.perf.wall_series(result)
    if wall is None:
        raise InfrastructureError(f"{device.node.name}: the run carries no wall power series")
    power_log = figures.evidence.series("wall-power", "W", wall.t, wall.watts)
    figures.properties.append(("power_source.efficiency-wall", f"wall: {wall.source}"))
    figures.properties.append(("bmc_tls", wall.tls))  # "insecure" is recorded by name
    if wall.frozen():
        raise InfrastructureError(
            f"{device.node.name}: the BMC's power reading stayed {wall.watts[0]:g} W over {len(wall.watts)} "
            "samples from idle through the loaded window: a frozen sensor, not a figure"
        )
    window = result.wall_window
    if window is None:
        raise InfrastructureError(f"{device.node.name}: the agent reported no wall-clock window origin")
    mean = wall.mean(window)
    if mean is None:
        why = "; ".join(wall.errors) or "no BMC reading fell inside LoadGen's performance window"
        raise InfrastructureError(f"{device.node.name}: wall power: {why}")
    value = efficiency(result.samples_per_second or 0.0, mean)
    logs = (*logs, power_log)
    _certified(figures, device, "efficiency-wall", value, logs)


def test_percent_of_peak(device: LabDevice, figures: FigureContext) -> None:
    """Achieved INT8 operations/s ÷ the catalog's peak; an unknown peak is "not computable", not 0."""
    peak = device.model.int8_tops.value
    if peak is None:
        why = f"the catalog's int8_tops for {device.model.key} is null"
        _skip_not_computable(figures, "percent-of-peak", why)
    result, logs = _offline(figures, device)
    _known_cache_audit(figures, device)
    _require_valid(figures, "percent-of-peak", None, [result], logs)
    if result.ops_per_sample is None:
        why = f"backend {figures.perf.backend.name} does not know the operations per sample"
        _skip_not_computable(figures, "percent-of-peak", why)
    value = peak_fraction(result.samples_per_second or 0.0, result.ops_per_sample, peak)
    _certified(figures, device, "percent-of-peak", value, logs)


@pytest.mark.lab_devices(minimum=2)
def test_multi_card_scaling(node: LabNode, figures: FigureContext) -> None:
    """Offline throughput of all cards of the node's first model ≥ N × one card × the profile's ratio."""
    spec = node.node.accelerators[0]
    model = node.catalog[spec.model]
    cards = list(range(spec.count))
    plan = figures.perf.plan(model)
    one = figures.perf.run(plan.offline(cards[:1]), "scaling-1")
    many = figures.perf.run(plan.offline(cards), f"scaling-{len(cards)}")
    logs = (*figures.evidence.loadgen_logs(one), *figures.evidence.loadgen_logs(many))
    _require_valid(figures, "multi-card-scaling", None, [one, many], logs)
    ratio = scaling(many.samples_per_second or 0.0, one.samples_per_second or 0.0, len(cards))
    figures.measure("multi-card-scaling", ratio, evidence=logs)

"""A figure from an invalid LoadGen run is not a figure: VALID and a clean detail log are
required for every figure, a Server trial passes only when its run is VALID, and what is
wrong is said in LoadGen's own words. Hand-made and captured LoadGen 6.0.17 logs; the suite's
test functions are called with a test double of the performance session (no node)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from lab.agent.summary import parse_detail, parse_summary
from lab.criteria import Measurement, Outcome, evaluate
from lab.errors import CriterionFailed, InfrastructureError
from lab.inventory import load_inventory
from lab.performance.accuracy import CardAccuracy
from lab.performance.evidence import RunEvidence
from lab.performance.result import AgentResult
from lab.performance.rules import MLPERF_CONF_SEEDS
from lab.performance.validity import InvalidRun, run_problem, server_trial_passed
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, CriteriaView

from .conftest import PerfTestbed

REPOSITORY = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"

# One error entry as LoadGen writes it to mlperf_log_detail.txt (logging.cc: LogDetail error)
ERROR_LINE = (
    ':::MLLOG {"key": "error_runtime", "value": "QuerySamplesComplete called with an unknown response id",'
    ' "time_ms": 812.5, "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME",'
    ' "metadata": {"is_error": true, "is_warning": false, "file": "loadgen.cc", "line_no": 1021,'
    ' "pid": 1787, "tid": 1790}}\n'
)


def _valid_offline_summary(samples_per_second: float) -> str:
    text = (DATA / "offline_invalid_summary.txt").read_text()
    text = text.replace("Samples per second: 1724.7", f"Samples per second: {samples_per_second}")
    text = text.replace("Result is : INVALID", "Result is : VALID")
    text = text.replace("Min duration satisfied : NO", "Min duration satisfied : Yes")
    return text.replace(
        " * Increase expected QPS so the loadgen pre-generates a larger (coalesced) query.\n", ""
    )


def _result(summary_text: str, detail_text: str = "", *, short_run: bool = True) -> AgentResult:
    data = {
        "short_run": short_run,  # the captured summaries ran 0.5 s
        "status": "ok",
        "summary": parse_summary(summary_text),
        "summary_text": summary_text,
        "detail": parse_detail(
            (DATA / "offline_detail_excerpt.txt").read_text().split("\n")[0] + "\n" + detail_text
        ),
        "telemetry": {"samples": []},
        "settings": {"min_duration_s": 600.0},
        "window": {"start": 0.0, "end": 600.0},
        "ops_per_sample": 8.2e9,
    }
    return AgentResult.parse(json.dumps(data), node="n1")


def test_a_valid_run_with_a_clean_detail_log_backs_a_figure() -> None:
    assert run_problem(_result(_valid_offline_summary(5000.0))) is None


def test_an_invalid_run_is_explained_in_loadgens_words() -> None:
    problem = run_problem(_result((DATA / "offline_invalid_summary.txt").read_text()))
    assert problem == (
        "LoadGen result is INVALID: Min duration satisfied : NO Recommendations:"
        " * Increase expected QPS so the loadgen pre-generates a larger (coalesced) query."
    )


def test_detail_log_errors_void_even_a_valid_run() -> None:
    result = _result(_valid_offline_summary(5000.0), ERROR_LINE)
    assert result.valid  # the summary alone says VALID
    assert run_problem(result) == (
        "LoadGen's detail log reports errors: "
        "error_runtime: QuerySamplesComplete called with an unknown response id"
    )


def test_a_server_trial_passes_only_when_the_run_is_valid() -> None:
    # captured: latency held ("Performance constraints satisfied : Yes") but early stopping did not
    server = _result((DATA / "server_summary.txt").read_text())
    assert server.performance_constraints_met is True
    assert server_trial_passed(server) is False
    valid = (DATA / "server_summary.txt").read_text().replace("INVALID", "VALID")
    assert server_trial_passed(_result(valid)) is True
    assert server_trial_passed(_result(valid, ERROR_LINE)) is False


# --- the suite's figures, with a test double of PerformanceSession ------------------------


def _suite() -> ModuleType:
    path = REPOSITORY / "testsuites" / "performance" / "test_performance.py"
    spec = importlib.util.spec_from_file_location("perf_suite_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up while it is made
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]  # a fresh module each time: the suite's per-run caches start empty
    return module


class FakePerf:
    """Stands in for ``PerformanceSession``: ``run`` answers with prepared results in order;
    ``accuracy`` with a passing card and a LoadGen accuracy log written to ``folder``."""

    def __init__(
        self, answer: Callable[[dict[str, object]], AgentResult], folder: Path, top1: float = 0.978
    ) -> None:
        self.answer = answer
        self.folder = folder
        self.top1 = top1
        self.backend = SimpleNamespace(name="emulated")
        self.settings = SimpleNamespace(server_trials=4, server_tolerance=0.05)

    def plan(self, model: object) -> SimpleNamespace:
        return SimpleNamespace(
            offline=lambda devices: {"scenario": "Offline"},
            offline_same_sample=lambda devices: {"scenario": "Offline", "issue_same_sample": 3},
            server=lambda device, qps: {"scenario": "Server", "qps": qps},
        )

    def run(self, request: dict[str, object], label: str) -> AgentResult:
        return self.answer(request)

    def accuracy(
        self, model: object, device: int, *, target_fraction: float
    ) -> tuple[CardAccuracy, AgentResult]:
        log = self.folder / "accuracy-npu0-1-mlperf_log_accuracy.json"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("[]", encoding="utf-8")
        card = CardAccuracy("digits", "top1", self.top1, 0.98, target_fraction, 450, 0, str(log))
        return card, replace(_result(_valid_offline_summary(5000.0)), evidence=(str(log),))

    def series(self, result: AgentResult, model: object, indexes: Sequence[int]) -> list[object]:
        return [SimpleNamespace(t=1.0, power_watts=100.0)]

    def mean_power(self, result: AgentResult, model: object, indexes: Sequence[int]) -> float:
        return 100.0


def _call(
    tmp_path: Path,
    name: str,
    answer: Callable[[dict[str, object]], AgentResult],
    properties: list[tuple[str, object]] | None = None,
    top1: float = 0.978,
) -> tuple[BaseException | None, list[Measurement]]:
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    catalog = inventory.catalog
    criteria = CriteriaView(inventory.profiles["kcloud-npu-v1"], "warboy")
    request = SimpleNamespace(
        node=SimpleNamespace(
            stash=pytest.Stash(), user_properties=properties if properties is not None else []
        )
    )
    measurements: list[Measurement] = request.node.stash.setdefault(MEASUREMENTS_KEY, [])

    def measure(criterion: str, value: object, *, evidence: Sequence[str] = ()) -> Measurement:
        result = evaluate(criteria[criterion], value, "warboy", evidence=evidence)  # type: ignore[arg-type]
        measurements.append(result)
        if result.verdict is Outcome.FAIL:
            raise CriterionFailed(result.reason)
        return result

    device = SimpleNamespace(
        node=SimpleNamespace(name="n1"), index=0, label="npu0", model=catalog["warboy"], tool_index=0
    )
    suite = _suite()
    perf = FakePerf(answer, tmp_path / "fake-agent", top1)
    evidence = RunEvidence(tmp_path, f"t::{name}")
    arguments = {"device": device, "figures": suite.FigureContext(request, perf, measure, criteria, evidence)}
    function = getattr(suite, name)
    wanted = function.__code__.co_varnames[: function.__code__.co_argcount]
    try:
        function(**{key: arguments[key] for key in wanted})
    except (AssertionError, InfrastructureError) as error:
        return error, measurements
    return None, measurements


INVALID_OFFLINE = (DATA / "offline_invalid_summary.txt").read_text()


@pytest.mark.parametrize("name", ["test_offline_throughput", "test_efficiency", "test_percent_of_peak"])
def test_figures_of_an_invalid_offline_run_are_error_not_fail(tmp_path: Path, name: str) -> None:
    # 1724.7 samples/s misses warboy's 3000 minimum: on an INVALID run that is no verdict at all
    error, measurements = _call(tmp_path, name, lambda request: _result(INVALID_OFFLINE))
    assert isinstance(error, InvalidRun), error
    (measured,) = measurements
    assert measured.verdict is Outcome.ERROR
    assert measured.reason.startswith("not a figure: LoadGen result is INVALID: Min duration satisfied : NO")


@pytest.mark.parametrize("name", ["test_offline_throughput", "test_efficiency", "test_percent_of_peak"])
def test_figures_of_a_run_with_detail_log_errors_are_error(tmp_path: Path, name: str) -> None:
    error, measurements = _call(
        tmp_path, name, lambda request: _result(_valid_offline_summary(5000.0), ERROR_LINE)
    )
    assert isinstance(error, InvalidRun), error
    assert measurements[-1].verdict is Outcome.ERROR
    assert "QuerySamplesComplete called with an unknown response id" in measurements[-1].reason


def test_a_valid_offline_run_is_judged(tmp_path: Path) -> None:
    error, measurements = _call(
        tmp_path, "test_offline_throughput", lambda request: _result(_valid_offline_summary(5000.0))
    )
    assert error is None and measurements[-1].verdict is Outcome.PASS
    error, measurements = _call(
        tmp_path / "slow", "test_offline_throughput", lambda request: _result(_valid_offline_summary(2000.0))
    )
    assert isinstance(error, CriterionFailed) and measurements[-1].verdict is Outcome.FAIL


def test_a_fast_figure_of_a_card_with_wrong_outputs_is_not_certified(tmp_path: Path) -> None:
    # 5000 samples/s clears warboy's 3000 minimum: alone it would PASS (test above); with the
    # card's top-1 at 0.858 of FP32 0.98 (87.5 %, target 99 %) it is FAIL, whatever its speed
    fast = lambda request: _result(_valid_offline_summary(5000.0))  # noqa: E731
    error, measurements = _call(tmp_path, "test_offline_throughput", fast, top1=0.858)
    assert isinstance(error, CriterionFailed), error
    refused = measurements[-1]
    assert refused.verdict is Outcome.FAIL and refused.value == 5000.0
    assert refused.reason.startswith("not certified: accuracy 0.8580 is 87.6% of FP32 0.9800")
    assert "whatever its speed" in refused.reason and "the figure itself" in refused.reason
    error, measurements = _call(tmp_path / "right", "test_offline_throughput", fast, top1=0.978)
    assert error is None and measurements[-1].verdict is Outcome.PASS  # the same figure, right outputs


def test_server_max_qps_counts_only_valid_trials(tmp_path: Path) -> None:
    # every trial meets its latency but not early stopping (the captured summary): no VALID
    # rate, so the best QPS is 0 — the search no longer reports a rate LoadGen called INVALID
    server = (DATA / "server_summary.txt").read_text()

    def answer(request: dict[str, object]) -> AgentResult:
        return _result(_valid_offline_summary(5000.0) if request["scenario"] == "Offline" else server)

    error, measurements = _call(tmp_path, "test_server_max_qps", answer)
    assert isinstance(error, CriterionFailed), error
    assert measurements[-1].value == 0.0


def test_server_max_qps_with_detail_log_errors_is_error(tmp_path: Path) -> None:
    valid_server = (DATA / "server_summary.txt").read_text().replace("INVALID", "VALID")

    def answer(request: dict[str, object]) -> AgentResult:
        if request["scenario"] == "Offline":
            return _result(_valid_offline_summary(5000.0))
        return _result(valid_server, ERROR_LINE if float(str(request["qps"])) > 5000 else "")

    error, measurements = _call(tmp_path, "test_server_max_qps", answer)
    assert isinstance(error, InvalidRun), error
    assert measurements[-1].verdict is Outcome.ERROR
    assert "error_runtime" in measurements[-1].reason


@pytest.mark.integration
def test_a_real_server_trial_within_latency_but_invalid_does_not_pass(perf_testbed: PerfTestbed) -> None:
    # 0.5 s at 100 q/s: every query is far under a 500 ms bound (generous, so that a busy machine
    # cannot miss it), but ~50 queries are too few for LoadGen's early-stopping estimate of the
    # p99, so LoadGen itself calls the run INVALID
    request = {
        "scenario": "Server",
        "backend": {"name": "emulated", "options": {"model": "resnet50", "batch": 8}},
        "devices": [0],
        "min_duration_s": 0.5,
        "min_query_count": 10,
        "target_qps": 100.0,
        "latency_bound_ms": 500.0,
        "deadline_s": 60.0,
    }
    result = perf_testbed.runner("acc-warboy").run(request, label="server-too-short")
    assert result.performance_constraints_met is True, result.summary_text  # what used to pass it
    assert not result.valid
    assert server_trial_passed(result) is False
    problem = run_problem(result)
    assert problem is not None and "Early stopping satisfied: NO" in problem, problem


# --- MLPerf's rules in full-length runs ----------------------------------------------------

SEEDS = MLPERF_CONF_SEEDS["6.0"]


def _full_length_offline(samples_per_second: float, *, seeds: tuple[int, ...] = SEEDS) -> str:
    text = _valid_offline_summary(samples_per_second)
    for name, value in zip(
        ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed"), seeds, strict=True
    ):
        text = text.replace(f"{name} : 0", f"{name} : {value}")
    text = text.replace("min_duration (ms): 500", "min_duration (ms): 600000")
    return text.replace("samples_per_query : 550", "samples_per_query : 3000000")


def test_a_full_length_run_holding_every_run_rule_is_judged_and_keeps_its_test04(tmp_path: Path) -> None:
    def answer(request: dict[str, object]) -> AgentResult:
        return _result(
            _full_length_offline(5000.0 if "issue_same_sample" not in request else 5100.0), short_run=False
        )

    error, measurements = _call(tmp_path, "test_offline_throughput", answer)
    assert error is None and measurements[-1].verdict is Outcome.PASS


def test_a_full_length_figure_whose_logged_outputs_differ_from_the_accuracy_run_is_error(
    tmp_path: Path,
) -> None:
    """TEST01: the Offline run logged an output for sample 0 that the accuracy run (which logged
    none for it here) did not give: in a full-length run that figure is not a figure."""
    sampled = tmp_path / "offline" / "offline-npu0-mlperf_log_accuracy.json"
    sampled.parent.mkdir(parents=True)
    sampled.write_text('[{"seq_id": 0, "qsl_idx": 0, "data": "0000803f"}]', encoding="utf-8")

    def answer(request: dict[str, object]) -> AgentResult:
        ran = _result(
            _full_length_offline(5000.0 if "issue_same_sample" not in request else 5100.0), short_run=False
        )
        return replace(ran, evidence=(str(sampled),)) if "issue_same_sample" not in request else ran

    error, measurements = _call(tmp_path, "test_offline_throughput", answer)
    assert isinstance(error, InvalidRun), error
    assert measurements[-1].verdict is Outcome.ERROR
    assert measurements[-1].reason.startswith("not a figure: MLPerf rules did not hold: TEST01"), (
        measurements[-1].reason
    )


def test_a_full_length_figure_whose_seeds_are_not_mlperf_confs_is_error(tmp_path: Path) -> None:
    def answer(request: dict[str, object]) -> AgentResult:
        return _result(_full_length_offline(5000.0, seeds=(0, 0, 0)), short_run=False)

    error, measurements = _call(tmp_path, "test_percent_of_peak", answer)
    assert isinstance(error, InvalidRun), error
    assert measurements[-1].verdict is Outcome.ERROR
    assert measurements[-1].reason.startswith(
        "not a figure: MLPerf rules did not hold: seeds (qsl_rng_seed 0"
    )


def test_a_card_serving_repeats_from_a_cache_has_no_full_length_figure(tmp_path: Path) -> None:
    def answer(request: dict[str, object]) -> AgentResult:
        fast = "issue_same_sample" in request  # one sample repeated: 3 × faster
        return _result(_full_length_offline(15000.0 if fast else 5000.0), short_run=False)

    error, measurements = _call(tmp_path, "test_offline_throughput", answer)
    assert isinstance(error, InvalidRun), error
    assert (
        "MLPerf rules did not hold: TEST04 (one sample repeated: 15000.0 samples/s" in measurements[-1].reason
    )


def test_a_short_run_records_a_failed_test04_without_changing_the_verdict(tmp_path: Path) -> None:
    properties: list[tuple[str, object]] = []

    def answer(request: dict[str, object]) -> AgentResult:
        return _result(_valid_offline_summary(15000.0 if "issue_same_sample" in request else 5000.0))

    error, measurements = _call(tmp_path, "test_offline_throughput", answer, properties)
    assert error is None and measurements[-1].verdict is Outcome.PASS
    audits: dict[str, object] = {}
    for key, value in properties:  # TEST04 and TEST01 each add an ``audits`` entry
        if key == "audits" and isinstance(value, dict):
            audits.update(value)
    test04 = audits["TEST04"]
    assert isinstance(test04, dict) and test04["passed"] is False

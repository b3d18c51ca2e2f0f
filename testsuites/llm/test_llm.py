"""LLM serving (성능 / 호환성): TTFT, TPOT, tokens/s and accuracy of the node's OpenAI-compatible endpoint.

Each test has the agent run LoadGen (token latencies, streaming) on the node against the
endpoint its inventory entry declares (``serving:``) and judges the figure with the
profile's limits. The Server run uses the profile's p99 TTFT/TPOT maxima as LoadGen's own
constraints; the max-rate search finds the highest Poisson rate that keeps both within them.
Every run proves it was served by ``serving.cards`` (conftest, ``lab.llm.silicon``). Tokens/s
per watt: the serving cards' board power (vendor tool) and, where the node has a BMC, the wall.
Accuracy: greedy outputs of the fixed prompt set (data/references.json) vs their references
(exact match recorded, ROUGE-L judged) and TEST06's rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from lab.agent.llm_accuracy import audit_test06, score_outputs
from lab.criteria import not_computable
from lab.inventory.llm_references import read_reference_set
from lab.llm.session import LlmFigures, LlmSession
from lab.performance.server_search import TrialResult, find_max_qps
from lab.performance.validity import InvalidRun
from lab.pytest_plugin.figure_runs import RULE_RUNS_KEY
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, CriteriaView, Measure
from lab.pytest_plugin.session import LabSession
from lab.results.series import Series, write_series

REFERENCES = Path(__file__).parent / "data" / "references.json"
SWEEP_MIN_QUERIES = 4
TEST06_LENGTH_TOKENS = 64  # past every reference's EOS (the emulated model stops after 12-59 tokens)
TEST06_LENGTH_PROMPTS = 2
SERVER_QPS = 2.0  # PROVISIONAL: a rate every emulated card sustains; the max-rate search is not built yet


def _samples(references: str | None = None) -> list[dict[str, object]]:
    """The node's reference set (``serving.references``, checked at inventory load), else the suite's."""
    if references is not None:
        return read_reference_set(Path(references))
    samples: list[dict[str, object]] = json.loads(REFERENCES.read_text(encoding="utf-8"))["samples"]
    return samples


def _prompts() -> list[str]:
    return [str(sample["prompt"]) for sample in _samples()] * 2


def _require_valid(request: pytest.FixtureRequest, figures: LlmFigures) -> None:
    request.node.stash[RULE_RUNS_KEY] = [figures.result]  # for the rule checker (conftest)
    request.node.user_properties.append(("loadgen_validity", figures.validity))
    if figures.validity != "VALID":
        raise InvalidRun(f"LoadGen run {figures.validity}: {figures.invalid_reason or 'no reason given'}")


_OFFLINE: dict[tuple[str, str], LlmFigures] = {}
"""One Offline run per endpoint and test session, shared by tokens/s and tokens/s per watt (one
performance window, as MLPerf derives both from it); xdist keeps a node's tests in one process."""


def _offline(request: pytest.FixtureRequest, llm: LlmSession) -> LlmFigures:
    key = (str(request.config.rootpath), llm.serving.address)
    if key not in _OFFLINE:
        _OFFLINE[key] = llm.offline(_prompts())
    return _OFFLINE[key]


_SERVER: dict[tuple[str, str, float], LlmFigures] = {}
"""Server runs per endpoint and rate: the fixed-rate latency test's run is the search's first trial."""


def _server(
    request: pytest.FixtureRequest, llm: LlmSession, qps: float, criteria: CriteriaView
) -> LlmFigures:
    key = (str(request.config.rootpath), llm.serving.address, qps)
    if key not in _SERVER:
        _SERVER[key] = llm.server(
            _prompts(),
            target_qps=qps,
            ttft_bound_ms=criteria.limits("llm-server-ttft-p99").maximum or 2000.0,
            tpot_bound_ms=criteria.limits("llm-server-tpot-p99").maximum or 200.0,
        )
    return _SERVER[key]


def test_llm_offline_tokens_per_second(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure
) -> None:
    """Output tokens/s at saturation ≥ the profile's minimum, from a VALID Offline run."""
    figures = _offline(request, llm)
    _require_valid(request, figures)
    assert figures.tokens_per_s is not None, "LoadGen reported no tokens/s"
    measure("llm-offline-tokens-per-second", figures.tokens_per_s)


def test_llm_tokens_per_watt(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure, criteria: CriteriaView
) -> None:
    """Offline output tokens/s per board watt of the serving cards, and per wall watt (BMC)."""
    if llm.watch is None:
        why = "a CPU reference node has no card whose board power a vendor tool reports"
        stash = request.node.stash.setdefault(MEASUREMENTS_KEY, [])
        stash.append(not_computable(criteria["llm-tokens-per-watt"], why, criteria.model))
        pytest.skip(why)
    figures = _offline(request, llm)
    _require_valid(request, figures)
    assert figures.tokens_per_s is not None, "LoadGen reported no tokens/s"
    board = llm.board_watts(figures.result)
    if board is None or board <= 0:
        raise InvalidRun("no board power of the serving cards was read during the run")
    request.node.user_properties.append(("llm_board_watts", round(board, 1)))
    wall, series = llm.wall_watts(figures.result)
    measure("llm-tokens-per-watt", figures.tokens_per_s / board)
    if series is None:
        why = "the node has no bmc in the inventory"
        request.node.stash.setdefault(MEASUREMENTS_KEY, []).append(
            not_computable(criteria["llm-tokens-per-wall-watt"], why, criteria.model)
        )
        return
    if wall is None or wall <= 0:
        raise InvalidRun(
            f"no wall power sample inside the run's window ({'; '.join(series.errors) or 'none'})"
        )
    request.node.user_properties.append(("power_source.llm-tokens-per-wall-watt", f"wall: {series.source}"))
    measure("llm-tokens-per-wall-watt", figures.tokens_per_s / wall)


def test_llm_server_token_latencies(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure, criteria: CriteriaView
) -> None:
    """p99 TTFT and p99 TPOT at the Server rate within the profile's maxima (LoadGen's constraints)."""
    figures = _server(request, llm, SERVER_QPS, criteria)
    # A short Server run cannot meet LoadGen's p99 early stopping (662 queries): its validity is
    # recorded, the percentiles are judged; a full-length run must be VALID.
    request.node.user_properties.append(("loadgen_validity", figures.validity))
    request.node.stash[RULE_RUNS_KEY] = [figures.result]  # for the rule checker (conftest)
    if figures.ttft_p99_ms is None or figures.tpot_p99_ms is None:
        raise InvalidRun("LoadGen reported no token latencies")
    measure("llm-server-ttft-p99", figures.ttft_p99_ms)
    measure("llm-server-tpot-p99", figures.tpot_p99_ms)


def test_llm_server_max_rate(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure, criteria: CriteriaView
) -> None:
    """Highest Poisson rate whose p99 TTFT and p99 TPOT stay within the profile's maxima."""
    ttft_max = criteria.limits("llm-server-ttft-p99").maximum or 2000.0
    tpot_max = criteria.limits("llm-server-tpot-p99").maximum or 200.0
    settings = criteria.profile.settings

    def setting(name: str, default: float) -> float:
        value = settings.get(name, default)
        return float(value) if isinstance(value, int | float) else default

    def trial(qps: float) -> TrialResult:
        figures = _server(request, llm, qps, criteria)
        if figures.ttft_p99_ms is None or figures.tpot_p99_ms is None:
            raise InvalidRun(f"LoadGen reported no token latencies at {qps:.2f} q/s")
        passed = figures.ttft_p99_ms <= ttft_max and figures.tpot_p99_ms <= tpot_max
        return TrialResult(
            qps, passed, figures.tpot_p99_ms, detail=(figures.ttft_p99_ms, figures.tpot_p99_ms)
        )

    search = find_max_qps(
        trial,
        start_qps=setting("llm_server_search_start_qps", SERVER_QPS),
        max_trials=int(setting("llm_server_search_trials", 4)),
        tolerance=setting("llm_server_search_tolerance", 0.1),
        # below the criterion's minimum the card fails anyway; slower trials would only take longer
        min_qps=criteria.limits("llm-server-max-rate").minimum or 0.5,
    )
    request.node.user_properties.append(("llm_server_search", search.describe()))
    request.node.user_properties.append(("llm_server_search_bracketed", search.bracketed))
    request.node.user_properties.append(
        (
            "llm_server_trials",
            "; ".join(
                f"{t.qps:.2f} q/s: p99 TTFT {t.detail[0]:.0f} ms, TPOT {t.detail[1]:.0f} ms"  # type: ignore[index]
                for t in search.trials
            ),
        )
    )
    measure("llm-server-max-rate", search.best_qps if search.best_qps is not None else 0.0)


def _length_samples(
    settings: Mapping[str, object], samples: list[dict[str, object]]
) -> list[dict[str, object]]:
    """TEST06's output-length rule: prompts asked for a fixed length past EOS (``ignore_eos``),
    which must come back exactly that long (setting ``llm_test06_length_tokens``; 0: not asked)."""
    length = settings.get("llm_test06_length_tokens", TEST06_LENGTH_TOKENS)
    if not isinstance(length, int) or length <= 0:
        return []
    prompts = [str(sample["prompt"]) for sample in samples[:TEST06_LENGTH_PROMPTS]]
    return [{"prompt": prompt, "max_tokens": length, "ignore_eos": True} for prompt in prompts]


def test_llm_accuracy(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure, criteria: CriteriaView
) -> None:
    """Greedy outputs match their references (ROUGE-L) and no response breaks TEST06's rules,
    the asked output length (``ignore_eos``) among them."""
    samples = _samples(llm.serving.references)
    request.node.user_properties.append(("llm_references", llm.serving.references or str(REFERENCES)))
    asked = samples + _length_samples(criteria.profile.settings, samples)
    every = llm.accuracy(asked, _prompts())
    assert len(every) == len(asked), f"{len(every)} outputs for {len(asked)} prompts"
    outputs = every[: len(samples)]  # scored against references; the length prompts only audited
    score = score_outputs(
        [(str(out["text"]), str(s["reference"])) for out, s in zip(outputs, samples, strict=True)]
    )
    request.node.user_properties.append(("llm_exact_match", score["exact_match"]))
    violations: list[str] = []
    for out in every:
        tokens = [str(token) for token in out.get("tokens", [])]  # type: ignore[attr-defined]
        first = out.get("first_token")
        finish = out.get("finish_reason")
        usage = out.get("usage_tokens")
        violations += audit_test06(
            tokens,
            str(first) if first is not None else None,
            str(finish) if finish else None,
            int(str(out["max_tokens"])),
            ignore_eos=out.get("ignore_eos") is True,
            reported_tokens=usage if isinstance(usage, int) else None,
        )
    request.node.user_properties.append(("llm_test06_violations", violations[:10]))
    measure("llm-test06", len(violations))
    measure("llm-accuracy-rouge-l", score["rouge_l"])


def test_llm_concurrency_sweep(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure, criteria: CriteriaView
) -> None:
    """Offline runs at each concurrency of the profile's sweep: tokens/s against p99 TPOT, drawn as
    the throughput–latency curve; the figure is tokens/s at the last point within the TPOT bound."""
    tpot_max = criteria.limits("llm-server-tpot-p99").maximum or 200.0
    text = str(criteria.profile.settings.get("llm_sweep_concurrency", "2,8,16"))
    try:
        levels = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise InvalidRun(
            f"profile setting llm_sweep_concurrency {text!r} is not a list such as '1,4,16'"
        ) from None
    points: list[tuple[int, float, float]] = []
    for level in levels:
        # two rounds of ``level`` streams (at least 4 queries): a point's cost stays bounded on slow cards
        prompts = [_prompts()[i % len(_prompts())] for i in range(max(SWEEP_MIN_QUERIES, 2 * level))]
        figures = llm.offline(prompts, concurrency=level, expected_qps=1.0, label=f"llm-sweep-{level}")
        _require_valid(request, figures)
        # Offline: LoadGen gives tokens/s; p99 TPOT is the agent's client's, timed per token on the node
        tpot = figures.tpot_p99_ms if figures.tpot_p99_ms is not None else figures.client_tpot_p99_ms
        if figures.tokens_per_s is None or tpot is None:
            raise InvalidRun(f"no tokens/s or TPOT at concurrency {level}")
        points.append((level, figures.tokens_per_s, tpot))
    request.node.user_properties.append(
        ("llm_sweep", "; ".join(f"{c} streams: {t:.1f} tokens/s, p99 TPOT {p:.1f} ms" for c, t, p in points))
    )
    curve = write_series(
        LabSession.of(request.config).run_dir,
        request.node.nodeid,
        Series(
            name="throughput-latency",
            unit="ms",
            t=tuple(t for _, t, _ in points),
            values=tuple(p for _, _, p in points),
            kind="curve",
            maximum=tpot_max,
            x_unit="tokens/s",
        ),
    )
    within = [t for _, t, p in points if p <= tpot_max]
    measure("llm-curve-tokens-per-second", max(within) if within else 0.0, evidence=(curve,))

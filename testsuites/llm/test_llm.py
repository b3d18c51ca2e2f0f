"""LLM serving (성능 / 호환성): TTFT, TPOT, tokens/s and accuracy of the node's OpenAI-compatible endpoint.

Each test has the agent run LoadGen (token latencies, streaming) on the node against the
endpoint its inventory entry declares (``serving:``) and judges the figure with the
profile's limits. The Server run uses the profile's p99 TTFT/TPOT maxima as LoadGen's own
constraints. Accuracy: greedy outputs of the fixed prompt set (data/references.json) vs their
references (exact match recorded, ROUGE-L judged) and TEST06's rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.agent.llm_accuracy import audit_test06, score_outputs
from lab.llm.session import LlmFigures, LlmSession
from lab.performance.validity import InvalidRun
from lab.pytest_plugin.figure_runs import RULE_RUNS_KEY
from lab.pytest_plugin.fixtures import CriteriaView, Measure

REFERENCES = Path(__file__).parent / "data" / "references.json"
SERVER_QPS = 2.0  # PROVISIONAL: a rate every emulated card sustains; the max-rate search is not built yet


def _samples() -> list[dict[str, object]]:
    samples: list[dict[str, object]] = json.loads(REFERENCES.read_text(encoding="utf-8"))["samples"]
    return samples


def _prompts() -> list[str]:
    return [str(sample["prompt"]) for sample in _samples()] * 2


def _require_valid(request: pytest.FixtureRequest, figures: LlmFigures) -> None:
    request.node.stash[RULE_RUNS_KEY] = [figures.result]  # for the rule checker (conftest)
    request.node.user_properties.append(("loadgen_validity", figures.validity))
    if figures.validity != "VALID":
        raise InvalidRun(f"LoadGen run {figures.validity}: {figures.invalid_reason or 'no reason given'}")


def test_llm_offline_tokens_per_second(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure
) -> None:
    """Output tokens/s at saturation ≥ the profile's minimum, from a VALID Offline run."""
    figures = llm.offline(_prompts())
    _require_valid(request, figures)
    assert figures.tokens_per_s is not None, "LoadGen reported no tokens/s"
    measure("llm-offline-tokens-per-second", figures.tokens_per_s)


def test_llm_server_token_latencies(
    request: pytest.FixtureRequest, llm: LlmSession, measure: Measure, criteria: CriteriaView
) -> None:
    """p99 TTFT and p99 TPOT at the Server rate within the profile's maxima (LoadGen's constraints)."""
    ttft_max = criteria.limits("llm-server-ttft-p99").maximum or 2000.0
    tpot_max = criteria.limits("llm-server-tpot-p99").maximum or 200.0
    figures = llm.server(_prompts(), target_qps=SERVER_QPS, ttft_bound_ms=ttft_max, tpot_bound_ms=tpot_max)
    # A short Server run cannot meet LoadGen's p99 early stopping (662 queries): its validity is
    # recorded, the percentiles are judged; a full-length run must be VALID.
    request.node.user_properties.append(("loadgen_validity", figures.validity))
    request.node.stash[RULE_RUNS_KEY] = [figures.result]  # for the rule checker (conftest)
    if figures.ttft_p99_ms is None or figures.tpot_p99_ms is None:
        raise InvalidRun("LoadGen reported no token latencies")
    measure("llm-server-ttft-p99", figures.ttft_p99_ms)
    measure("llm-server-tpot-p99", figures.tpot_p99_ms)


def test_llm_accuracy(request: pytest.FixtureRequest, llm: LlmSession, measure: Measure) -> None:
    """Greedy outputs match their references (ROUGE-L) and no response breaks TEST06's rules."""
    samples = _samples()
    outputs = llm.accuracy(samples, _prompts())
    assert len(outputs) == len(samples), f"{len(outputs)} outputs for {len(samples)} prompts"
    score = score_outputs(
        [(str(out["text"]), str(s["reference"])) for out, s in zip(outputs, samples, strict=True)]
    )
    request.node.user_properties.append(("llm_exact_match", score["exact_match"]))
    violations: list[str] = []
    for out in outputs:
        tokens = [str(token) for token in out.get("tokens", [])]  # type: ignore[attr-defined]
        first = out.get("first_token")
        finish = out.get("finish_reason")
        violations += audit_test06(
            tokens,
            str(first) if first is not None else None,
            str(finish) if finish else None,
            int(str(out["max_tokens"])),
        )
    request.node.user_properties.append(("llm_test06_violations", violations[:10]))
    measure("llm-test06", len(violations))
    measure("llm-accuracy-rouge-l", score["rouge_l"])

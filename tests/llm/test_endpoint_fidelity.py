"""LoadGen with token latencies against the emulated card's endpoint: measured TTFT/TPOT vs ground truth.

The endpoint is a real HTTP server process; the figures are what the client measured over
the socket. Ground truth is either the timing model's closed form (a request alone) or the
step deadlines the engine scheduled (batched runs), and they must agree within 5 %.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean

import pytest

from lab.agent.llm_accuracy import audit_test06, score_outputs
from lab.agent.llm_client import stream_completion
from lab.agent.llm_loadgen import LlmRun, run_llm
from lab.emulator.llm_text import input_tokens
from lab.emulator.llm_timing import LlmCard
from tests.performance.conftest import sleep_overshoot_ms

from .conftest import MODEL, EndpointFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("quiet_cpu")]
# A busy host only *adds* latency (a late wake-up, a late read), so a systematic error shows in
# two runs while a burst of foreign load rarely hits both; a host whose plain 2 ms sleeps wake
# more than this late cannot show a 5 % bound on these ~20-150 ms figures: the test says so
# and skips, it never passes silently.
MAX_HOST_OVERSHOOT_MS = 1.0
CARD = {"prefill_s_per_token": 0.004, "decode_base_s": 0.02, "decode_s_per_running": 0.002}
PROMPTS = [" ".join(f"word{k}" for k in range(24 + 4 * index)) for index in range(16)]
TOLERANCE = 0.05
REFERENCES = Path(__file__).resolve().parents[2] / "testsuites" / "llm" / "data" / "references.json"


def _run(address: str, tmp_path: Path, **changes: object) -> tuple[LlmRun, dict[str, object]]:
    settings: dict[str, object] = {
        "address": address,
        "model": MODEL,
        "prompts": PROMPTS,
        "max_tokens": 12,
        "output_dir": str(tmp_path / "loadgen"),
        "min_duration_s": 0.5,
        "min_query_count": 8,
        "expected_qps": 8.0,
    }
    settings.update(changes)
    run = LlmRun(**settings)  # type: ignore[arg-type]
    return run, run_llm(run)


def test_a_request_alone_has_the_models_ttft_and_tpot(llm_endpoint: EndpointFactory, tmp_path: Path) -> None:
    endpoint = llm_endpoint(card=CARD)
    card = LlmCard(**CARD)  # type: ignore[arg-type]
    # the first token of a request alone comes after its prefill; every later one after a batch-1 step
    truth_ttft = mean(card.prefill_s(input_tokens(p)) for p in PROMPTS[:6])
    truth_tpot = card.decode_step_s(1)
    measured: list[tuple[float, float]] = []
    for attempt in range(2):
        run, result = _run(
            endpoint.address, tmp_path / str(attempt), prompts=PROMPTS[:6], concurrency=1, min_query_count=6
        )
        assert result["status"] == "ok" and len(run.completions) >= 6
        measured.append(
            (mean(c.ttft_s or 0.0 for c in run.completions), mean(c.tpot_s or 0.0 for c in run.completions))
        )
        ttft, tpot = measured[-1]
        if ttft == pytest.approx(truth_ttft, rel=TOLERANCE) and tpot == pytest.approx(
            truth_tpot, rel=TOLERANCE
        ):
            return
    ttft, tpot = min(m[0] for m in measured), min(m[1] for m in measured)
    # a TTFT is never measured shorter than scheduled (a busy host only adds); a TPOT can be, a
    # little, when the first token arrived late and the rest on the engine's schedule
    assert ttft >= 0.99 * truth_ttft
    overshoot = sleep_overshoot_ms()
    if overshoot > MAX_HOST_OVERSHOOT_MS:
        pytest.skip(
            f"host too busy for a 5 % bound: a 2 ms sleep wakes {overshoot:.2f} ms late (p90); {measured}"
        )
    assert ttft == pytest.approx(truth_ttft, rel=TOLERANCE)
    assert tpot == pytest.approx(truth_tpot, rel=TOLERANCE)


def test_batched_offline_ttft_and_tpot_match_the_scheduled_ground_truth(
    llm_endpoint: EndpointFactory, tmp_path: Path
) -> None:
    endpoint = llm_endpoint(card=CARD)
    run, result = _run(endpoint.address, tmp_path, concurrency=8)
    loadgen = result["loadgen"]
    assert isinstance(loadgen, dict) and loadgen["result_validity"] == "VALID"
    truth = {f"cmpl-{entry['request']}": entry for entry in endpoint.ground_truth()}
    pairs = [(c, truth[c.ident]) for c in run.completions if c.ident in truth]
    assert len(pairs) == len(run.completions) >= 8
    measured_tpot = mean(c.tpot_s or 0.0 for c, _ in pairs)
    true_tpot = mean(t["tpot_s"] for _, t in pairs)
    # batching makes steps slower than alone: the comparison is not against batch 1
    assert true_tpot > LlmCard(**CARD).decode_step_s(1) * 1.2  # type: ignore[arg-type]
    assert measured_tpot == pytest.approx(true_tpot, rel=TOLERANCE)
    assert mean(c.ttft_s or 0.0 for c, _ in pairs) == pytest.approx(
        mean(t["ttft_s"] for _, t in pairs), rel=TOLERANCE
    )
    # LoadGen's own tokens/s counts the same tokens the client received
    client = result["client"]
    assert isinstance(client, dict)
    assert loadgen["result_tokens_per_second"] == pytest.approx(client["tokens_per_s"], rel=0.1)


@pytest.mark.parametrize(("tpot_bound_ms", "met"), [(120.0, True), (15.0, False)])
def test_server_scenario_judges_the_tpot_bound(
    llm_endpoint: EndpointFactory, tmp_path: Path, tpot_bound_ms: float, met: bool
) -> None:
    """LoadGen's own token-latency constraint, from its summary (a VALID Server run also needs
    LoadGen's p99 early stopping, 662 queries: the suite's run, too long for a unit test)."""
    endpoint = llm_endpoint(card=CARD)
    _, result = _run(
        endpoint.address,
        tmp_path,
        scenario="Server",
        target_qps=3.0,
        ttft_bound_ms=2000.0,
        tpot_bound_ms=tpot_bound_ms,
        min_duration_s=1.0,
        min_query_count=8,
    )
    loadgen = result["loadgen"]
    assert isinstance(loadgen, dict)
    assert loadgen["performance_constraints_satisfied"] is met, loadgen
    assert loadgen["min_duration_satisfied"] is True


def test_a_cut_stream_fails_test06(llm_endpoint: EndpointFactory, tmp_path: Path) -> None:
    endpoint = llm_endpoint(card=CARD, faults={"cut_after_tokens": 5})
    run, result = _run(endpoint.address, tmp_path, prompts=PROMPTS[:8], concurrency=8)
    client = result["client"]
    assert isinstance(client, dict) and client["cut"] == 8
    problems = [audit_test06(c.tokens, c.tokens[0], c.finish_reason, 12) for c in run.completions]
    assert all(any("cut mid-response" in p for p in found) for found in problems)


def test_a_card_throttled_when_hot_decodes_slower(llm_endpoint: EndpointFactory, tmp_path: Path) -> None:
    card = {**CARD, "throttle_after_s": 0.0, "throttle_factor": 1.5}
    endpoint = llm_endpoint(card=card)
    run, _ = _run(endpoint.address, tmp_path, prompts=PROMPTS[:4], concurrency=1, min_query_count=4)
    measured = mean(c.tpot_s or 0.0 for c in run.completions)
    assert measured == pytest.approx(LlmCard(**CARD).decode_step_s(1) * 1.5, rel=TOLERANCE)  # type: ignore[arg-type]


def _greedy_outputs(address: str, samples: list[dict[str, object]]) -> list[tuple[str, str]]:
    pairs = []
    for sample in samples:
        prompt, max_tokens = str(sample["prompt"]), int(str(sample["max_tokens"]))
        done = stream_completion(address, MODEL, prompt, max_tokens)
        assert audit_test06(done.tokens, done.tokens[0], done.finish_reason, max_tokens) == []
        pairs.append((done.text, str(sample["reference"])))
    return pairs


@pytest.mark.parametrize(
    ("faults", "exact", "rouge_below"), [({}, 1.0, 1.01), ({"wrong_tokens": True}, 0.0, 0.2)]
)
def test_greedy_outputs_against_references(
    llm_endpoint: EndpointFactory, faults: dict[str, object], exact: float, rouge_below: float
) -> None:
    samples = json.loads(REFERENCES.read_text(encoding="utf-8"))["samples"]
    endpoint = llm_endpoint(card={"prefill_s_per_token": 0.0, "decode_base_s": 0.0005}, faults=faults)
    score = score_outputs(_greedy_outputs(endpoint.address, samples))
    assert score["exact_match"] == exact
    assert score["rouge_l"] < rouge_below  # wrong tokens: a fast endpoint with wrong text is caught

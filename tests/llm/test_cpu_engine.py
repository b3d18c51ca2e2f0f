"""The harness on a real serving engine: llama.cpp's OpenAI-compatible server on this machine's CPU.

It serves the tiny Llama the project writes (lab/llm/tiny_model.py) through xllamacpp
(lab/llm/cpu_engine.py); LoadGen with token latencies drives it through the same client as
the suite.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.agent.llm_accuracy import audit_test06
from lab.agent.llm_client import stream_completion
from lab.agent.llm_main import run_llm_request
from lab.llm.cpu_engine import cpu_engine
from lab.llm.tiny_model import write_tiny_llama

pytest.importorskip("gguf", reason="the tiny model is written with the [cpu-reference] extra")
pytest.importorskip("xllamacpp", reason="the CPU engine comes with the [cpu-reference] extra")
pytestmark = [pytest.mark.integration, pytest.mark.slow]
MODEL = "tiny-llama"


@pytest.fixture
def llama_server(tmp_path: Path) -> Iterator[str]:
    with cpu_engine(write_tiny_llama(tmp_path / "tiny.gguf"), alias=MODEL) as address:
        yield address


def test_the_agent_runs_a_valid_loadgen_offline_on_llama_cpp(llama_server: str, tmp_path: Path) -> None:
    prompts = [f"the card {word} serves tokens" for word in ("first", "next", "last", "page")]
    result = run_llm_request(
        {
            "address": llama_server, "model": MODEL, "prompts": prompts, "max_tokens": 16,
            "output_dir": str(tmp_path / "lg"), "concurrency": 2, "min_duration_s": 1.0, "min_query_count": 4,
        }
    )  # fmt: skip
    assert result["status"] == "ok", result
    detail, client = result["detail"], result["client"]
    assert isinstance(detail, dict) and isinstance(client, dict)
    assert detail["result_validity"] == "VALID", detail
    assert client["output_tokens"] > 0 and client["cut"] == 0
    assert detail["result_tokens_per_second"] == pytest.approx(client["tokens_per_s"], rel=0.2)


def test_greedy_decoding_on_llama_cpp_is_deterministic_and_its_stream_matches_the_full_response(
    llama_server: str,
) -> None:
    """TEST06's rules on a real engine, its length rule included: llama.cpp's server streams one
    event per token and its final ``usage`` counts the same tokens (llama-cpp-python 0.3.36 did
    not: empty events, 16 tokens counted for ``max_tokens`` 12)."""
    first = stream_completion(llama_server, MODEL, "the card serves", 12)
    again = stream_completion(llama_server, MODEL, "the card serves", 12)
    assert first.tokens and first.tokens == again.tokens and first.complete
    assert len(first.tokens) == first.usage_tokens == 12 and first.finish_reason == "length"
    assert audit_test06(first.tokens, first.tokens[0], first.finish_reason, 12, reported_tokens=12) == []
    body = json.dumps({"model": MODEL, "prompt": "the card serves", "max_tokens": 12, "temperature": 0})
    request = urllib.request.Request(
        f"http://{llama_server}/v1/completions", body.encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        full = json.load(response)["choices"][0]
    assert full["text"] == first.text and full["finish_reason"] == first.finish_reason


def test_the_client_keeps_llama_cpp_s_own_timing_of_each_request(llama_server: str) -> None:
    """The benchmarks' baseline on a real engine: llama.cpp's ``timings`` of the request, from the
    stream's last event (prompt_ms for the prefill, predicted_ms over predicted_n tokens)."""
    done = stream_completion(llama_server, MODEL, "the card serves tokens", 12)
    timings = done.engine_timings
    assert timings is not None and done.finish_reason == "length"
    assert timings["predicted_n"] == len(done.tokens) == 12  # one event per token on this engine
    assert timings["prompt_n"] > 4 and timings["prompt_ms"] > 0 and timings["predicted_ms"] > 0
    # the engine timed its decode inside the client's wait for the last token
    assert done.token_times[-1] * 1000 > timings["predicted_ms"]

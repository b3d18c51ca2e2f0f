"""The harness on a real serving engine: llama.cpp's OpenAI-compatible server on this machine's CPU.

It serves the tiny Llama the project writes (lab/llm/tiny_model.py); LoadGen with token
latencies drives it through the same client as the suite. Skipped, with the reason, where
llama-cpp-python[server] is not installed (it builds llama.cpp from source: see docs/llm.md).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.agent.llm_accuracy import audit_test06
from lab.agent.llm_client import stream_completion
from lab.agent.llm_loadgen import LlmRun, run_llm
from lab.llm.tiny_model import write_tiny_llama

pytest.importorskip("gguf", reason="the tiny model is written with the [cpu-reference] extra")
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (docs/llm.md)")
pytestmark = [pytest.mark.integration, pytest.mark.slow]
MODEL = "tiny-llama"
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def llama_server(tmp_path: Path) -> Iterator[str]:
    model = write_tiny_llama(tmp_path / "tiny.gguf")
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "512", "--n_threads", "1",
    ]  # fmt: skip
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "server.log").read_text()[-3000:]) from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def test_loadgen_offline_on_llama_cpp_is_valid_and_counts_the_streamed_tokens(
    llama_server: str, tmp_path: Path
) -> None:
    prompts = [f"the card {word} serves tokens" for word in ("first", "next", "last", "page")]
    run = LlmRun(
        address=llama_server, model=MODEL, prompts=prompts, max_tokens=16, output_dir=str(tmp_path / "lg"),
        concurrency=2, expected_qps=4.0, min_duration_s=1.0, min_query_count=4,
    )  # fmt: skip
    result = run_llm(run)
    loadgen = result["loadgen"]
    client = result["client"]
    assert isinstance(loadgen, dict) and isinstance(client, dict)
    assert result["status"] == "ok", result["error"]
    assert loadgen["result_validity"] == "VALID", loadgen
    assert client["output_tokens"] > 0 and client["cut"] == 0
    assert loadgen["result_tokens_per_second"] == pytest.approx(client["tokens_per_s"], rel=0.2)


def test_greedy_decoding_on_llama_cpp_is_deterministic_and_passes_test06(llama_server: str) -> None:
    first = stream_completion(llama_server, MODEL, "the card serves", 12)
    again = stream_completion(llama_server, MODEL, "the card serves", 12)
    assert first.tokens and first.tokens == again.tokens
    assert audit_test06(first.tokens, first.tokens[0], first.finish_reason, 12) == []

"""Benchmark: LLM token latencies measured through LoadGen vs the engine's own account of them.

    .venv/bin/python benchmarks/bench_llm_fidelity.py [--engine emulated|llama|both] [--concurrency 1 4 16]

Emulated table: the emulated endpoint (lab/emulator/llm_server.py), a real HTTP server on
127.0.0.1, driven by LoadGen (Offline, token latencies, streaming) at several concurrencies;
per load the median TTFT and TPOT the client measured, the medians the engine scheduled
(ground truth, same requests, same run) and their ratio.

Real-engine table (``--engine llama``): llama.cpp's server on this CPU serving the tiny Llama
(benchmarks/llama_engine.py: prompt cache off, one slot per stream). A real engine has no
model ground truth: the "true" side is llama.cpp's own timing of each request, read from its
last stream event (``timings``): ``prompt_ms`` (the prefill that yields the first token)
beside TTFT, ``predicted_ms / (predicted_n - 1)`` beside TPOT, paired request by request.
TTFT also holds what the engine does not time: HTTP, the client, and at concurrency > 1 the
other streams' prefill and decode steps batched before this request's first token.
The peer-tool side by side is benchmarks/bench_llm_peer.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.llama_engine import MODEL as LLAMA_MODEL  # noqa: E402
from benchmarks.llama_engine import prompts as llama_prompts  # noqa: E402
from benchmarks.llama_engine import real_engine, request_truth  # noqa: E402
from lab.agent.llm_loadgen import LlmRun, run_llm  # noqa: E402

CARD = {"prefill_s_per_token": 0.004, "decode_base_s": 0.02, "decode_s_per_running": 0.002}
MODEL = "emulated-llama-3.1-8b"


def _llama(arguments: argparse.Namespace) -> None:
    """The real-engine table: LoadGen's client figures vs llama.cpp's own timings, per request."""
    texts = llama_prompts(arguments.prompts)
    print(
        "real engine: llama.cpp (xllamacpp) on the CPU, tiny Llama (benchmarks/llama_engine.py BENCH_SHAPE), "
        f"{len(texts)} prompts of ~64 tokens, {arguments.max_tokens} out; true = llama.cpp's own timings"
    )
    print(
        f"{'conc':>4} {'ttft meas ms':>12} {'prefill ms':>12} {'ratio':>6} "
        f"{'tpot meas ms':>12} {'tpot eng ms':>12} {'ratio':>6} {'tok/s':>7} validity"
    )
    parallel = max(arguments.concurrency)
    with tempfile.TemporaryDirectory() as folder, real_engine(Path(folder), parallel=parallel) as engine:
        for concurrency in arguments.concurrency:
            run = LlmRun(
                address=engine.address, model=LLAMA_MODEL, prompts=texts, max_tokens=arguments.max_tokens,
                output_dir=str(Path(folder) / f"c{concurrency}"), concurrency=concurrency,
                expected_qps=float(len(texts)), min_duration_s=0.1, min_query_count=len(texts),
            )  # fmt: skip
            result = run_llm(run)
            pairs = [(c, request_truth(c.engine_timings)) for c in run.completions if c.engine_timings]
            _row(
                concurrency, result,
                [((c.ttft_s or 0.0) * 1000, truth.prefill_ms) for c, truth in pairs],
                [((c.tpot_s or 0.0) * 1000, truth.tpot_ms or 0.0) for c, truth in pairs],
                f" ({len(pairs)}/{len(run.completions)} timed)",
            )  # fmt: skip


def _row(
    concurrency: int,
    result: dict[str, object],
    ttft: list[tuple[float, float]],
    tpot: list[tuple[float, float]],
    note: str = "",
) -> None:
    """One table row: median measured and true TTFT/TPOT (ms, pairs of one request each), their
    ratios, LoadGen's tokens/s and validity."""
    ttft_m, ttft_t = (statistics.median(side) for side in zip(*ttft, strict=True))
    tpot_m, tpot_t = (statistics.median(side) for side in zip(*tpot, strict=True))
    loadgen = result["loadgen"]
    assert isinstance(loadgen, dict)
    tokens_per_s = float(loadgen.get("result_tokens_per_second", 0.0))
    print(
        f"{concurrency:>4} {ttft_m:>12.1f} {ttft_t:>12.1f} {ttft_m / ttft_t:>6.3f} "
        f"{tpot_m:>12.2f} {tpot_t:>12.2f} {tpot_m / tpot_t:>6.3f} {tokens_per_s:>7.1f} "
        f"{loadgen.get('result_validity')}{note}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("emulated", "llama", "both"), default="both")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=24)
    arguments = parser.parse_args()
    if arguments.engine in ("emulated", "both"):
        _emulated(arguments)
    if arguments.engine in ("llama", "both"):
        _llama(arguments)
    return 0


def _emulated(arguments: argparse.Namespace) -> None:
    """The emulated table: LoadGen's client figures vs the emulated card's scheduled ground truth."""
    print("emulated card: measured vs the engine's scheduled ground truth")
    prompts = [
        " ".join(f"word{k}" for k in range(16 + 4 * (i % 12))) + f" q{i}" for i in range(arguments.prompts)
    ]
    with tempfile.TemporaryDirectory() as folder:
        config, ready = Path(folder) / "config.json", Path(folder) / "ready"
        config.write_text(json.dumps({"model": MODEL, "card": CARD}))
        server = subprocess.Popen([sys.executable, "-m", "lab.emulator.llm_server", str(config), str(ready)])
        try:
            for _ in range(500):
                if ready.exists():
                    break
                time.sleep(0.02)
            address = f"127.0.0.1:{int(ready.read_text())}"
            print(
                f"{'conc':>4} {'ttft meas ms':>12} {'ttft true ms':>12} {'ratio':>6} "
                f"{'tpot meas ms':>12} {'tpot true ms':>12} {'ratio':>6} {'tok/s':>7} validity"
            )
            for concurrency in arguments.concurrency:
                run = LlmRun(
                    address=address,
                    model=MODEL,
                    prompts=prompts,
                    max_tokens=arguments.max_tokens,
                    output_dir=str(Path(folder) / f"c{concurrency}"),
                    concurrency=concurrency,
                    expected_qps=float(len(prompts)),
                    min_duration_s=0.1,
                    min_query_count=len(prompts),
                )
                result = run_llm(run)
                with urllib.request.urlopen(f"http://{address}/ground_truth", timeout=10) as response:
                    truth = {f"cmpl-{t['request']}": t for t in json.load(response)["requests"]}
                pairs = [(c, truth[c.ident]) for c in run.completions if c.ident in truth]
                _row(
                    concurrency, result,
                    [((c.ttft_s or 0.0) * 1000, t["ttft_s"] * 1000) for c, t in pairs],
                    [((c.tpot_s or 0.0) * 1000, t["tpot_s"] * 1000) for c, t in pairs],
                )  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())

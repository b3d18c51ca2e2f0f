"""Benchmark: LLM token latencies measured through LoadGen vs the emulated card's ground truth.

    .venv/bin/python benchmarks/bench_llm_fidelity.py [--concurrency 1 4 16] [--prompts 32]

Starts the emulated endpoint (lab/emulator/llm_server.py) as a real HTTP server on
127.0.0.1, drives it with LoadGen (Offline, token latencies, streaming) at several
concurrencies, and prints per load the median TTFT and TPOT the client measured, the
medians the engine scheduled (ground truth, same requests, same run) and their ratio.
The peer-tool side by side (guidellm/aiperf) is not here yet.
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

from lab.agent.llm_loadgen import LlmRun, run_llm  # noqa: E402

CARD = {"prefill_s_per_token": 0.004, "decode_base_s": 0.02, "decode_s_per_running": 0.002}
MODEL = "emulated-llama-3.1-8b"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=24)
    arguments = parser.parse_args()
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
                ttft_m = statistics.median(c.ttft_s or 0.0 for c, _ in pairs) * 1000
                ttft_t = statistics.median(t["ttft_s"] for _, t in pairs) * 1000
                tpot_m = statistics.median(c.tpot_s or 0.0 for c, _ in pairs) * 1000
                tpot_t = statistics.median(t["tpot_s"] for _, t in pairs) * 1000
                loadgen = result["loadgen"]
                assert isinstance(loadgen, dict)
                tokens_per_s = float(loadgen.get("result_tokens_per_second", 0.0))
                print(
                    f"{concurrency:>4} {ttft_m:>12.1f} {ttft_t:>12.1f} {ttft_m / ttft_t:>6.3f} "
                    f"{tpot_m:>12.2f} {tpot_t:>12.2f} {tpot_m / tpot_t:>6.3f} {tokens_per_s:>7.1f} "
                    f"{loadgen.get('result_validity')}"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: this harness (LoadGen, token latencies) side by side with aiperf on the same endpoint.

    python3 -m venv /tmp/aiperf && /tmp/aiperf/bin/pip install aiperf==0.13.0   # once
    .venv/bin/python benchmarks/bench_llm_peer.py --aiperf /tmp/aiperf/bin/aiperf [--concurrency 4]

Both tools drive the emulated card's endpoint (lab/emulator/llm_server.py, a real HTTP
server on 127.0.0.1) at the same concurrency with the same request shape (about 40 input
and 24 output tokens, streaming), one after the other; the table gives TTFT p50/p99, TPOT
(aiperf: inter-token latency) p50 and output tokens/s from each, with the engine's scheduled
ground truth for each run as the baseline. aiperf needs a tokenizer: a word-level one
matching the endpoint's words is written with aiperf's own ``tokenizers`` (no download).
aiperf is not installed by the set-up (it brings transformers and friends): give its path.
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

from lab.agent.llm_loadgen import LlmRun, percentile, run_llm  # noqa: E402
from lab.emulator.llm_text import VOCABULARY  # noqa: E402

CARD = {"prefill_s_per_token": 0.001, "decode_base_s": 0.012, "decode_s_per_running": 0.001}
MODEL = "emulated-llama-3.1-8b"
TOKENIZER = """
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
words = sys.argv[2].split()
vocab = {"[UNK]": 0}
for word in words:
    vocab.setdefault(word, len(vocab))
tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
tokenizer.decoder = decoders.WordPiece(prefix="##")
PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]").save_pretrained(sys.argv[1])
"""


def _truth(address: str, since: int) -> list[dict[str, float]]:
    with urllib.request.urlopen(f"http://{address}/ground_truth", timeout=10) as response:
        entries: list[dict[str, float]] = json.load(response)["requests"]
    return entries[since:]


def _ours(address: str, folder: Path, concurrency: int, requests: int) -> dict[str, float]:
    prompts = [" ".join(f"word{(i * 7 + k) % 200}" for k in range(40)) for i in range(requests)]
    run = LlmRun(
        address=address, model=MODEL, prompts=prompts, max_tokens=24, output_dir=str(folder / "ours"),
        concurrency=concurrency, expected_qps=float(requests), min_duration_s=0.1, min_query_count=requests,
    )  # fmt: skip
    loadgen = run_llm(run)["loadgen"]
    assert isinstance(loadgen, dict)
    ttft = [c.ttft_s * 1000 for c in run.completions if c.ttft_s is not None]
    tpot = [c.tpot_s * 1000 for c in run.completions if c.tpot_s is not None]
    return {
        "ttft_p50": statistics.median(ttft),
        "ttft_p99": percentile(ttft, 0.99) or 0.0,
        "tpot_p50": statistics.median(tpot),
        "tokens_per_s": float(loadgen["result_tokens_per_second"]),  # LoadGen's own figure
    }


def _aiperf(aiperf: Path, address: str, folder: Path, concurrency: int, requests: int) -> dict[str, float]:
    python = aiperf.parent / "python"
    words = " ".join([*VOCABULARY, *(f"word{k}" for k in range(200))])
    subprocess.run(
        [str(python), "-c", TOKENIZER, str(folder / "tokenizer"), words], check=True, capture_output=True
    )
    (folder / "tokenizer" / "config.json").write_text('{"model_type": "llama"}')
    command = [
        str(aiperf), "profile", "--model", MODEL, "--url", f"http://{address}",
        "--endpoint-type", "completions", "--streaming", "--concurrency", str(concurrency),
        "--request-count", str(requests), "--isl", "40", "--osl", "24",
        "--tokenizer", str(folder / "tokenizer"),
        "--output-artifact-dir", str(folder / "aiperf"), "--ui-type", "none",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    data = json.loads((folder / "aiperf" / "profile_export_aiperf.json").read_text())
    return {
        "ttft_p50": data["time_to_first_token"]["p50"],
        "ttft_p99": data["time_to_first_token"]["p99"],
        "tpot_p50": data["inter_token_latency"]["p50"],
        "tokens_per_s": data["output_token_throughput"]["avg"],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--aiperf", type=Path, required=True, help="path of the aiperf executable")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--requests", type=int, default=32)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        config, ready = folder / "config.json", folder / "ready"
        config.write_text(json.dumps({"model": MODEL, "card": CARD}))
        server = subprocess.Popen([sys.executable, "-m", "lab.emulator.llm_server", str(config), str(ready)])
        try:
            for _ in range(500):
                if ready.exists():
                    break
                time.sleep(0.02)
            address = f"127.0.0.1:{int(ready.read_text())}"
            rows = []
            for tool, measure in (
                ("kcloud-lab", lambda: _ours(address, folder, arguments.concurrency, arguments.requests)),
                (
                    "aiperf",
                    lambda: _aiperf(
                        arguments.aiperf, address, folder, arguments.concurrency, arguments.requests
                    ),
                ),
            ):
                since = len(_truth(address, 0))
                figures = measure()
                truth = _truth(address, since)
                true_ttft = statistics.median(t["ttft_s"] for t in truth) * 1000
                true_tpot = statistics.median(t["tpot_s"] for t in truth) * 1000
                rows.append((tool, figures, true_ttft, true_tpot))
        finally:
            server.terminate()
            server.wait(timeout=10)
    shape = f"concurrency {arguments.concurrency}, {arguments.requests} requests"
    print(f"{shape}, ~40 in / 24 out tokens, streaming")
    head = ("tool", "TTFT p50", "true", "ratio", "TTFT p99", "TPOT p50", "true", "ratio", "tok/s")
    print(f"{head[0]:<11} " + " ".join(f"{text:>{9 if 'p' in text else 7}}" for text in head[1:]))
    for tool, f, true_ttft, true_tpot in rows:
        print(
            f"{tool:<11} {f['ttft_p50']:>9.1f} {true_ttft:>7.1f} {f['ttft_p50'] / true_ttft:>7.3f} "
            f"{f['ttft_p99']:>9.1f} {f['tpot_p50']:>9.2f} {true_tpot:>7.2f} "
            f"{f['tpot_p50'] / true_tpot:>7.3f} {f['tokens_per_s']:>7.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

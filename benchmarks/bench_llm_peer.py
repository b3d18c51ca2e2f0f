"""Benchmark: this harness (LoadGen, token latencies) side by side with aiperf (and guidellm) on one endpoint.

    python3 -m venv /tmp/aiperf && /tmp/aiperf/bin/pip install aiperf==0.13.0         # once
    python3 -m venv /tmp/guidellm && /tmp/guidellm/bin/pip install guidellm==0.8.1    # once
    .venv/bin/python benchmarks/bench_llm_peer.py --aiperf /tmp/aiperf/bin/aiperf [--concurrency 4]
    .venv/bin/python benchmarks/bench_llm_peer.py --engine llama --aiperf /tmp/aiperf/bin/aiperf \
        --guidellm /tmp/guidellm/bin/guidellm --concurrency 1 4 16

``--engine llama`` (the real CPU engine): every tool drives llama.cpp's server
(benchmarks/llama_engine.py, prompt cache off, one slot per stream) serving the tiny Llama,
with the same prompts (about 64 input tokens, no word starting with "a") and 24 output
tokens, streaming, at each concurrency, one tool after the other. The baseline is the
engine's own timing of the requests each tool sent (its log, one line per request): the
median prefill beside TTFT, the median decode step after the first token beside TPOT/ITL. The peers
count output tokens from the engine's ``usage`` (aiperf ``--use-server-token-count``; guidellm
does by default); their tokenizer is an HF one built from the GGUF's SPM vocabulary
(benchmarks/llama_engine.py: ``write_hf_tokenizer``, no download), which counts the prompts'
tokens as llama.cpp does, less its BOS. guidellm's TPOT is latency/tokens (TTFT included): its
inter-token latency is the column shown.

The default (``--engine emulated``):

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.llama_engine import MODEL as LLAMA_MODEL  # noqa: E402
from benchmarks.llama_engine import EngineRequest, prompts, real_engine, write_hf_tokenizer  # noqa: E402
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


def _ours(
    address: str,
    folder: Path,
    concurrency: int,
    requests: int,
    texts: list[str] | None = None,
    model: str = MODEL,
) -> dict[str, float]:
    texts = texts or [" ".join(f"word{(i * 7 + k) % 200}" for k in range(40)) for i in range(requests)]
    run = LlmRun(
        address=address, model=model, prompts=texts, max_tokens=24,
        output_dir=str(folder / f"ours-{concurrency}"), concurrency=concurrency,
        expected_qps=float(requests), min_duration_s=0.1, min_query_count=requests,
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
    return _aiperf_figures(folder / "aiperf")


def _aiperf_llama(
    aiperf: Path, address: str, folder: Path, concurrency: int, texts: list[str], tokenizer: Path
) -> dict[str, float]:
    """aiperf on the real engine with our prompts (its single_turn file) and server token counts."""
    data = folder / "aiperf-prompts.jsonl"
    data.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
    out = folder / f"aiperf-{concurrency}"
    command = [
        str(aiperf), "profile", "--model", LLAMA_MODEL, "--url", f"http://{address}",
        "--endpoint-type", "completions", "--streaming", "--concurrency", str(concurrency),
        "--request-count", str(len(texts)), "--custom-dataset-type", "single_turn", "--input-file", str(data),
        "--extra-inputs", json.dumps({"max_tokens": 24, "temperature": 0}), "--use-server-token-count",
        "--tokenizer", str(tokenizer), "--output-artifact-dir", str(out), "--ui-type", "none",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    return _aiperf_figures(out)


def _aiperf_figures(out: Path) -> dict[str, float]:
    """TTFT p50/p99, inter-token latency p50 (ms) and output tokens/s from aiperf's export in ``out``."""
    result = json.loads((out / "profile_export_aiperf.json").read_text())
    return {
        "ttft_p50": result["time_to_first_token"]["p50"],
        "ttft_p99": result["time_to_first_token"]["p99"],
        "tpot_p50": result["inter_token_latency"]["p50"],
        "tokens_per_s": result["output_token_throughput"]["avg"],
    }


def _guidellm(
    guidellm: Path, address: str, folder: Path, concurrency: int, texts: list[str], tokenizer: Path
) -> dict[str, float]:
    """guidellm's concurrent profile on the real engine with our prompts and 24 output tokens."""
    data = folder / "guidellm-prompts.jsonl"
    data.write_text("".join(json.dumps({"prompt": text, "output_tokens_count": 24}) + "\n" for text in texts))
    out = folder / f"guidellm-{concurrency}.json"
    command = [
        str(guidellm), "run",
        "--backend", f"kind=openai_http,target=http://{address},model={LLAMA_MODEL},request_format=/v1/completions",
        "--profile", f"kind=concurrent,streams={concurrency}",
        "--constraint", f"kind=max_requests,count={len(texts)}",
        "--data", f"kind=json_file,path={data}", "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
        "--output", f"kind=json,path={out}", "--disable-console",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600, cwd=folder)
    metrics = json.loads(out.read_text())["benchmarks"][0]["metrics"]

    def figure(name: str) -> dict[str, Any]:
        successful: dict[str, Any] = metrics[name]["successful"]
        return successful

    return {
        "ttft_p50": figure("time_to_first_token_ms")["median"],
        "ttft_p99": figure("time_to_first_token_ms")["percentiles"]["p99"],
        "tpot_p50": figure("inter_token_latency_ms")["median"],
        "tokens_per_s": figure("output_tokens_per_second")["mean"],
    }


def _llama(arguments: argparse.Namespace) -> int:
    """Every tool, one after the other, on the real engine at each concurrency."""
    texts = prompts(arguments.requests)
    rows: list[tuple[str, int, dict[str, float], list[EngineRequest]]] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with real_engine(folder, parallel=max(arguments.concurrency)) as engine:
            address = engine.address
            python = (arguments.aiperf or arguments.guidellm).parent / "python"
            tokenizer = write_hf_tokenizer(folder / "tiny-llama.gguf", folder / "tokenizer", python)
            tools: list[tuple[str, Callable[[int], dict[str, float]]]] = [
                ("kcloud-lab", lambda c: _ours(address, folder, c, len(texts), texts, LLAMA_MODEL))
            ]
            if arguments.aiperf:
                aiperf = arguments.aiperf
                tools.append(
                    ("aiperf", lambda c: _aiperf_llama(aiperf, address, folder, c, texts, tokenizer))
                )
            if arguments.guidellm:
                guidellm = arguments.guidellm
                tools.append(
                    ("guidellm", lambda c: _guidellm(guidellm, address, folder, c, texts, tokenizer))
                )
            for concurrency in arguments.concurrency:
                for tool, measure in tools:
                    start = engine.log_offset()
                    figures = measure(concurrency)
                    rows.append((tool, concurrency, figures, engine.timed_since(start)))
    print(
        "llama.cpp (xllamacpp) on the CPU, tiny Llama (benchmarks/llama_engine.py BENCH_SHAPE): "
        f"{len(texts)} requests per run, ~64 in / 24 out tokens, streaming; baseline: medians of "
        "the engine's own per-request prefill and decode step (its log)"
    )
    head = ("tool", "conc", "TTFT p50", "prefill", "ratio", "TTFT p99", "TPOT p50", "step", "ratio", "tok/s")
    print(f"{head[0]:<11} {head[1]:>4} " + " ".join(f"{text:>9}" for text in head[2:]) + "  requests")
    for tool, concurrency, f, timed in rows:
        prefill = statistics.median(t.prefill_ms for t in timed)
        step = statistics.median(t.tpot_ms for t in timed if t.tpot_ms is not None)
        print(
            f"{tool:<11} {concurrency:>4} {f['ttft_p50']:>9.1f} {prefill:>9.1f} "
            f"{f['ttft_p50'] / prefill:>9.3f} {f['ttft_p99']:>9.1f} {f['tpot_p50']:>9.2f} "
            f"{step:>9.2f} {f['tpot_p50'] / step:>9.3f} {f['tokens_per_s']:>9.1f}  {len(timed)}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("emulated", "llama"), default="emulated")
    parser.add_argument("--aiperf", type=Path, help="path of the aiperf executable")
    parser.add_argument("--guidellm", type=Path, help="path of the guidellm executable (--engine llama)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4])
    parser.add_argument("--requests", type=int, default=32)
    arguments = parser.parse_args()
    if arguments.engine == "llama":
        if not (arguments.aiperf or arguments.guidellm):
            parser.error("--engine llama needs --aiperf and/or --guidellm")
        return _llama(arguments)
    if not arguments.aiperf:
        parser.error("--aiperf is required")
    arguments.concurrency = arguments.concurrency[0]
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

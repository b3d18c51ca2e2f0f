"""LoadGen with token latencies against an OpenAI-compatible endpoint (runs on the node; stdlib + LoadGen).

LoadGen issues queries (Offline: all at once; Server: at Poisson arrival times); client
threads stream each one (:func:`lab.agent.llm_client.stream_completion`), report the first
token with ``FirstTokenComplete`` and the whole response, with its token count, with
``QuerySamplesComplete``, so LoadGen's own summary has TTFT, TPOT and tokens/s and judges
validity (``use_token_latencies``; Server's ``ttft_latency``/``tpot_latency`` constraints).

::

    result = run_llm(LlmRun(address="127.0.0.1:8000", model="m", prompts=[...], max_tokens=32,
                            scenario="Server", target_qps=4.0, ttft_bound_ms=200, tpot_bound_ms=40,
                            min_duration_s=2.0, min_query_count=16, output_dir="/tmp/run"))
    result["loadgen"]["result_validity"], result["client"]["ttft_p99_s"]
"""

from __future__ import annotations

import array
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .llm_client import Completion, EndpointError, stream_completion
from .summary import parse_detail, parse_summary

MAX_CLIENTS = 256  # Server: requests in flight at once before issuing waits (bounded threads)


@dataclass
class LlmRun:
    address: str
    model: str
    prompts: list[str]
    max_tokens: int
    output_dir: str
    scenario: str = "Offline"  # Offline | Server
    concurrency: int = 16  # Offline: requests in flight at once (the sweep's x axis)
    target_qps: float | None = None
    ttft_bound_ms: float | None = None
    tpot_bound_ms: float | None = None
    expected_qps: float = 1.0
    min_duration_s: float = 1.0
    min_query_count: int = 8
    ignore_eos: bool = False  # every response max_tokens long (the grid's output lengths)
    completions: list[Completion] = field(default_factory=list)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` 0.99 → p99); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(fraction * len(ordered) + 0.999999) - 1))]


def _settings(run: LlmRun, lg: Any) -> Any:
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, run.scenario)
    settings.mode = lg.TestMode.PerformanceOnly
    settings.use_token_latencies = True
    settings.min_duration_ms = int(run.min_duration_s * 1000)
    settings.min_query_count = run.min_query_count
    if run.scenario == "Offline":
        settings.offline_expected_qps = run.expected_qps
    else:
        settings.server_target_qps = run.target_qps or 1.0
        settings.ttft_latency = int((run.ttft_bound_ms or 2000.0) * 1e6)
        settings.tpot_latency = int((run.tpot_bound_ms or 200.0) * 1e6)
    return settings


def run_llm(run: LlmRun) -> dict[str, object]:
    """One LoadGen test; the LoadGen summary and detail fields, plus the client's own figures."""
    import mlperf_loadgen as lg

    os.makedirs(run.output_dir, exist_ok=True)
    work: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
    failures: list[str] = []
    lock = threading.Lock()

    def serve_one(query_id: int, index: int) -> None:
        def first() -> None:
            lg.FirstTokenComplete([lg.QuerySampleResponse(query_id, 0, 0)])

        try:
            done = stream_completion(
                run.address,
                run.model,
                run.prompts[index % len(run.prompts)],
                run.max_tokens,
                first,
                ignore_eos=run.ignore_eos,
            )
        except EndpointError as error:
            done = Completion()
            with lock:
                failures.append(str(error))
        if not done.tokens:  # LoadGen must still hear of the query, or it waits forever
            lg.FirstTokenComplete([lg.QuerySampleResponse(query_id, 0, 0)])
        with lock:
            run.completions.append(done)
        tokens = array.array("i", range(len(done.tokens)))  # LoadGen counts the response's tokens
        address, count = tokens.buffer_info()
        lg.QuerySamplesComplete(
            [lg.QuerySampleResponse(query_id, address, count * tokens.itemsize, len(done.tokens))]
        )

    def client() -> None:
        while (item := work.get()) is not None:
            serve_one(*item)

    clients = run.concurrency if run.scenario == "Offline" else MAX_CLIENTS
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()

    def issue(queries: Any) -> None:
        for query in queries:
            work.put((query.id, query.index))

    sut = lg.ConstructSUT(issue, lambda: None)
    count = len(run.prompts)
    qsl = lg.ConstructQSL(count, count, lambda _: None, lambda _: None)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = run.output_dir
    log_settings.log_output.copy_summary_to_stdout = False
    began = time.perf_counter()
    try:
        lg.StartTestWithLogSettings(sut, qsl, _settings(run, lg), log_settings)
    finally:
        wall = time.perf_counter() - began
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join(timeout=30)
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    return {
        "status": "ok" if not failures else "error",
        "error": "; ".join(failures[:3]) if failures else None,
        "scenario": run.scenario,
        "loadgen": {**_logs(run.output_dir)},
        "client": client_figures(run.completions, wall),
    }


def client_figures(completions: list[Completion], wall_s: float) -> dict[str, object]:
    """TTFT/TPOT percentiles and tokens/s as the client saw them (beside LoadGen's own)."""
    ttft = [c.ttft_s for c in completions if c.ttft_s is not None]
    tpot = [c.tpot_s for c in completions if c.tpot_s is not None]
    tokens = sum(len(c.tokens) for c in completions)
    return {
        "requests": len(completions),
        "cut": sum(1 for c in completions if not c.complete),
        "stopped": sum(1 for c in completions if c.finish_reason == "stop"),  # at EOS
        "shortest": min((len(c.tokens) for c in completions), default=0),  # output tokens
        "output_tokens": tokens,
        "tokens_per_s": tokens / wall_s if wall_s > 0 else None,
        "ttft_p50_s": percentile(ttft, 0.5),
        "ttft_p99_s": percentile(ttft, 0.99),
        "tpot_p50_s": percentile(tpot, 0.5),
        "tpot_p99_s": percentile(tpot, 0.99),
    }


def _logs(directory: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, parse in (("mlperf_log_summary.txt", parse_summary), ("mlperf_log_detail.txt", parse_detail)):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                values.update(parse(handle.read()))
    return values

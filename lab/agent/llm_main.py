"""The agent's LLM request: LoadGen token latencies and the greedy accuracy set, on the node.

A request with ``"kind": "llm"`` (the agent's entry point hands it here)::

    {"kind": "llm", "address": "127.0.0.1:8000", "model": "llama-3.1-8b-instruct",
     "scenario": "Offline", "prompts": ["..."], "max_tokens": 64, "concurrency": 16,
     "target_qps": null, "ttft_bound_ms": null, "tpot_bound_ms": null,
     "min_duration_s": 2, "min_query_count": 16, "expected_qps": 8, "ignore_eos": false,
     "accuracy": [{"prompt": "...", "max_tokens": 48, "ignore_eos": false}],
     "telemetry": {"commands": [["furiosa-smi", "info", "--format", "json"]], "interval_s": 1},
     "deadline_s": 120, "output_dir": "/tmp/kcloud-agent.X/llm-1"}

The result has the performance agent's shape (``summary``, ``detail``, ``telemetry``,
``settings``, ``window``) plus ``client`` (the client's own figures) and ``accuracy`` (each
greedy output with its first token and finish reason).

``{"kind": "llm", "probe": true, "address": ..., "model": ...}`` runs nothing: the result's
``endpoint`` is the model's ``GET /v1/models`` entry (its precision, where the engine says it),
``{}`` when the endpoint does not list the model.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .llm_client import EndpointError, served_model, stream_completion
from .llm_loadgen import LlmRun, run_llm
from .pressure import cpu_pressure_total, pressure_share
from .telemetry import TelemetrySampler


class LlmRequestError(ValueError):
    """A field of the LLM request is missing or has a wrong value."""


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = data.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise LlmRequestError(f"{name} must be {kind}, got {value!r}")
    return value


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise LlmRequestError(f"{name} must be true or false, got {value!r}")
    return value


def run_llm_request(data: dict[str, Any]) -> dict[str, object]:
    """Run the request; ``{"status": "ok", ...}`` or ``{"status": "error", "error": ...}``."""
    if data.get("probe") is True:
        try:
            entry = served_model(str(_field(data, "address", str)), str(_field(data, "model", str)))
        except EndpointError as error:
            return {"status": "error", "error": f"the endpoint does not answer: {error}"}
        empty = {
            "summary": {},
            "detail": {},
            "telemetry": {"samples": []},
            "window": {"start": 0.0, "end": 0.0},
        }
        return {"status": "ok", "kind": "llm", **empty, "settings": {"probe": True}, "endpoint": entry}
    prompts = data.get("prompts")
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise LlmRequestError("prompts must be a non-empty list of strings")
    scenario = data.get("scenario", "Offline")
    if scenario not in ("Offline", "Server"):
        raise LlmRequestError(f"scenario must be Offline or Server, got {scenario!r}")
    run = LlmRun(
        address=str(_field(data, "address", str)),
        model=str(_field(data, "model", str)),
        prompts=list(prompts),
        max_tokens=int(_field(data, "max_tokens", int, 64)),
        output_dir=str(_field(data, "output_dir", str)),
        scenario=scenario,
        concurrency=int(_field(data, "concurrency", int, 16)),
        target_qps=_field(data, "target_qps", (int, float)),
        ttft_bound_ms=_field(data, "ttft_bound_ms", (int, float)),
        tpot_bound_ms=_field(data, "tpot_bound_ms", (int, float)),
        expected_qps=float(_field(data, "expected_qps", (int, float), 1.0)),
        min_duration_s=float(_field(data, "min_duration_s", (int, float), 1.0)),
        min_query_count=int(_field(data, "min_query_count", int, 8)),
        ignore_eos=_flag(data, "ignore_eos"),
    )
    try:
        endpoint = served_model(run.address, run.model)
    except EndpointError as error:
        return {"status": "error", "error": f"the endpoint does not answer: {error}"}
    telemetry = data.get("telemetry") or {}
    origin = time.monotonic()
    sampler = TelemetrySampler(
        list(telemetry.get("commands", [])),
        float(telemetry.get("interval_s", 1.0)),
        lambda: time.monotonic() - origin,
    )
    sampler.start()
    try:
        started, pressure_before = time.monotonic() - origin, cpu_pressure_total()
        result = run_llm(run)
        # A query too small for min duration: LoadGen's advice is a larger one; a larger query
        # also overlaps more requests, so a fast engine can need a second step (bounded).
        for _ in range(OFFLINE_RERUNS):
            rerun = _offline_rerun(run, result)
            if rerun is None:
                break
            run.expected_qps, run.completions = rerun, []  # its logs replace the previous run's
            result = run_llm(run)
        ended, pressure_after = time.monotonic() - origin, cpu_pressure_total()
        accuracy: list[dict[str, object]] | str = []
        if result["status"] == "ok":
            try:  # inside the sampled window: the accuracy set's cards are proved too
                accuracy = _greedy_all(run, list(data.get("accuracy", [])))
            except EndpointError as error:
                accuracy = str(error)
    finally:
        samples = sampler.stop()
    if result["status"] != "ok":
        return {"status": "error", "error": f"the endpoint failed during the run: {result['error']}"}
    if isinstance(accuracy, str):
        return {"status": "error", "error": f"accuracy set: {accuracy}"}
    loadgen = result["loadgen"]
    assert isinstance(loadgen, dict)
    detail = {key: value for key, value in loadgen.items() if key.startswith(("result_", "effective_"))}
    return {
        "status": "ok",
        "kind": "llm",
        "scenario": scenario,
        "summary": loadgen,
        "summary_text": _summary_text(run.output_dir),  # for the controller's MLPerf rule checker
        "detail": detail,
        "client": result["client"],
        "telemetry": {"samples": samples, "interval_s": float(telemetry.get("interval_s", 1.0))},
        # origin_epoch: the window in wall time, for the BMC's wall power read by the controller
        "window": {
            "start": started,
            "end": ended,
            "origin_epoch": round(time.time() - (time.monotonic() - origin), 6),
        },
        "settings": {key: value for key, value in data.items() if key not in ("prompts", "accuracy")},
        "accuracy": accuracy,
        # how busy the node's host was during the LoadGen runs (the busy-host rule, lab.performance.host_busy)
        "host_cpu_pressure": pressure_share(pressure_before, pressure_after, ended - started),
        "endpoint": endpoint,  # its /v1/models entry: the model it serves and, where said, the precision
    }


def _summary_text(directory: str) -> str:
    path = os.path.join(directory, "mlperf_log_summary.txt")
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


OFFLINE_RERUNS = 3
RERUN_HEADROOM = 1.5  # over-estimate on purpose: a too-small Offline query ends before min duration


def _offline_rerun(run: LlmRun, result: dict[str, object]) -> float | None:
    """The expected QPS of a second Offline run when the first ended before its min duration."""
    loadgen = result.get("loadgen")
    if run.scenario != "Offline" or not isinstance(loadgen, dict):
        return None
    reached = loadgen.get("samples_per_second")
    if loadgen.get("min_duration_satisfied") is False and isinstance(reached, float) and reached > 0:
        return max(reached, run.expected_qps) * RERUN_HEADROOM
    return None


ACCURACY_CONCURRENCY = 8


def _greedy_all(run: LlmRun, samples: list[object]) -> list[dict[str, object]]:
    """Greedy outputs of ``samples`` in their order, sent together as MLPerf's accuracy runs batch
    them (Offline): a slow card's set takes one response's time, not the sum of all."""
    if not samples:
        return []
    with ThreadPoolExecutor(max_workers=min(ACCURACY_CONCURRENCY, len(samples))) as pool:
        return list(pool.map(lambda sample: _greedy(run, sample), samples))


def _greedy(run: LlmRun, sample: object) -> dict[str, object]:
    if not isinstance(sample, dict) or not isinstance(sample.get("prompt"), str):
        raise LlmRequestError("accuracy items must be {prompt, max_tokens}")
    max_tokens = int(sample.get("max_tokens", run.max_tokens))
    ignore_eos = _flag(sample, "ignore_eos")
    done = stream_completion(run.address, run.model, sample["prompt"], max_tokens, ignore_eos=ignore_eos)
    return {
        "text": done.text,
        "tokens": done.tokens,
        "token_times": [round(moment, 6) for moment in done.token_times],  # s from send (K-Cloud run)
        "first_token": done.tokens[0] if done.tokens else None,
        "finish_reason": done.finish_reason,
        "usage_tokens": done.usage_tokens,  # the endpoint's own count, for TEST06's length rule
        "done": done.done,
        "max_tokens": max_tokens,
        "ignore_eos": ignore_eos,
    }

"""The suites' workloads besides LoadGen, on one card, through the same backends.

* ``Smoke`` — the reference model on the request's inputs; returns the card's outputs (the
  controller compares them with onnxruntime FP32 on the same inputs).
* ``Run`` — ``query_count`` queries back to back, then exit (a card that runs again).
* ``Hold`` — open the card (claiming it) and keep it for ``seconds`` (wall): the isolation
  check's first owner.
* ``Windows`` — queries back to back for ``seconds`` (node seconds); at the end of every
  ``window_s`` one line is printed, flushed, with what was measured from real completion
  timestamps: completions, samples/s, latency percentiles, errors::

    {"window": 3, "t_start_s": 180.0, "t_end_s": 240.1, "queries": 52110, "samples": 52110,
     "throughput_sps": 868.1, "latency_s": {"p50": 0.00115, "p99": 0.0013, "max": 0.002}, "errors": 0}

``t_start_s``/``t_end_s`` are the node's seconds (wall × the backend's ``time_scale``, 1 on
hardware) so windows line up with the node's telemetry; latencies and samples/s are measured
in real seconds: the backend runs the card's work in real time (``real_time``) even on an
emulated node whose clock runs faster. A hung card never returns from ``infer``: no line
appears, and the controller decides the hang.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from .backends import Backend, checked
from .protocol import Request

Emit = Callable[[dict[str, object]], None]
MAX_ERRORS_IN_A_ROW = 100  # a backend failing every query is broken, not erratic: end the run
_HOLD_STEP_S = 0.2


def run_workload(request: Request, backends: Sequence[Backend], emit: Emit) -> dict[str, object]:
    """Run the request's workload on its first card and return the final result object."""
    backend = backends[0]
    if request.scenario == "Smoke":
        return _smoke(request, backend)
    if request.scenario == "Run":
        return _run(request, backend)
    if request.scenario == "Hold":
        return _hold(request, backend, emit)
    return _windows(request, backend, emit)


def _smoke(request: Request, backend: Backend) -> dict[str, object]:
    import numpy

    inputs = numpy.asarray(request.inputs, dtype=numpy.float32)
    outputs = numpy.asarray(backend.outputs(inputs), dtype=numpy.float64)
    return {"status": "ok", "outputs": outputs.tolist(), "backend": backend.info()}


def _run(request: Request, backend: Backend) -> dict[str, object]:
    backend.real_time = True
    began = time.perf_counter()
    samples = 0
    while samples < request.query_count:
        batch = list(range(min(backend.batch, request.query_count - samples)))
        samples += checked(backend.infer(batch), len(batch))
        backend.idle()
    seconds = time.perf_counter() - began
    return {"status": "ok", "samples": samples, "seconds": seconds, "backend": backend.info()}


def _hold(request: Request, backend: Backend, emit: Emit) -> dict[str, object]:
    emit({"holding": backend.device, "pid": os.getpid()})
    until = time.monotonic() + request.seconds
    while (left := until - time.monotonic()) > 0:
        time.sleep(min(_HOLD_STEP_S, left))
    return {"status": "ok", "held_s": request.seconds, "backend": backend.info()}


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q ≤ 1) of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _windows(request: Request, backend: Backend, emit: Emit) -> dict[str, object]:
    backend.spin = False  # hours of sleeping on a card must not cost a core per card
    backend.real_time = True
    scale = backend.time_scale
    batch = list(range(backend.batch))
    began = time.perf_counter()
    end = began + request.seconds / scale
    window_wall = request.window_s / scale
    window_start, index = began, 0
    latencies: list[float] = []
    samples = errors = in_a_row = total_queries = total_errors = 0
    while True:
        issued = time.perf_counter()
        if issued >= end:
            break
        try:
            ran = checked(backend.infer(batch), len(batch))
        except Exception as error:  # counted per window; a backend that only fails ends the run
            errors += 1
            in_a_row += 1
            if in_a_row >= MAX_ERRORS_IN_A_ROW:
                raise RuntimeError(f"{in_a_row} queries in a row failed, the last: {error}") from error
        else:
            done = time.perf_counter()
            latencies.append(done - issued)
            samples += ran
            in_a_row = 0
        backend.idle()
        now = time.perf_counter()
        if now - window_start >= window_wall:
            emit(_window_line(index, window_start - began, now - began, latencies, samples, errors, scale))
            total_queries += len(latencies)
            total_errors += errors
            index, window_start, latencies, samples, errors = index + 1, now, [], 0, 0
    return {
        "status": "ok",
        "windows": index,
        "queries": total_queries,
        "errors": total_errors,
        "backend": backend.info(),
    }


def _window_line(
    index: int, start: float, end: float, latencies: list[float], samples: int, errors: int, scale: float
) -> dict[str, object]:
    ordered = sorted(latencies)
    latency: dict[str, Any] = (
        {"p50": percentile(ordered, 0.5), "p99": percentile(ordered, 0.99), "max": ordered[-1]}
        if ordered
        else {"p50": None, "p99": None, "max": None}
    )
    seconds = end - start
    return {
        "window": index,
        "t_start_s": round(start * scale, 6),
        "t_end_s": round(end * scale, 6),
        "queries": len(latencies),
        "samples": samples,
        "throughput_sps": samples / seconds if seconds > 0 else 0.0,
        "latency_s": latency,
        "errors": errors,
    }

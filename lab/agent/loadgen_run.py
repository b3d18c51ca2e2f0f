"""One LoadGen test: settings from the request, the worker pool as SUT, telemetry around it.

::

    result = run_test(request, backends)     # the "ok" result object (see protocol)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .backends import Backend, checked
from .pressure import cpu_pressure_total, pressure_share
from .protocol import Request
from .summary import parse_detail, parse_summary
from .telemetry import TelemetrySampler
from .userconf import USER_CONF, from_config, mlperf_conf_seeds, user_conf
from .workers import WorkerPool

PROBE_SECONDS = 0.25  # Offline: how long the backends are timed to size LoadGen's query
PROBE_HEADROOM = 1.5  # over-estimate on purpose: a too-small query ends before min duration


def _loadgen() -> Any:
    try:
        import mlperf_loadgen
    except ImportError as error:
        raise RuntimeError(
            f"mlperf_loadgen is not installed on this node (lab node prepare): {error}"
        ) from error
    return mlperf_loadgen


def probe_throughput(backends: Sequence[Backend], seconds: float = PROBE_SECONDS) -> float:
    """Samples/s of all backends together, each running full batches for ``seconds`` (also a warm-up)."""
    counts = [0 for _ in backends]
    end = time.perf_counter() + seconds

    lock = threading.Lock()

    def run(slot: int, backend: Backend) -> None:
        samples = list(range(backend.batch))
        while time.perf_counter() < end or counts[slot] == 0:
            ran = checked(backend.infer(samples), len(samples))
            with lock:
                counts[slot] += ran

    began = time.perf_counter()
    threads = [
        threading.Thread(target=run, args=(slot, backend))
        for slot, backend in enumerate(backends)
        for _ in range(backend.in_flight)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def probe_latency(backend: Backend, samples: int, seconds: float = PROBE_SECONDS) -> float:
    """Median seconds of one query of ``samples`` samples on one card (also a warm-up)."""
    times: list[float] = []
    end = time.perf_counter() + seconds
    while not times or (time.perf_counter() < end and len(times) < 50):
        began = time.perf_counter()
        done = 0
        while done < samples:
            batch = list(range(done, min(samples, done + backend.batch)))
            done += checked(backend.infer(batch), len(batch))
        times.append(time.perf_counter() - began)
        backend.idle()
    return sorted(times)[len(times) // 2]


def settings_for(request: Request, lg: Any, expected_qps: float | None) -> Any:
    """LoadGen's settings for ``request``, the MLPerf way: LoadGen's own mlperf.conf, then the
    lab's user.conf (written to the output folder as evidence), both applied by
    ``TestSettings.FromConfig``; only the scenario, the mode and what user.conf cannot express
    are set here."""
    text, direct = user_conf(request, request.mlperf_model, expected_qps)
    path = os.path.join(request.output_dir, USER_CONF)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    settings = from_config(lg, path, request.mlperf_model, request.scenario)
    settings.scenario = getattr(lg.TestScenario, request.scenario)
    settings.mode = lg.TestMode.PerformanceOnly
    for name, value in direct.items():
        setattr(settings, name, int(value))
    return settings


def accuracy_settings(settings: Any, request: Request, lg: Any) -> None:
    """The request's mode: AccuracyOnly runs every sample once and logs every output; a
    performance run with ``accuracy_log_sampling_target`` logs about that many outputs, chosen
    by ``accuracy_log_rng_seed`` (MLPerf's TEST01 audit.config settings)."""
    if request.accuracy_mode:
        settings.mode = lg.TestMode.AccuracyOnly
    elif request.accuracy_log_sampling_target:
        settings.accuracy_log_sampling_target = request.accuracy_log_sampling_target
        settings.accuracy_log_rng_seed = request.accuracy_log_rng_seed


def run_test(request: Request, backends: Sequence[Backend]) -> dict[str, object]:
    """Run the request's LoadGen test; an Offline run that ended before its min duration is re-run
    once at the rate it really reached (what LoadGen's own summary recommends), so a probe that
    under-estimated a warming-up engine does not cost a VALID result. The first attempt's expected
    and reached rates stay in ``settings.rerun_below_min_duration``; the logs are the second's."""
    lg = _loadgen()
    os.makedirs(request.output_dir, exist_ok=True)
    origin = time.monotonic()

    def clock() -> float:
        return time.monotonic() - origin

    expected_qps = request.expected_qps
    probed = None
    if request.accuracy_mode:  # every sample once, as fast as it goes: nothing to size or warm up
        expected_qps = expected_qps or float(request.sample_count)
        request.expected_latency_ms = request.expected_latency_ms or 1.0
    if request.scenario == "Offline" and expected_qps is None:
        probed = probe_throughput(backends)
        expected_qps = probed * PROBE_HEADROOM
    if request.scenario in ("SingleStream", "MultiStream") and request.expected_latency_ms is None:
        # LoadGen pre-generates min duration ÷ expected latency queries: an expected latency
        # above the real one ends the run before its min duration (INVALID), below is harmless.
        samples = request.samples_per_query if request.scenario == "MultiStream" else 1
        probed = probe_latency(backends[0], samples)
        request.expected_latency_ms = probed * 1000 / PROBE_HEADROOM / 2
    attempt = _one_test(lg, request, backends, expected_qps, clock)
    rerun: dict[str, object] | None = None
    summary = attempt["summary"]
    assert isinstance(summary, dict)
    reached = summary.get("samples_per_second")
    if (
        request.scenario == "Offline"
        and not request.accuracy_mode
        and summary.get("min_duration_satisfied") is False
        and isinstance(reached, float)
        and reached > (expected_qps or 0.0)
    ):
        rerun = {"first_expected_qps": expected_qps, "first_samples_per_second": reached}
        expected_qps = reached * PROBE_HEADROOM
        attempt = _one_test(lg, request, backends, expected_qps, clock)
    return {
        "status": "ok",
        "scenario": request.scenario,
        **attempt,
        "settings": {
            "min_duration_s": request.min_duration_s,
            "min_query_count": request.min_query_count,
            "sample_count": request.sample_count,
            "expected_qps": expected_qps,
            "probed": probed,
            "rerun_below_min_duration": rerun,
            "expected_latency_ms": request.expected_latency_ms,
            "target_qps": request.target_qps,
            "latency_bound_ms": request.latency_bound_ms,
            "samples_per_query": request.samples_per_query if request.scenario == "MultiStream" else 1,
            "devices": request.devices,
            "telemetry_interval_s": request.telemetry_interval_s,
            "mlperf_model": request.mlperf_model,
            "issue_same_sample": request.issue_same_sample,
            # what LoadGen's built-in mlperf.conf says, for the rule checker's seed rule
            "mlperf_conf_seeds": mlperf_conf_seeds(request.mlperf_model, request.scenario),
            "mode": request.mode,
            "accuracy_log_sampling_target": request.accuracy_log_sampling_target,
            "accuracy_log_rng_seed": request.accuracy_log_rng_seed,
        },
        "short_run": request.short_run,
        "backends": [backend.info() for backend in backends],
        "ops_per_sample": backends[0].ops_per_sample,
    }


def _one_test(
    lg: Any,
    request: Request,
    backends: Sequence[Backend],
    expected_qps: float | None,
    clock: Callable[[], float],
) -> dict[str, object]:
    """One LoadGen test with the pool as SUT and telemetry around it: summary, logs, window, samples."""
    pool = WorkerPool(
        backends,
        lg.QuerySamplesComplete,
        lg.QuerySampleResponse,
        pipelined=request.scenario == "Offline",
        keep_outputs=request.keeps_outputs,
    )

    inline = request.scenario in ("SingleStream", "MultiStream") and len(backends) == 1

    def issue(queries: Any) -> None:
        samples = [(query.id, query.index) for query in queries]
        if inline:
            pool.run_inline(samples)
        else:
            pool.submit(samples)

    def flush() -> None:
        return None

    sut = lg.ConstructSUT(issue, flush)
    qsl = lg.ConstructQSL(request.sample_count, request.sample_count, lambda _: None, lambda _: None)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = request.output_dir
    log_settings.log_output.copy_summary_to_stdout = False
    settings = settings_for(request, lg, expected_qps)
    accuracy_settings(settings, request, lg)
    sampler = TelemetrySampler(request.telemetry_commands, request.telemetry_interval_s, clock)
    if not inline:
        pool.start()
    sampler.start()
    try:
        window_start, pressure_before = clock(), cpu_pressure_total()
        lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
        window_end, pressure_after = clock(), cpu_pressure_total()
    finally:
        pool.stop()
        telemetry = sampler.stop()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    if pool.failure is not None:
        raise RuntimeError(f"the backend failed during the run: {pool.failure}")
    logs: dict[str, str] = {}
    if request.keeps_outputs:
        accuracy_log = os.path.join(request.output_dir, "mlperf_log_accuracy.json")
        logs["accuracy"] = accuracy_log
        # the accuracy log of AccuracyOnly (every sample) or the performance run's sampled outputs (TEST01)
    summary_path = os.path.join(request.output_dir, "mlperf_log_summary.txt")
    logs["summary"] = summary_path
    detail_path = logs["detail"] = os.path.join(request.output_dir, "mlperf_log_detail.txt")
    with open(summary_path, encoding="utf-8", errors="replace") as handle:
        summary_text = handle.read()
    with open(detail_path, encoding="utf-8", errors="replace") as handle:
        detail = parse_detail(handle.read())
    with open(os.path.join(request.output_dir, USER_CONF), encoding="utf-8") as handle:
        user_conf_text = handle.read()
    return {
        "user_conf": user_conf_text,
        "summary": parse_summary(summary_text),
        "summary_text": summary_text,
        "detail": detail,
        "logs": logs,
        "window": {
            "start": round(window_start, 6),
            "end": round(window_end, 6),
            # the clock's origin in epoch seconds: the window in wall time, for samples
            # taken elsewhere (the BMC's wall power, read by the controller)
            "origin_epoch": round(time.time() - clock(), 6),
        },
        "telemetry": {"interval_s": request.telemetry_interval_s, "samples": telemetry},
        "host_cpu_pressure": pressure_share(pressure_before, pressure_after, window_end - window_start),
        "samples_per_device": pool.samples_done,
    }

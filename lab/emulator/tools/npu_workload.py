"""``npu-workload``: the workload runner the performance and stability suites drive.

::

    npu-workload run --device 0 --model resnet50 --batch 8 --queries 1000
    npu-workload run --device 0 --model resnet50 --batch 1 --seconds 60 [--no-wait]
    npu-workload run --device 0 --model resnet50 --batch 1 --seconds 600 --report-every 60
    npu-workload smoke --device 0

``run`` claims the device (a second workload on it exits 4 with "device busy: npu0 is
owned by pid P"), runs the queries at the workload model's service times — the card
heats up, draws power and counts queries meanwhile — waits the corresponding wall time
(emulated seconds / time scale; ``--no-wait`` skips the wait) and prints one JSON line:
latency summary (seconds), throughput (samples/s), performance factor and the outputs'
checksum. The first 20 000 queries are simulated one by one (the latency summary comes
from them, ``latency_sample``); longer runs continue in chunks at the mean service time.
``smoke`` runs the reference computation (``lab.emulator.reference``) and
prints its checksum. With ``--report-every W`` (emulated seconds) a ``--seconds`` run also
prints, as each window of W ends (at its wall time, flushed), one JSON line with the window's
throughput and latency percentiles — what a soak reads while the workload runs::

    {"window": 3, "t_start_s": 180.0, "t_end_s": 240.0, "queries": 52110, "samples": 52110,
     "throughput_sps": 868.5, "latency_s": {"p50": ..., "p99": ..., "max": ...}, "perf_factor_mean": 1.0}

On a hung device both block until killed; a device that fell off
the bus exits 3. A killed owner's claim is reclaimed by the next workload.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from types import FrameType

from lab.emulator.ownership import DeviceBusy
from lab.emulator.reference import REFERENCE_SIZE, checksum, reference_product
from lab.emulator.runner import DeviceUnavailable, WorkloadSession
from lab.emulator.state import NodeDir
from lab.emulator.tools.common import ToolUsageError, hang_forever, run_tool
from lab.emulator.workload import UnknownModelError

USAGE = (
    "usage: npu-workload run --device N --model NAME --batch B (--queries Q | --seconds S) [--no-wait]\n"
    "                        [--report-every W]\n"
    "       npu-workload smoke --device N"
)
MAX_QUERIES = 100_000_000
EXACT_QUERIES = 20_000  # simulated one by one; beyond, in chunks at the mean service time
CHUNK_QUERIES = 1_000
WINDOW_EXACT_QUERIES = 2_000  # per reported window: enough for a p99, cheap over a long soak
EXIT_UNAVAILABLE = 3
EXIT_BUSY = 4


def _options(argv: list[str], takes_value: dict[str, bool]) -> dict[str, str]:
    """``--name value`` pairs (flags map to ``""``); unknown options are a usage error."""
    values: dict[str, str] = {}
    items = iter(argv)
    for item in items:
        name = item.removeprefix("--")
        if not item.startswith("--") or name not in takes_value:
            raise ToolUsageError(f"unknown option {item!r}\n{USAGE}")
        if not takes_value[name]:
            values[name] = ""
            continue
        raw = next(items, None)
        if raw is None:
            raise ToolUsageError(f"{item} needs a value\n{USAGE}")
        values[name] = raw
    return values


def _number(options: dict[str, str], name: str, kind: type[int] | type[float], default: float) -> float:
    if name not in options:
        return default
    try:
        return kind(options[name])
    except ValueError as error:
        raise ToolUsageError(f"--{name}: invalid value {options[name]!r}") from error


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _stop_on_signals() -> None:
    def stop(number: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + number)

    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(number, stop)


def run(argv: list[str]) -> int:
    options = _options(
        argv,
        {
            "device": True,
            "model": True,
            "batch": True,
            "queries": True,
            "seconds": True,
            "no-wait": False,
            "report-every": True,
        },
    )
    if "device" not in options or "model" not in options:
        raise ToolUsageError(USAGE)
    if ("queries" in options) == ("seconds" in options):
        raise ToolUsageError(f"give exactly one of --queries and --seconds\n{USAGE}")
    limit_queries = int(_number(options, "queries", int, MAX_QUERIES))
    limit_seconds = _number(options, "seconds", float, float("inf"))
    if not 1 <= limit_queries <= MAX_QUERIES or limit_seconds <= 0:
        raise ToolUsageError(f"--queries must be 1..{MAX_QUERIES} and --seconds positive")
    report_every = _number(options, "report-every", float, 0.0)
    if "report-every" in options and ("seconds" not in options or report_every <= 0):
        raise ToolUsageError(f"--report-every needs --seconds and a positive window\n{USAGE}")
    device, batch = int(_number(options, "device", int, 0)), int(_number(options, "batch", int, 1))
    node = NodeDir.from_environment()
    session = WorkloadSession(node, device, options["model"], batch, "npu-workload run")
    _stop_on_signals()
    session.open()
    if report_every > 0:
        return _run_windows(session, node, limit_seconds, report_every, wait="no-wait" not in options)
    end = session.start
    try:
        if session.hung:
            hang_forever()
        latencies: list[float] = []
        factors = 0.0
        count = 0
        now = session.start
        while count < limit_queries and now - session.start < limit_seconds:
            if count < EXACT_QUERIES:
                timing = session.next_query(at=now)
                latencies.append(timing.emulated_seconds)
                factors += timing.factor
                now += timing.emulated_seconds
                count += 1
                continue
            chunk = min(CHUNK_QUERIES, limit_queries - count)
            factor = session.perf_factor(now)
            now += session.advance(chunk, now)
            factors += factor * chunk
            count += chunk
        end = now
        if "no-wait" not in options:
            time.sleep(node.wall_seconds(end - session.start))
    finally:
        if end == session.start or sys.exc_info()[0] is not None:
            # Stopped early (signal, hang): only the queries finished by now count.
            stopped = min(end, node.now())
            if end > session.start:
                session.queries = int(session.queries * (stopped - session.start) / (end - session.start))
            session.close(end=stopped)
        else:
            session.close(end=end)
    print(json.dumps(_summary(session, latencies, count, factors, end), sort_keys=True), flush=True)
    return 0


def _run_windows(
    session: WorkloadSession, node: NodeDir, seconds: float, window: float, *, wait: bool
) -> int:
    """A ``--seconds`` run that prints one JSON line per window of ``window`` emulated seconds,
    each at the wall time its window ends, then the usual summary line."""
    wall_start = time.monotonic()
    latencies: list[float] = []  # the run's first EXACT_QUERIES, for the summary line
    factors = 0.0
    count = 0
    now = session.start
    end_at = session.start + seconds
    index = 0
    try:
        if session.hung:
            hang_forever()
        while now < end_at:
            window_end = min(end_at, session.start + (index + 1) * window)
            window_start, window_count, window_factors = now, 0, 0.0
            window_latencies: list[float] = []
            while now < window_end:
                if window_count < WINDOW_EXACT_QUERIES:
                    timing = session.next_query(at=now)
                    window_latencies.append(timing.emulated_seconds)
                    if len(latencies) < EXACT_QUERIES:
                        latencies.append(timing.emulated_seconds)
                    factor, step, done = timing.factor, timing.emulated_seconds, 1
                else:
                    factor = session.perf_factor(now)
                    done = max(1, min(CHUNK_QUERIES, int((window_end - now) / session.model.base * factor)))
                    step = session.advance(done, now)
                window_factors += factor * done
                window_count += done
                now += step
            count += window_count
            factors += window_factors
            if wait:
                time.sleep(max(0.0, wall_start + node.wall_seconds(now - session.start) - time.monotonic()))
            ordered = sorted(window_latencies)
            line = {
                "window": index,
                "t_start_s": round(window_start - session.start, 6),
                "t_end_s": round(now - session.start, 6),
                "queries": window_count,
                "samples": window_count * session.model.batch,
                "throughput_sps": window_count * session.model.batch / (now - window_start),
                "latency_s": {
                    "p50": _percentile(ordered, 50),
                    "p99": _percentile(ordered, 99),
                    "max": ordered[-1],
                },
                "perf_factor_mean": window_factors / window_count,
            }
            print(json.dumps(line, sort_keys=True), flush=True)
            index += 1
    except BaseException:
        # Killed mid-window: only the time up to now was spent on the device.
        stopped = min(now, node.now())
        if now > session.start:
            session.queries = int(session.queries * (stopped - session.start) / (now - session.start))
        session.close(end=max(session.start, stopped))
        raise
    session.close(end=now)
    print(json.dumps(_summary(session, latencies, count, factors, now), sort_keys=True), flush=True)
    return 0


def _summary(
    session: WorkloadSession, latencies: list[float], count: int, factors: float, end: float
) -> dict[str, object]:
    """The one JSON result of a run: ``count`` queries (``latencies`` a sample of them) up to ``end``."""
    ordered = sorted(latencies)
    duration = end - session.start
    return {
        "device": session.index,
        "model": session.model.model,
        "batch": session.model.batch,
        "queries": count,
        "samples": count * session.model.batch,
        "latency_sample": len(latencies),
        "start_s": round(session.start, 6),
        "duration_s": round(duration, 6),
        "throughput_sps": count * session.model.batch / duration,
        "latency_s": {
            "mean": sum(latencies) / len(latencies),
            "min": ordered[0],
            "p50": _percentile(ordered, 50),
            "p90": _percentile(ordered, 90),
            "p99": _percentile(ordered, 99),
            "max": ordered[-1],
        },
        "perf_factor_mean": factors / count,
        "checksum": session.output_checksum(),
    }


def smoke(argv: list[str]) -> int:
    options = _options(argv, {"device": True})
    if "device" not in options:
        raise ToolUsageError(USAGE)
    node = NodeDir.from_environment()
    device = int(_number(options, "device", int, 0))
    session = WorkloadSession(node, device, "resnet50", 1, "npu-workload smoke")
    _stop_on_signals()
    session.open()
    try:
        if session.hung:
            hang_forever()
        product = reference_product()
        if session.wrong_output:
            product[0][0] ^= 1  # one flipped bit: what a corrupted weight or a bad lane does
        digest = checksum(product)
    finally:
        session.close()
    reference = f"int8-matmul-{REFERENCE_SIZE}x{REFERENCE_SIZE}-seed-0"
    print(json.dumps({"device": session.index, "reference": reference, "checksum": digest}, sort_keys=True))
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "smoke"):
        raise ToolUsageError(USAGE)
    try:
        return run(argv[1:]) if argv[0] == "run" else smoke(argv[1:])
    except DeviceBusy as error:
        print(f"npu-workload: {error}", file=sys.stderr)
        return EXIT_BUSY
    except DeviceUnavailable as error:
        print(f"npu-workload: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except UnknownModelError as error:
        raise ToolUsageError(str(error)) from error


def cli() -> int:
    """The entry point of the node's ``npu-workload`` wrapper."""
    return run_tool("npu-workload", main)


if __name__ == "__main__":
    sys.exit(cli())

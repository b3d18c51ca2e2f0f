"""Benchmark: what logging outputs costs per LoadGen query (accuracy runs and the TEST01 audit).

    .venv/bin/python benchmarks/bench_accuracy_logging.py [--rounds 5] [--backend onnxruntime-cpu]

The node agent's LoadGen runner (``lab.agent.loadgen_run.run_test``), in this process, drives
SingleStream over the digits task's 450 samples (one sample per query) in three modes, rounds
interleaved so that load on the machine hits them alike:

* ``PerformanceOnly`` — 4,500 queries, responses carry no data (the baseline, same run);
* ``PerformanceOnly + TEST01`` — 4,500 queries, every response carries its output bytes,
  LoadGen logs about 64 of them (``accuracy_log_sampling_target``, the suite's Offline runs);
* ``AccuracyOnly`` — every sample once (450 queries), every output logged (the accuracy run).

Prints per mode the median over rounds of the wall microseconds per query (the whole LoadGen
test ÷ its queries) and of LoadGen's p50 latency where it reports one, each with its ratio
to the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.agent.backends import create  # noqa: E402
from lab.agent.loadgen_run import run_test  # noqa: E402
from lab.agent.protocol import Request  # noqa: E402
from lab.performance.audit import SAMPLING_SEED, SAMPLING_TARGET  # noqa: E402
from lab.performance.tasks import load_task  # noqa: E402

PERFORMANCE_QUERIES = 4500  # per performance test: the test's fixed cost spread thin (AccuracyOnly: 450)
MODES: dict[str, dict[str, object]] = {
    "PerformanceOnly": {},
    "PerformanceOnly + TEST01": {
        "accuracy_log_sampling_target": SAMPLING_TARGET,
        "accuracy_log_rng_seed": SAMPLING_SEED,
    },
    "AccuracyOnly": {"mode": "AccuracyOnly"},
}


def one_run(backend_name: str, mode: dict[str, object], folder: Path) -> tuple[float, float | None]:
    """(wall µs per query, LoadGen's p50 latency in µs or None) of one SingleStream test."""
    task = load_task("digits")
    options: dict[str, object] = {
        "model_path": str(task.files.model),
        "inputs_path": str(task.files.inputs),
        "batch": 1,
        "threads": 1,
    }
    if backend_name == "emulated":
        options["model"] = "resnet50"
    request = Request(
        {
            "scenario": "SingleStream",
            "backend": {"name": backend_name, "options": options},
            "min_duration_s": 0.05,
            "min_query_count": PERFORMANCE_QUERIES,
            "sample_count": task.sample_count,
            "expected_latency_ms": 0.1,
            "output_dir": str(folder),
            **mode,
        }
    )
    backend = create(backend_name, 0, request.backend_options)
    backend.open(request.sample_count)
    try:
        began = time.perf_counter()
        result = run_test(request, [backend])
        seconds = time.perf_counter() - began
    finally:
        backend.close()
    queries = sum(result["samples_per_device"])  # type: ignore[arg-type]
    latency = result["summary"].get("latency_ns", {}).get("50.00")  # type: ignore[union-attr]
    return seconds / queries * 1e6, (latency / 1e3 if isinstance(latency, int | float) else None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", default="onnxruntime-cpu", choices=("onnxruntime-cpu",))
    arguments = parser.parse_args()
    per_query: dict[str, list[float]] = {name: [] for name in MODES}
    p50: dict[str, list[float]] = {name: [] for name in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-accuracy.") as work:
        for number in range(arguments.rounds):
            for name, mode in MODES.items():
                wall, latency = one_run(
                    arguments.backend, mode, Path(work) / f"{number}-{len(per_query[name])}"
                )
                per_query[name].append(wall)
                if latency is not None:
                    p50[name].append(latency)
    base_wall = statistics.median(per_query["PerformanceOnly"])
    base_p50 = statistics.median(p50["PerformanceOnly"])
    rounds = arguments.rounds
    print(f"backend {arguments.backend}, SingleStream, {rounds} rounds (medians)")
    print(f"{'mode':<26} {'wall µs/query':>14} {'ratio':>7} {'p50 µs':>9} {'ratio':>7}")
    for name in MODES:
        wall = statistics.median(per_query[name])
        line = f"{name:<26} {wall:14.1f} {wall / base_wall:7.3f}"
        if p50[name]:
            latency = statistics.median(p50[name])
            line += f" {latency:9.1f} {latency / base_p50:7.3f}"
        print(line)


if __name__ == "__main__":
    main()

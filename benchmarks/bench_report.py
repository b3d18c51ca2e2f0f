"""Rendering speed of the certification report: a 100-node × 100-test run (10,000 records).

    .venv/bin/python benchmarks/bench_report.py [--nodes 100] [--tests 100] [--points 60] [--repeat 3]

Every record carries one measurement and one series evidence file (a soak time series or a
latency sample set, alternately), written with the real results store. The run is built
once in a temporary folder (not timed), then the report is rendered, signed and written in
a fresh process per repetition, so each process's peak resident memory is the report's own.
Targets: under 3 s and under 300 MB. The ratio against ``allure generate`` of an equivalent
Allure results folder is printed only when the Allure command line is installed. The CPU
time is printed too: on a shared machine it is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

TARGET_SECONDS = 3.0
TARGET_MB = 300.0


def build(run_dir: Path, nodes: int, tests: int, points: int) -> None:
    from lab.criteria import combine, evaluate
    from lab.inventory.model import Axis, Criterion, Limits
    from lab.results import CollectedTest, Manifest, RunWriter, TestRecord, write_manifest
    from lab.results.series import Series, write_series

    axes = list(Axis)
    criteria = [
        Criterion(f"metric{index}", axes[index % len(axes)], "W", "", Limits(maximum=100.0, marginal=0.05))
        for index in range(tests)
    ]
    manifest = Manifest.start(run_id=run_dir.name, command_line=["bench"], properties={"testbed": "bench"})
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        ids = [
            (f"suite/test_{t:03d}.py::test[node-{n:03d}:npu0]", n, t)
            for n in range(nodes)
            for t in range(tests)
        ]
        writer.collected(
            [CollectedTest(test_id, node=f"node-{n:03d}", device="npu0") for test_id, n, _ in ids]
        )
        for test_id, n, t in ids:
            value = 60.0 + (n * 7 + t * 13) % 45
            if t % 2 == 0:
                series = Series(
                    f"power{t}", "W", t=tuple(float(i) for i in range(points)),
                    values=tuple(value + (i % 7) * 0.5 for i in range(points)), maximum=100.0,
                )  # fmt: skip
            else:
                series = Series(
                    f"latency{t}", "ms", values=tuple(2.0 + (i % 17) * 0.1 for i in range(points * 4)),
                    kind="samples", maximum=15.0,
                )  # fmt: skip
            evidence = write_series(run_dir, test_id, series)
            measurement = evaluate(criteria[t], value, evidence=[evidence])
            record = TestRecord(
                test_id=test_id, outcome=combine([measurement.verdict]), node=f"node-{n:03d}", device="npu0",
                measurements=(measurement,), started=manifest.started,
                finished=manifest.started + timedelta(seconds=1), duration=1.0,
                properties={"firmware_version": "1.2.3", "trust_mode": "strict"},
            )  # fmt: skip
            writer.record(record)
    write_manifest(run_dir, manifest.finish(exit_status=0))


def measure(run_dir: Path, out: Path, key_dir: Path) -> None:
    """One timed render in this process; prints a JSON line with seconds and peak RSS."""
    from lab.report import load_private_key, render_report
    from lab.results import load_run

    key = load_private_key(key_dir / "report-signing.key")
    start, cpu_start = time.perf_counter(), time.process_time()
    run = load_run(run_dir)
    loaded = time.perf_counter()
    html = render_report(run_dir, lang="en", key=key, run=run)
    out.write_text(html, encoding="utf-8")
    end = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = time.process_time() - cpu_start
    print(json.dumps({"total": end - start, "cpu": cpu, "load": loaded - start, "render": end - loaded,
                      "peak_mb": peak_mb, "bytes": out.stat().st_size}))  # fmt: skip


def allure_seconds(run_dir: Path, work: Path) -> float | None:
    """Time ``allure generate`` over an equivalent results folder, or None without Allure."""
    binary = shutil.which("allure")
    if binary is None:
        return None
    from lab.results import load_run

    results = work / "allure-results"
    results.mkdir()
    for index, record in enumerate(load_run(run_dir).records):
        status = record.outcome.mapping.allure
        (results / f"{index:06d}-result.json").write_text(
            json.dumps(
                {
                    "uuid": f"{index:032x}",
                    "name": record.test_id,
                    "fullName": record.test_id,
                    "status": status,
                    "start": 0,
                    "stop": 1000,
                }
            ),
            encoding="utf-8",
        )
    start = time.perf_counter()
    subprocess.run(
        [binary, "generate", str(results), "-o", str(work / "allure-report"), "--clean"],
        check=True, capture_output=True, env={"ALLURE_NO_ANALYTICS": "true", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--points", type=int, default=60, help="samples per time series (latency sets: 4×)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=3, metavar=("RUN_DIR", "OUT", "KEY_DIR"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        measure(*(Path(item) for item in arguments.measure))
        return 0

    from lab.report import generate_key_pair

    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        work = Path(folder)
        run_dir = work / "20261125T000000Z-bench0"
        started = time.perf_counter()
        build(run_dir, arguments.nodes, arguments.tests, arguments.points)
        records = arguments.nodes * arguments.tests
        built = time.perf_counter() - started
        print(f"built a {arguments.nodes}-node × {arguments.tests}-test run ({records} records, "
              f"{records} series files) in {built:.1f} s (not timed below)")  # fmt: skip
        generate_key_pair(work / "keys")
        samples = []
        for attempt in range(arguments.repeat):
            out = work / f"report-{attempt}.html"
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(run_dir), str(out), str(work / "keys")],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            samples.append(json.loads(child.stdout.strip().splitlines()[-1]))
        total = statistics.median(s["total"] for s in samples)
        load = statistics.median(s["load"] for s in samples)
        render = statistics.median(s["render"] for s in samples)
        cpu = statistics.median(s["cpu"] for s in samples)
        peak = max(s["peak_mb"] for s in samples)
        size = samples[-1]["bytes"] / 1e6
        print(f"report (load + render + sign + write), median of {len(samples)}: {total:.2f} s "
              f"(load_run {load:.2f} s, render+seal {render:.2f} s; CPU time {cpu:.2f} s); "
              f"peak RSS {peak:.0f} MB; HTML {size:.1f} MB")  # fmt: skip
        print(f"targets: < {TARGET_SECONDS:.0f} s {'met' if total < TARGET_SECONDS else 'MISSED'}, "
              f"< {TARGET_MB:.0f} MB {'met' if peak < TARGET_MB else 'MISSED'}")  # fmt: skip
        allure = allure_seconds(run_dir, work)
        if allure is None:
            print("allure generate: Allure command line not installed here, no ratio printed")
        else:
            ratio = total / allure
            print(
                f"allure generate of the same {records} results: {allure:.2f} s; ratio lab/allure {ratio:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

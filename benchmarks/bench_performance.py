"""Benchmark of the performance harness: measured vs true, and the harness's overhead per query.

    .venv/bin/python benchmarks/bench_performance.py [--repeat 3] [--seconds 1.5]

Starts an emulated test-bed of four Warboy nodes whose time scales (1, 0.5, 0.25, 0.1) put
ResNet-50's service time at about 1.4, 2.7, 5.4 and 13.6 ms (SingleStream, batch 1) and
3, 6, 12, 30 ms (Offline batch of 8), runs the agent over SSH as the suite does, and prints
per service time the median of ``--repeat`` runs:

* Offline samples/s measured vs the workload model's truth (error in %);
* SingleStream p50 and p90 measured vs truth (error in %), and the harness overhead per
  query (measured p50 − true p50, in µs);

then the baseline measured in the same run: LoadGen with a SUT that completes every query
at once (its own per-query cost on this host, SingleStream, µs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.emulator.state import NodeDir  # noqa: E402
from lab.emulator.testbed.launcher import down, up  # noqa: E402
from lab.emulator.testbed.nodes import lab_source_root  # noqa: E402
from lab.emulator.workload import WorkloadModel  # noqa: E402
from lab.inventory import load_inventory  # noqa: E402
from lab.performance.agent_runner import AgentRunner  # noqa: E402
from lab.transport.pool import ConnectionPool  # noqa: E402
from lab.transport.ssh import SSHTransport  # noqa: E402

SCALES = (1.0, 0.5, 0.25, 0.1)
NODE = """\
  - name: bench-{index}
    accelerators: [{{model: warboy, count: 1}}]
    emulation: {{seed: {seed}, time_scale: {scale}}}
"""
HEADER = f"""\
version: 1
name: performance-benchmark
catalog: {REPO}/inventory/devices.yaml
profiles: {REPO}/inventory/profiles
defaults: {{emulated: true, user: lab, operator: kt-cloud, profile: kcloud-npu-v1}}
nodes:
"""


def request(scenario: str, batch: int, seconds: float) -> dict[str, object]:
    return {
        "scenario": scenario,
        "backend": {"name": "emulated", "options": {"model": "resnet50", "batch": batch}},
        "devices": [0],
        "min_duration_s": seconds,
        "min_query_count": 200 if scenario == "SingleStream" else 1,
        "deadline_s": 120,
    }


def loadgen_baseline_us(seconds: float) -> float:
    """Per-query cost of LoadGen + a Python SUT that answers at once (SingleStream), µs."""
    import mlperf_loadgen as lg

    def issue(queries: list[object]) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, 0, 0) for q in queries])  # type: ignore[attr-defined]

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(1024, 1024, lambda _: None, lambda _: None)
    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.SingleStream
    settings.mode = lg.TestMode.PerformanceOnly
    settings.min_duration_ms = int(seconds * 1000)
    settings.min_query_count = 1000
    settings.single_stream_expected_latency_ns = 20_000
    log = lg.LogSettings()
    with tempfile.TemporaryDirectory() as folder:
        log.log_output.outdir = folder
        log.log_output.copy_summary_to_stdout = False
        lg.StartTestWithLogSettings(sut, qsl, settings, log)
        text = Path(folder, "mlperf_log_summary.txt").read_text()
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    for line in text.splitlines():
        if line.startswith("50.00 percentile latency (ns)"):
            return float(line.split(":")[1]) / 1000
    raise RuntimeError("no p50 in LoadGen's summary")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-perf.") as folder:
        directory = Path(folder)
        text = HEADER + "".join(NODE.format(index=i, seed=40 + i, scale=s) for i, s in enumerate(SCALES))
        (directory / "inventory.yaml").write_text(text)
        began = time.monotonic()
        testbed = up(directory / "inventory.yaml", directory / "testbed")
        took = time.monotonic() - began
        print(f"test-bed of {len(SCALES)} nodes up in {took:.1f} s; load average {os.getloadavg()[0]:.1f}")
        inventory = load_inventory(testbed.resolved_inventory)
        pool = ConnectionPool()
        print(
            f"{'service (SS/Off)':>17} | {'Offline meas/true samples/s':>28} {'err':>6} | "
            f"{'SS p50 meas/true ms':>20} {'err':>6} | {'SS p90 meas/true ms':>20} {'err':>6} | "
            f"{'overhead':>9}"
        )
        try:
            for index, scale in enumerate(SCALES):
                name = f"bench-{index}"
                node_dir = NodeDir(next(n.node_dir for n in testbed.manifest.nodes if n.name == name))
                spec = node_dir.spec.devices[0]
                single = WorkloadModel.for_device(spec, "resnet50", 1, node_dir.spec.seed)
                offline = WorkloadModel.for_device(spec, "resnet50", 8, node_dir.spec.seed)
                transport = SSHTransport(inventory.node(name), resolve=inventory.node, pool=pool)
                runner = AgentRunner(
                    transport, python=sys.executable, environment={"PYTHONPATH": lab_source_root()}
                )
                rates, p50s, p90s = [], [], []
                for _ in range(options.repeat):
                    rates.append(runner.run(request("Offline", 8, options.seconds)).samples_per_second or 0.0)
                    result = runner.run(request("SingleStream", 1, options.seconds))
                    p50s.append(result.latency_ms("50.00") or 0.0)
                    p90s.append(result.latency_ms("90.00") or 0.0)
                runner.cleanup()
                true_rate = offline.ground_truth().throughput * scale
                true_p50 = single.quantile(0.5) / scale * 1000
                true_p90 = single.quantile(0.9) / scale * 1000
                rate, p50, p90 = statistics.median(rates), statistics.median(p50s), statistics.median(p90s)
                service = f"{single.base / scale * 1000:.1f}/{offline.base / scale * 1000:.1f} ms"
                print(
                    f"{service:>17} | {rate:>13.1f} / {true_rate:>12.1f} "
                    f"{100 * (rate / true_rate - 1):>+5.1f}% | "
                    f"{p50:>9.3f} / {true_p50:>8.3f} {100 * (p50 / true_p50 - 1):>+5.1f}% | "
                    f"{p90:>9.3f} / {true_p90:>8.3f} {100 * (p90 / true_p90 - 1):>+5.1f}% | "
                    f"{(p50 - true_p50) * 1000:>6.0f} µs"
                )
        finally:
            pool.close_all()
            down(directory / "testbed")
    baseline = statistics.median(loadgen_baseline_us(options.seconds) for _ in range(options.repeat))
    print(f"baseline: LoadGen + an instant Python SUT, SingleStream p50 per query: {baseline:.0f} µs")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2-core host; timing degrades above ~2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: wall power from an emulated node's Redfish BMC (sushy-tools + sushy client).

    .venv/bin/python benchmarks/bench_wall_power.py [--runs 5] [--window 3] [--interval 0.25]

1. Cost of wall-power sampling per performance window: the controller's CPU time over a
   window with the sampler running at the profile's interval, against the same window
   without it (baseline, same run). Also the median time of one Redfish reading.
2. Measured vs true wall power: each reading over HTTPS against the model's own figure
   computed at the same instant on the node directory ((Σ cards + platform) / PSU
   efficiency, without noise beyond the cards' own ±1 %), idle and with card 0 busy.

Starts one BMC on 127.0.0.1 for a 2-card RNGD node directory in a temporary folder and
stops it by pid.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab.emulator.bmc.launch import start_bmc  # noqa: E402
from lab.emulator.bmc.power import wall_watts  # noqa: E402
from lab.emulator.defaults import NODE_DIR_ENV  # noqa: E402
from lab.emulator.state import NodeDir  # noqa: E402
from lab.emulator.testbed.nodes import prepare_node_dir  # noqa: E402
from lab.emulator.testbed.processes import stop_pids  # noqa: E402
from lab.inventory.model import Auth, Bmc, ExpectedVersions, HostKeyTrust, Node  # noqa: E402
from lab.performance.wall_power import WallPowerSampler  # noqa: E402
from lab.transport.redfish import RedfishClient  # noqa: E402
from tests.emulator.helpers import node_spec  # noqa: E402

PASSWORD = "bench-bmc-pw"


def window_cpu(seconds: float, sampler: WallPowerSampler | None) -> tuple[float, int]:
    """CPU seconds of this process over a window of ``seconds`` (sampling or not), samples taken."""
    began = time.process_time()
    if sampler is None:
        time.sleep(seconds)
        return time.process_time() - began, 0
    with sampler:
        time.sleep(seconds)
    return time.process_time() - began, len(sampler.series().watts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--window", type=float, default=3.0, help="seconds per window")
    parser.add_argument("--interval", type=float, default=0.25, help="sampling interval, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-wall-") as folder:
        node_dir = Path(folder) / "node"
        prepare_node_dir(node_dir, node_spec("rngd", 2))
        bmc_process = start_bmc(node_dir, "bench", user="admin", password=PASSWORD)
        try:
            bmc = Bmc(
                "127.0.0.1", bmc_process.port, "admin", "BENCH_BMC", fingerprint=bmc_process.fingerprint
            )
            node = Node(
                name="bench", address="127.0.0.1", port=22, user="lab", auth=Auth("agent"),
                host_key=HostKeyTrust(), operator="kt-cloud", site=None, rack=None, groups=(),
                accelerators=(), expected=ExpectedVersions(), tags=frozenset(), labels={}, emulated=True,
                bmc=bmc,
            )  # fmt: skip
            os.environ["BENCH_BMC"] = PASSWORD
            baseline, sampled, counts = [], [], []
            for _ in range(args.runs):
                baseline.append(window_cpu(args.window, None)[0])
                cpu, count = window_cpu(args.window, WallPowerSampler(node, interval_s=args.interval))
                sampled.append(cpu)
                counts.append(count)
            extra = statistics.median(sampled) - statistics.median(baseline)
            print(f"window {args.window:g} s, interval {args.interval:g} s, {args.runs} runs")
            print(f"  controller CPU per window: baseline {statistics.median(baseline) * 1e3:.1f} ms, "
                  f"sampling {statistics.median(sampled) * 1e3:.1f} ms "
                  f"(+{extra * 1e3:.1f} ms, {statistics.median(counts):.0f} readings, "
                  f"{extra / max(1, statistics.median(counts)) * 1e3:.2f} ms CPU per reading)")  # fmt: skip

            node_view = NodeDir(str(node_dir))
            with RedfishClient(bmc, node="bench", password=PASSWORD) as client:
                for label, busy in (("idle", False), ("card 0 busy", True)):
                    load = None
                    if busy:
                        env = dict(os.environ, **{NODE_DIR_ENV: str(node_dir)}, PYTHONPATH=str(ROOT))
                        load = subprocess.Popen(
                            [sys.executable, "-m", "lab.emulator.tools.npu_workload", "run", "--device", "0",
                             "--model", "resnet50", "--batch", "8", "--seconds", "6"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        )  # fmt: skip
                        time.sleep(1.5)
                    errors, latencies, trues = [], [], []
                    for _ in range(max(5, args.runs * 2)):
                        began = time.monotonic()
                        measured = client.power().watts
                        latencies.append(time.monotonic() - began)
                        true = wall_watts(node_view)
                        errors.append((measured - true) / true)
                        trues.append(true)
                        time.sleep(0.2)
                    if load is not None:
                        load.wait(timeout=30)
                    median_error, worst = statistics.median(errors), max(errors, key=abs)
                    reading = statistics.median(latencies)
                    ratio = reading / args.interval
                    print(f"  {label} (true {statistics.median(trues):.1f} W): measured vs true: "
                          f"median error {median_error:+.3%}, "
                          f"worst {worst:+.3%}; one reading {reading * 1e3:.1f} ms median "
                          f"(ratio to the {args.interval:g} s interval: {ratio:.2f})")  # fmt: skip
        finally:
            stop_pids([bmc_process.pid])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

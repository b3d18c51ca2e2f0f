"""Benchmark of the stability suite's controller side: telemetry sampling at scale, and memory.

    .venv/bin/python benchmarks/bench_stability.py [--nodes 32] [--seconds 20]
                                                   [--memory-nodes 8] [--memory-seconds 150]

Prints:
* **sampling lag**: every node sampled at 1 s intervals by its own soak thread (telemetry
  only, each node its own SSH connection), lag = how late each round started after its slot,
  median / p95 / max, missed slots, and whether the lag grows (median of the last third of
  rounds vs the first third). Baseline: the same with 1 node, in the same run.
* **controller memory** over a soak of N nodes with workloads (time scale 60): RSS of this
  process at start and end and its slope (least squares, MiB/min). Shorter than the issue's
  30-minute soak (default 150 s), said so in the output.

Everything runs on this machine: the emulated nodes' tool calls (~46 ms of CPU each) share
its cores with the controller, so lag here is an upper bound of what a controller with
remote nodes sees.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.emulator.testbed.launcher import down, up  # noqa: E402
from lab.inventory import load_inventory  # noqa: E402
from lab.inventory.model import Inventory  # noqa: E402
from lab.stability.settings import SoakSettings  # noqa: E402
from lab.stability.soak import Soak  # noqa: E402
from lab.transport.ssh import SSHTransport  # noqa: E402

INVENTORY = """\
version: 1
name: bench-stability
catalog: {repo}/inventory/devices.yaml
profiles: {repo}/inventory/profiles
defaults:
  emulated: true
  operator: kt-cloud
  user: lab
  profile: kcloud-npu-v1
  timeouts: {{connect: 10, command: 30}}
nodes:
  - name: soak-rngd-[1:{half}]
    accelerators: [{{model: rngd, count: 2}}]
    emulation: {{seed: 1, time_scale: 60}}
  - name: soak-rbln-[1:{rest}]
    accelerators: [{{model: atom-plus, count: 2}}]
    emulation: {{seed: 2, time_scale: 60}}
"""


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak_nodes(
    inventory: Inventory, names: list[str], seconds: float, run_dir: Path, *, workload: bool
) -> dict[str, list[float]]:
    """Soak ``names`` in parallel threads; returns each node's per-round lag."""
    lags: dict[str, list[float]] = {name: [] for name in names}
    errors: list[str] = []
    profile = inventory.profiles["kcloud-npu-v1"]

    def one(name: str) -> None:
        node = inventory.node(name)
        transport = SSHTransport(node, resolve=inventory.node)
        try:
            settings = SoakSettings.from_profile(profile, node, duration=seconds)
            Soak(
                transport, node, inventory.catalog, profile, run_dir, f"bench::{name}", settings,
                workload=workload, on_round=lambda number, lag: lags[name].append(lag),
            ).run()  # fmt: skip
        except Exception as error:  # a benchmark reports every failure, whatever it is
            errors.append(f"{name}: {error}")
        finally:
            transport.close()

    threads = [threading.Thread(target=one, args=(name,), daemon=True) for name in names]
    cpu, wall = time.process_time(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    rounds = sum(len(per_node) for per_node in lags.values())
    print(
        f"  controller CPU {cpu:.1f} s over {wall:.1f} s wall ({cpu / wall:.0%} of one core), "
        f"{cpu / max(1, rounds) * 1000:.1f} ms per node-round (the rest of the machine ran the nodes' tools)"
    )
    if errors:
        print("  errors:", *errors[:5], sep="\n    ")
    return lags


def lag_report(label: str, lags: dict[str, list[float]], seconds: float) -> float:
    rounds = [lag for per_node in lags.values() for lag in per_node]
    if not rounds:
        print(f"{label}: no rounds")
        return 0.0
    ordered = sorted(rounds)
    median = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    expected = len(lags) * int(seconds)
    thirds = [[per_node[i] for per_node in lags.values() if i < len(per_node)] for i in range(int(seconds))]
    third = max(1, len(thirds) // 3)
    early = statistics.median([lag for row in thirds[:third] for lag in row] or [0.0])
    late = statistics.median([lag for row in thirds[-third:] for lag in row] or [0.0])
    trend = "grows" if late > 2 * early + 0.05 else "flat"
    print(
        f"{label}: {len(rounds)} rounds (of {expected} slots), lag median {median * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms; first third median "
        f"{early * 1000:.1f} ms, last third {late * 1000:.1f} ms ({trend})"
    )
    return median


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--memory-nodes", type=int, default=8)
    parser.add_argument("--memory-seconds", type=float, default=150.0)
    options = parser.parse_args()
    count = max(options.nodes, options.memory_nodes)
    with tempfile.TemporaryDirectory(prefix="bench-stability-") as folder:
        directory = Path(folder)
        inventory_file = directory / "inventory.yaml"
        half = max(1, count // 2)
        inventory_file.write_text(INVENTORY.format(repo=REPO, half=half, rest=count - half), encoding="utf-8")
        began = time.monotonic()
        testbed = up(inventory_file, directory / "testbed")
        print(f"test-bed: {count} nodes × 2 cards up in {time.monotonic() - began:.1f} s")
        try:
            inventory = load_inventory(testbed.resolved_inventory)
            names = [node.name for node in inventory.nodes]
            base = lag_report(
                "1 node, 1 s interval (baseline)",
                soak_nodes(inventory, names[:1], options.seconds / 2, directory / "run1", workload=False),
                options.seconds / 2,
            )
            many = lag_report(
                f"{options.nodes} nodes, 1 s interval",
                soak_nodes(
                    inventory, names[: options.nodes], options.seconds, directory / "run32", workload=False
                ),
                options.seconds,
            )
            ratio = many / base if base else float("nan")
            print(f"  median lag ratio {options.nodes} nodes / 1 node: {ratio:.1f}x")
            memory(inventory, names[: options.memory_nodes], options.memory_seconds, directory / "runmem")
        finally:
            down(directory / "testbed")
    return 0


def memory(inventory: Inventory, names: list[str], seconds: float, run_dir: Path) -> None:
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    start = time.monotonic()

    def watch() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - start, rss_mib()))
            stop.wait(5.0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    soak_nodes(inventory, names, seconds, run_dir, workload=True)
    stop.set()
    watcher.join()
    samples.append((time.monotonic() - start, rss_mib()))
    # the first 10 s are warm-up (imports, connections, appenders opening): the slope is after it
    steady = [(t, rss) for t, rss in samples if t >= 10.0] or samples
    mean_t = statistics.fmean(t for t, _ in steady)
    mean_r = statistics.fmean(r for _, r in steady)
    denominator = sum((t - mean_t) ** 2 for t, _ in steady) or 1.0
    slope = sum((t - mean_t) * (r - mean_r) for t, r in steady) / denominator * 60
    files = sum(1 for _ in run_dir.rglob("*.series.jsonl"))
    print(
        f"controller memory, soak of {len(names)} nodes × 2 cards with workloads for {seconds:g} s "
        f"(SHORTER than the issue's 30 min): RSS {samples[0][1]:.1f} MiB at start, "
        f"{steady[0][1]:.1f} MiB after warm-up, {samples[-1][1]:.1f} MiB at end; "
        f"slope after warm-up {slope:+.3f} MiB/min; {files} series files written"
    )


if __name__ == "__main__":
    sys.exit(main())

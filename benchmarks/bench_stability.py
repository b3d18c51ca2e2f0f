"""Benchmark of the stability suite's controller side: telemetry sampling at scale, and memory.

    .venv/bin/python benchmarks/bench_stability.py [--nodes 32] [--seconds 20]
                                                   [--memory-nodes 8] [--memory-seconds 150]

Prints:
* **sampling lag**: every node sampled at 1 s intervals by its own soak thread (telemetry
  only, each node its own SSH connection), lag = how late each round started after its slot,
  median / p95 / max, missed slots (a round that overran its slot skips the next ones), and
  whether the lag grows (median of the last third of rounds vs the first third). Baseline:
  the same with 1 node, in the same run.
* **CPU per node-round**, measured as CPU time, which background load barely changes:
  the controller's (this process, all threads) and the nodes' (each node's sshd session
  with the shells and emulated tools it ran, read from ``/proc`` over the same connection
  before and after).
* **replayed tools**: the N-node line again with each node's vendor tools replaced by a
  ``cat`` of the output they printed once: the same controller code, with the emulated
  tools' cost (a Python process per call) taken off the shared cores.
* **controller memory** over a soak of N nodes with workloads (time scale 60): RSS of this
  process at start and end and its slope (least squares, MiB/min), the soak's length
  compared with the issue's 30 minutes.

Everything runs on this machine: the emulated nodes' tool calls share its cores with the
controller, so lag here is an upper bound of what a controller with remote nodes sees.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.devices import adapter_for  # noqa: E402
from lab.emulator.testbed.launcher import UpResult, down, up  # noqa: E402
from lab.inventory import load_inventory  # noqa: E402
from lab.inventory.model import Inventory  # noqa: E402
from lab.performance.telemetry import RecordingTransport  # noqa: E402
from lab.stability.cards import node_cards  # noqa: E402
from lab.stability.settings import SoakSettings  # noqa: E402
from lab.stability.soak import Soak  # noqa: E402
from lab.stability.telemetry import read_cards  # noqa: E402
from lab.transport.base import Transport  # noqa: E402
from lab.transport.result import ShellScript  # noqa: E402
from lab.transport.ssh import SSHTransport  # noqa: E402

ISSUE_SOAK_SECONDS = 1800.0

INVENTORY = """\
version: 1
name: {name}
catalog: {repo}/inventory/devices.yaml
profiles: {repo}/inventory/profiles
defaults:
  emulated: true
  operator: kt-cloud
  user: lab
  profile: kcloud-npu-v1
  timeouts: {{connect: 10, command: 30}}
nodes:
  - name: {prefix}-rngd-[1:{half}]
    accelerators: [{{model: rngd, count: 2}}]
    emulation: {{seed: 1, time_scale: {scale}}}
  - name: {prefix}-rbln-[1:{rest}]
    accelerators: [{{model: atom-plus, count: 2}}]
    emulation: {{seed: 2, time_scale: {scale}}}
"""


@contextmanager
def soak_testbed(name: str, prefix: str, count: int, time_scale: float) -> Iterator[tuple[Path, UpResult]]:
    """An emulated test-bed of ``count`` nodes named ``prefix``-rngd-K and ``prefix``-rbln-K (half
    each, two cards a node) in a temporary folder; yields (the folder, the started test-bed).

    bench_soak_workload.py runs its soaks on the same test-bed, at time scale 1.
    """
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as folder:
        directory = Path(folder)
        half = max(1, count // 2)
        text = INVENTORY.format(
            repo=REPO, name=name, prefix=prefix, half=half, rest=max(1, count - half), scale=time_scale
        )
        (directory / "inventory.yaml").write_text(text, encoding="utf-8")
        began = time.monotonic()
        testbed = up(directory / "inventory.yaml", directory / "testbed")
        print(f"test-bed: {count} nodes × 2 cards up in {time.monotonic() - began:.1f} s")
        try:
            yield directory, testbed
        finally:
            down(directory / "testbed")


# Fixed text: the login shell's parent is this connection's sshd session, whose stat holds
# its own CPU and that of every shell and tool it has reaped (fields 14-17, clock ticks).
_SESSION_STAT = ShellScript("cat /proc/$PPID/stat")
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class SoakRun:
    """What one batch of parallel soaks measured."""

    lags: dict[str, list[float]]
    slots: int = 0  # every node's scheduled slots
    missed: int = 0
    node_rounds: int = 0  # rounds the soaks ran, the final one included
    controller_cpu_s: float = 0.0
    node_cpu_s: float = 0.0
    nodes_measured: int = 0
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def session_cpu_s(transport: Transport) -> float | None:
    """CPU seconds the node's sshd session has used so far, shells and tools included."""
    fields = transport.run(_SESSION_STAT).stdout.rsplit(")", 1)[-1].split()
    if len(fields) < 15 or not all(value.isdigit() for value in fields[11:15]):
        return None
    return sum(int(value) for value in fields[11:15]) / _TICK


def soak_nodes(
    inventory: Inventory, names: list[str], seconds: float, run_dir: Path, *, workload: bool
) -> SoakRun:
    """Soak ``names`` in parallel threads, one SSH connection each."""
    run = SoakRun(lags={name: [] for name in names})
    lock = threading.Lock()
    profile = inventory.profiles["kcloud-npu-v1"]

    def one(name: str) -> None:
        node = inventory.node(name)
        transport = SSHTransport(node, resolve=inventory.node)
        try:
            before = session_cpu_s(transport)
            settings = SoakSettings.from_profile(profile, node, duration=seconds)
            result = Soak(
                transport, node, inventory.catalog, profile, run_dir, f"bench::{name}", settings,
                workload=workload, on_round=lambda number, lag: run.lags[name].append(lag),
            ).run()  # fmt: skip
            after = session_cpu_s(transport)
            with lock:
                run.slots += int(seconds / settings.interval_s)
                run.missed += result.missed_rounds
                run.node_rounds += result.rounds
                if before is not None and after is not None:
                    run.node_cpu_s += after - before
                    run.nodes_measured += 1
        except Exception as error:  # a benchmark reports every failure, whatever it is
            run.errors.append(f"{name}: {error}")
        finally:
            transport.close()

    threads = [threading.Thread(target=one, args=(name,), daemon=True) for name in names]
    cpu, wall = time.process_time(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    run.controller_cpu_s, run.wall_s = time.process_time() - cpu, time.monotonic() - wall
    return run


def lag_report(label: str, run: SoakRun, seconds: float) -> float:
    rounds = [lag for per_node in run.lags.values() for lag in per_node]
    if not rounds:
        print(f"{label}: no rounds", *run.errors[:5], sep="\n    ")
        return 0.0
    ordered = sorted(rounds)
    median = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    per_node_lags = list(run.lags.values())
    thirds = [[lags[i] for lags in per_node_lags if i < len(lags)] for i in range(int(seconds))]
    third = max(1, len(thirds) // 3)
    early = statistics.median([lag for row in thirds[:third] for lag in row] or [0.0])
    late = statistics.median([lag for row in thirds[-third:] for lag in row] or [0.0])
    trend = "grows" if late > 2 * early + 0.05 else "flat"
    missed = run.missed / run.slots if run.slots else 0.0
    print(
        f"{label}: {len(rounds)} rounds of {run.slots} slots, {run.missed} missed ({missed:.1%}); "
        f"lag median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms; "
        f"first third median {early * 1000:.1f} ms, last third {late * 1000:.1f} ms ({trend})"
    )
    per_round = run.controller_cpu_s / max(1, run.node_rounds) * 1000
    line = (
        f"  CPU per node-round: controller {per_round:.1f} ms "
        f"({run.controller_cpu_s:.1f} s over {run.wall_s:.1f} s wall, "
        f"{run.controller_cpu_s / run.wall_s:.0%} of one core)"
    )
    if run.nodes_measured:
        nodes = run.node_cpu_s / max(1, run.node_rounds) * 1000 * len(run.lags) / run.nodes_measured
        demand = (per_round + nodes) * len(run.lags) / 1000  # CPU seconds per second: cores
        cores = os.cpu_count() or 1
        line += (
            f", nodes {nodes:.1f} ms (sshd sessions, shells, tools); {len(run.lags)} nodes at 1 round/s "
            f"need {demand:.2f} of this machine's {cores} cores ({demand / cores:.0%})"
        )
    print(line)
    if run.errors:
        print("  errors:", *run.errors[:5], sep="\n    ")
    return median


def replay_tools(inventory: Inventory, names: list[str], node_dirs: dict[str, Path]) -> dict[Path, str]:
    """Replace each node's vendor tools by a ``cat`` of what they print now; returns the originals."""
    originals: dict[Path, str] = {}
    for name in names:
        node = inventory.node(name)
        transport = SSHTransport(node, resolve=inventory.node)
        try:
            capturing = RecordingTransport(transport)
            cards = node_cards(node, inventory.catalog)
            read_cards({card.model.key: adapter_for(card.model, capturing) for card in cards}, cards)
        finally:
            transport.close()
        replay = node_dirs[name] / "replay"
        replay.mkdir(exist_ok=True)
        by_tool: dict[str, list[str]] = {}
        for number, (command, stdout) in enumerate(capturing.outputs.items()):
            saved = replay / f"output-{number}"
            saved.write_text(stdout, encoding="utf-8")
            pattern = shlex.quote(" ".join(command[1:]))
            by_tool.setdefault(command[0], []).append(f"{pattern}) exec cat {shlex.quote(str(saved))} ;;")
        for tool, cases in by_tool.items():
            wrapper = node_dirs[name] / "bin" / tool
            originals[wrapper] = wrapper.read_text(encoding="utf-8")
            script = ["#!/bin/sh", 'case "$*" in', *cases, "esac", 'echo "replay: no output for $*" >&2']
            script.append("exit 2")
            wrapper.write_text("\n".join(script) + "\n", encoding="utf-8")
    return originals


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
    load = os.getloadavg()
    print(f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    with soak_testbed("bench-stability", "soak", count, time_scale=60) as (directory, testbed):
        inventory = load_inventory(testbed.resolved_inventory)
        names = [node.name for node in inventory.nodes]
        many_names = names[: options.nodes]
        base = lag_report(
            "1 node, 1 s interval (baseline)",
            soak_nodes(inventory, names[:1], options.seconds / 2, directory / "run1", workload=False),
            options.seconds / 2,
        )
        many = lag_report(
            f"{options.nodes} nodes, 1 s interval",
            soak_nodes(inventory, many_names, options.seconds, directory / "run32", workload=False),
            options.seconds,
        )
        ratio = many / base if base else float("nan")
        print(f"  median lag ratio {options.nodes} nodes / 1 node: {ratio:.1f}x")
        node_dirs = {node.name: Path(node.node_dir) for node in testbed.manifest.nodes}
        originals = replay_tools(inventory, many_names, node_dirs)
        try:
            lag_report(
                f"{options.nodes} nodes, 1 s interval, tools replayed (cat of a captured output)",
                soak_nodes(inventory, many_names, options.seconds, directory / "replay", workload=False),
                options.seconds,
            )
        finally:
            for wrapper, text in originals.items():
                wrapper.write_text(text, encoding="utf-8")
        memory(inventory, names[: options.memory_nodes], options.memory_seconds, directory / "runmem")
    load = os.getloadavg()
    print(f"load average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (this benchmark included)")
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
    run = soak_nodes(inventory, names, seconds, run_dir, workload=True)
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
    if seconds < ISSUE_SOAK_SECONDS:
        length = f"SHORTER than the issue's {ISSUE_SOAK_SECONDS / 60:g} min"
    else:
        length = f"at least the issue's {ISSUE_SOAK_SECONDS / 60:g} min"
    print(
        f"controller memory, soak of {len(names)} nodes × 2 cards with workloads for {seconds:g} s "
        f"({length}): RSS {samples[0][1]:.1f} MiB at start, "
        f"{steady[0][1]:.1f} MiB after warm-up, {samples[-1][1]:.1f} MiB at end; "
        f"slope after warm-up {slope:+.3f} MiB/min; {files} series files written"
    )
    if run.errors:
        print("  errors:", *run.errors[:5], sep="\n    ")


if __name__ == "__main__":
    sys.exit(main())

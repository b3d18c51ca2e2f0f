"""Benchmark of the soak's workload runner: its per-window overhead, and the soak's sampling
lag at 32 nodes while every card runs a soak workload.

    .venv/bin/python benchmarks/bench_soak_workload.py [--nodes 32] [--seconds 20]

Prints:
* **per-window overhead** of the node's workload runner: the same 10 s (wall) workload on one
  emulated card (time scale 1) run twice, once reporting one window and once 50 windows;
  the CPU the runner used (this process's children, ``RUSAGE_CHILDREN``) divided by its wall
  seconds, and the extra CPU per extra window. Baseline: the one-window run, in the same run.
* **sampling lag** of N soaks in parallel (every card with its soak workload, telemetry every
  1 s): lag median / p95 / max, missed slots (``bench_stability.lag_report``), compared with the
  same for 1 node in the same run.

The runner is the node agent (a ``Windows`` request, emulated backend) where
``lab.stability.workloads`` exists; on code before it, the emulator's ``npu-workload``, which
is how the "before" figures in docs/stability.md were taken.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_stability import lag_report, soak_nodes, soak_testbed  # noqa: E402

from lab.inventory import load_inventory  # noqa: E402

OVERHEAD_SECONDS = 10.0


def runner_argv(node_dir: Path, seconds: float, window: float, work: Path) -> list[str]:
    """The command that runs a windowed soak workload on card 0 of the node in ``node_dir``:
    the node agent's ``Windows`` request where it exists, else the emulator's ``npu-workload``."""
    try:
        from lab.performance.reference_model import write_reference_model
        from lab.performance.zipapp import build_agent
        from lab.stability import workloads  # noqa: F401  (present since the agent runs soaks)
    except ImportError:
        program = str(node_dir / "bin" / "npu-workload")
        return [program, "run", "--device", "0", "--model", "resnet50", "--batch", "1",
                "--seconds", f"{seconds:g}", "--report-every", f"{window:g}"]  # fmt: skip
    work.mkdir(parents=True, exist_ok=True)
    model = write_reference_model(work / "reference-mlp.onnx")
    request = {
        "scenario": "Windows",
        "backend": {
            "name": "emulated",
            "options": {"model": "resnet50", "batch": 1, "model_path": str(model)},
        },
        "devices": [0],
        "seconds": seconds,
        "window_s": window,
        "deadline_s": seconds + 60,
        "output_dir": str(work / f"windows-{window:g}"),
    }
    path = work / f"windows-{window:g}.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    return [sys.executable, str(build_agent(work)), str(path)]


def run_windows(node_dir: Path, window: float, work: Path) -> tuple[float, int, float]:
    """CPU seconds, windows reported and wall seconds of one runner process."""
    argv = runner_argv(node_dir, OVERHEAD_SECONDS, window, work)
    env = {**os.environ, "KCLOUD_EMU_NODE_DIR": str(node_dir), "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    windows = 0
    for line in done.stdout.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "window" in data:
            windows += 1
    if windows == 0:
        print("  runner reported no window:", done.stdout[-500:], done.stderr[-500:])
    return cpu, windows, wall


def overhead(node_dir: Path, work: Path) -> None:
    one_cpu, one_windows, one_wall = run_windows(node_dir, OVERHEAD_SECONDS, work)
    many_cpu, many_windows, many_wall = run_windows(node_dir, OVERHEAD_SECONDS / 50, work)
    print(
        f"runner, 1 window (baseline): {one_windows} window(s), CPU {one_cpu:.2f} s over {one_wall:.1f} s "
        f"wall ({one_cpu / one_wall:.1%} of one core)"
    )
    print(
        f"runner, 50 windows: {many_windows} windows, CPU {many_cpu:.2f} s over {many_wall:.1f} s "
        f"wall ({many_cpu / many_wall:.1%} of one core)"
    )
    extra = max(1, many_windows - one_windows)
    print(
        f"  per-window overhead {(many_cpu - one_cpu) / extra * 1000:.2f} ms CPU; "
        f"ratio of CPU 50 windows / 1 window {many_cpu / one_cpu if one_cpu else float('nan'):.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    load = os.getloadavg()
    print(f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    with soak_testbed("bench-soak-workload", "wl", options.nodes, time_scale=1) as (directory, testbed):
        inventory = load_inventory(testbed.resolved_inventory)
        names = [node.name for node in inventory.nodes]
        node_dirs = {node.name: Path(node.node_dir) for node in testbed.manifest.nodes}
        overhead(node_dirs[names[-1]], directory / "work")
        base = lag_report(
            "1 node with soak workloads (baseline)",
            soak_nodes(inventory, names[:1], options.seconds, directory / "run1", workload=True),
            options.seconds,
        )
        many = lag_report(
            f"{options.nodes} nodes with soak workloads",
            soak_nodes(inventory, names[: options.nodes], options.seconds, directory / "runN", workload=True),
            options.seconds,
        )
        ratio = many / base if base else float("nan")
        print(f"  median lag ratio {options.nodes} nodes / 1 node: {ratio:.1f}x")
    load = os.getloadavg()
    print(f"load average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (this benchmark included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

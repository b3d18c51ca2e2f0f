"""Plugin speed: collection of a 500-node inventory, and the functional suite on 32 emulated
nodes with ``-n 4`` against the same suite on one node.

    .venv/bin/python benchmarks/bench_plugin.py [--repeat 3] [--nodes 32]

Targets (issue 5): collection < 3 s for 500 nodes; 32 nodes with -n 4 ≤ 3 × one node.
Printed figures are medians of wall-clock time of whole ``pytest`` processes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SUITE = REPOSITORY / "testsuites" / "functional"
MODELS = [("rngd", 2), ("atom-plus", 2), ("warboy", 2), ("h100-pcie", 1), ("atom-max", 1), ("sapeon-x220", 2)]
OPERATORS = ["kt-cloud", "nhn-cloud", "naver-cloud"]


def inventory_text(nodes: int) -> str:
    lines = [
        "version: 1",
        f"name: bench-{nodes}",
        f"catalog: {REPOSITORY}/inventory/devices.yaml",
        f"profiles: {REPOSITORY}/inventory/profiles",
        "defaults: {emulated: true, user: lab, profile: kcloud-npu-v1}",
        "nodes:",
    ]
    for index in range(nodes):
        model, count = MODELS[index % len(MODELS)]
        operator = OPERATORS[index % len(OPERATORS)]
        lines.append(
            f"  - {{name: bench-{index:03d}, operator: {operator}, "
            f"accelerators: [{{model: {model}, count: {count}}}], emulation: {{seed: {index}}}}}"
        )
    return "\n".join(lines) + "\n"


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1):  # 1: the suite found failures, which is fine here
        sys.exit(f"failed ({completed.returncode}): {' '.join(command)}\n{completed.stdout[-3000:]}")
    return elapsed


def pytest_command(*arguments: str) -> list[str]:
    # as `lab campaign` runs the suites: without the dev extra's hypothesis plugin (~1 s per process)
    plugins_off = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
    return [sys.executable, "-m", "pytest", *plugins_off, "-q", *arguments]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=32)
    options = parser.parse_args()
    from lab.emulator.testbed.launcher import down, up

    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for size in (1, 500):
            (directory / f"inventory-{size}.yaml").write_text(inventory_text(size), encoding="utf-8")
        collect = {
            size: statistics.median(
                timed(
                    pytest_command("--collect-only", str(SUITE), "--lab-inventory", f"inventory-{size}.yaml"),
                    directory,
                )
                for _ in range(options.repeat)
            )
            for size in (1, 500)
        }
        (directory / "bed.yaml").write_text(inventory_text(options.nodes), encoding="utf-8")
        testbed = up(directory / "bed.yaml", directory / "testbed")
        try:
            resolved = str(testbed.resolved_inventory)
            one = statistics.median(
                timed(
                    pytest_command(
                        str(SUITE),
                        "-n",
                        "4",
                        "--lab-inventory",
                        resolved,
                        "--lab-select",
                        "name=bench-000",
                        "--lab-run-dir",
                        f"one-{attempt}",
                    ),
                    directory,
                )
                for attempt in range(options.repeat)
            )
            many = statistics.median(
                timed(
                    pytest_command(
                        str(SUITE), "-n", "4", "--lab-inventory", resolved, "--lab-run-dir", f"many-{attempt}"
                    ),
                    directory,
                )
                for attempt in range(options.repeat)
            )
        finally:
            down(directory / "testbed")

    print(f"{'measurement':<52} {'median':>9} {'ratio':>8}")
    print(f"{'collect functional suite, 1-node inventory':<52} {collect[1]:>8.2f}s {'1.00':>8}")
    print(
        f"{'collect functional suite, 500-node inventory':<52} {collect[500]:>8.2f}s "
        f"{collect[500] / collect[1]:>7.2f}x   (target < 3 s)"
    )
    print(f"{'functional suite, 1 emulated node, -n 4':<52} {one:>8.2f}s {'1.00':>8}")
    print(
        f"{f'functional suite, {options.nodes} emulated nodes, -n 4':<52} {many:>8.2f}s "
        f"{many / one:>7.2f}x   (target <= 3x one node)"
    )


if __name__ == "__main__":
    main()

"""Benchmark of the node health gate: its time per node on the emulated test-bed.

    .venv/bin/python benchmarks/bench_gate.py [--repeat 15]

Starts a three-node test-bed (RNGD, ATOM+, H100), keeps one SSH transport per node open (as
a pytest worker does) and prints, per node, the median wall time of:
* the baseline: ``true`` over the same transport, measured in the same run;
* the gate: the kernel probe (``dmesg`` + sysfs AER counters) and its judgement;
* the node's vendor diagnostic at level 1 and one exporter scrape + parse,
with each one's ratio to the baseline. The gate runs once per suite per node, so its cost
is this median times the number of suites.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.devices.diagnostics import diagnostic_for  # noqa: E402
from lab.devices.exporters import exporter_for, scrape  # noqa: E402
from lab.emulator.testbed.launcher import down, up  # noqa: E402
from lab.health import judge_gate, read_kernel_health  # noqa: E402
from lab.inventory import Profile, load_inventory  # noqa: E402
from lab.transport.base import Transport  # noqa: E402
from lab.transport.ssh import SSHTransport  # noqa: E402

INVENTORY = f"""\
version: 1
name: bench-gate
catalog: {REPO}/inventory/devices.yaml
profiles: {REPO}/inventory/profiles
defaults: {{emulated: true, user: lab, profile: kcloud-npu-v1}}
nodes:
  - {{name: gate-rngd, operator: naver-cloud, accelerators: [{{model: rngd, count: 8}}]}}
  - {{name: gate-rbln, operator: kt-cloud, accelerators: [{{model: atom-plus, count: 8}}]}}
  - {{name: gate-h100, operator: nhn-cloud, accelerators: [{{model: h100-pcie, count: 8}}]}}
"""


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def measure(
    transport: Transport, profile: Profile, tool: str, repeat: int
) -> tuple[float, float, float | None, float | None]:
    """Medians of: ``true``, the gate, the level-1 diagnostic and one scrape (None: the vendor has none)."""
    diagnostic, exporter = diagnostic_for(tool), exporter_for(tool)
    base = median_seconds(lambda: transport.run(["true"]), repeat)
    gate = median_seconds(lambda: judge_gate(read_kernel_health(transport), profile), repeat)
    diag = median_seconds(lambda: diagnostic.run(transport, 1), repeat) if diagnostic else None
    metrics = median_seconds(lambda: scrape(transport, exporter), repeat) if exporter else None
    return base, gate, diag, metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as folder:
        directory = Path(folder)
        (directory / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
        testbed = up(directory / "inventory.yaml", directory / "testbed")
        try:
            inventory = load_inventory(testbed.resolved_inventory)
            header = ("node", "true (baseline)", "gate", "diagnostic -r 1", "exporter scrape")
            print(f"{header[0]:<10} {header[1]:>16} {header[2]:>16} {header[3]:>20} {header[4]:>20}")
            for node in inventory.nodes:
                profile = inventory.profiles[node.profile or "kcloud-npu-v1"]
                tool = inventory.catalog[node.accelerators[0].model].tool
                with SSHTransport(node, resolve=inventory.node) as transport:
                    transport.run(["true"])  # connect once, as a worker's kept transport
                    base, gate, diag, metrics = measure(transport, profile, tool, options.repeat)

                def cell(value: float | None, base: float = base) -> str:
                    return "—" if value is None else f"{value * 1000:.1f} ms ({value / base:.1f}×)"

                row = f"{node.name:<10} {base * 1000:>13.1f} ms {cell(gate):>16}"
                print(f"{row} {cell(diag):>20} {cell(metrics):>20}")
        finally:
            down(directory / "testbed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

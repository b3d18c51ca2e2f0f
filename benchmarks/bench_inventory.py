"""Benchmark: load + validate a generated 2,000-node inventory.

    .venv/bin/python benchmarks/bench_inventory.py [--nodes 2000] [--runs 7]

Prints the median of several runs of ``load_inventory`` beside two baselines measured in the
same run on the same file — ``yaml.safe_load`` (PyYAML's default, pure Python) and
``yaml.load(..., Loader=CSafeLoader)`` (libyaml, positions and checks dropped) — and the
peak Python memory of one load (tracemalloc). Target: load + validate under 1.0 s.
Each node is written out in full (no ranges), the worst case for the loader.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab.inventory import load_inventory  # noqa: E402

MODELS = ("rngd", "warboy", "atom-plus", "atom-max", "sapeon-x220", "h100-pcie")
OPERATORS = ("kt-cloud", "nhn-cloud", "naver-cloud")


def host_key() -> str:
    """One real ed25519 public key line (every node pins the same one; parsing is cached per line)."""
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def generate(folder: Path, count: int) -> Path:
    key = host_key()
    lines = [
        "version: 1",
        "name: bench",
        f"catalog: {ROOT / 'inventory' / 'devices.yaml'}",
        f"profiles: {ROOT / 'inventory' / 'profiles'}",
        "defaults:",
        "  user: lab",
        "  auth: {key_file: ~/.ssh/id_ed25519}",
        "  timeouts: {connect: 10, command: 600}",
        "groups:",
        "  npu: {vars: {tags: [npu], profile: kcloud-npu-v1}}",
        "  rack-a: {vars: {labels: {row: a}}}",
        "sites:",
    ]
    per_site = -(-count // len(OPERATORS))  # ceiling division
    for index in range(count):
        if index % per_site == 0:
            site_number = index // per_site
            lines += [f"  site-{site_number}:", f"    operator: {OPERATORS[site_number]}", "    racks:"]
        if index % per_site % 40 == 0:
            lines += [f"      r{index // 40:03d}:", "        nodes:"]
        model = MODELS[index % len(MODELS)]
        lines += [
            f"          - name: node-{index:05d}",
            f"            address: 10.{index // 65536}.{index // 256 % 256}.{index % 256}",
            "            groups: [npu, rack-a]",
            f"            accelerators: [{{model: {model}, count: 8}}]",
            "            expected: {driver: 3.0.0, firmware: 3.0.0, pcie: Gen5 x16}",
            f"            host_key: {key}",
            f"            labels: {{serial: SN{index:06d}}}",
            "            tags: [bench]",
        ]
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def median_seconds(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = generate(Path(folder), arguments.nodes)
        text = path.read_text(encoding="utf-8")
        inventory = load_inventory(path)
        assert len(inventory.nodes) == arguments.nodes, len(inventory.nodes)
        load = median_seconds(lambda: load_inventory(path), arguments.runs)
        pure = median_seconds(lambda: yaml.safe_load(text), max(3, arguments.runs // 2))
        c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        fast = median_seconds(lambda: yaml.load(text, Loader=c_loader), arguments.runs)
        tracemalloc.start()
        load_inventory(path)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(
        f"inventory: {arguments.nodes} nodes, {len(text) / 1024:.0f} KiB of YAML,"
        f" libyaml={yaml.__with_libyaml__}"
    )
    print(
        f"load_inventory (parse + validate + build), median of {arguments.runs}: {load:.3f} s"
        "  (target < 1.0 s)"
    )
    print(f"baseline yaml.safe_load (pure Python):              {pure:.3f} s  ratio {load / pure:.2f}")
    print(f"baseline yaml.load(CSafeLoader), no positions:     {fast:.3f} s  ratio {load / fast:.2f}")
    print(f"peak Python memory of one load (tracemalloc):       {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()

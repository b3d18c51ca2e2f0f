"""Benchmark: strict device-output parsing vs. a naive baseline, per 8-device node output.

    .venv/bin/python benchmarks/bench_device_parsers.py [--runs 7] [--loops 200]

For each vendor format, an 8-device output is built from the real captures in
tests/devices/captures/. The adapter's parser (units, shape checks, model objects) is timed
against a baseline measured in the same run on the same text: ``json.loads`` for JSON, and
splitting lines/cells for tables and CSV (no validation, no conversion). The stability suite
polls every node's tool about once per second, so the figure that matters is the parse cost
per poll next to the tool's own run time (tens of milliseconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab.devices.furiosa import parse_furiosa_smi_json, parse_furiosa_smi_table  # noqa: E402
from lab.devices.nvidia import QUERY_FIELDS, parse_query_gpu  # noqa: E402
from lab.devices.rebellions import parse_rbln_smi_json  # noqa: E402

CAPTURES = ROOT / "tests" / "devices" / "captures"
DEVICES = 8


def rbln_json() -> str:
    document = json.loads((CAPTURES / "rbln_smi_ca22.json").read_text(encoding="utf-8"))
    template = document["devices"][0]
    document["devices"] = [dict(template, npu=i, device=f"rbln{i}") for i in range(DEVICES)]
    return json.dumps(document, indent=2)


def furiosa_table() -> str:
    lines = (CAPTURES / "furiosa_smi_info_rngd.txt").read_text(encoding="utf-8").splitlines()
    rule, row = lines[0], lines[3]
    body = []
    for i in range(DEVICES):
        body += [row.replace("npu0", f"npu{i}"), rule]
    return "\n".join(lines[:3] + body) + "\n"


def furiosa_json() -> str:
    item = {
        "arch": "rngd",
        "dev_name": "npu0",
        "device_uuid": "A4C0E1D2-0000-4000-8000-000000000000",
        "device_sn": "RNGDS0001",
        "firmware": "0.0.15+af1daaa",
        "pert": "0.0.15",
        "temperature": "30.18°C",
        "power": "53.00 W",
        "pci_bdf": "0000:17:00.0",
        "pci_dev": "511:0",
        "liveness": "alive",
        "throttled": False,
        "pcie_link": "Gen5 x16",
        "error_info": {"pcie_post_error": 0, "ecc_correctable_error": 0, "device_error": 0},
    }
    return json.dumps([dict(item, dev_name=f"npu{i}") for i in range(DEVICES)], indent=2)


def nvidia_csv() -> str:
    row = (
        "{i}, NVIDIA H100 PCIe, GPU-5a1e0000-1111-2222-3333-44445555666{i}, 1650923012345, 00000000:17:00.0, "
        "550.90.07, 96.00.74.00.01, 34, 48.27, 350.00, 1, 81559, 0, 1755, P0, 5, 16, 0, 0, 0, "
        "0x0000000000000000, No"
    )
    text = "\n".join(row.format(i=i) for i in range(DEVICES)) + "\n"
    assert len(text.splitlines()[0].split(",")) == len(QUERY_FIELDS)
    return text


def split_table(text: str) -> object:
    return [line.strip("|").split("|") for line in text.splitlines() if line.startswith("|")]


def split_csv(text: str) -> object:
    return [line.split(",") for line in text.splitlines()]


def median_seconds(function: Callable[[str], object], text: str, runs: int, loops: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(loops):
            function(text)
        samples.append((time.perf_counter() - start) / loops)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--loops", type=int, default=200)
    options = parser.parse_args()
    cases: list[tuple[str, str, Callable[[str], object], Callable[[str], object]]] = [
        ("rbln-smi --json", rbln_json(), parse_rbln_smi_json, json.loads),
        ("furiosa-smi info --format json", furiosa_json(), parse_furiosa_smi_json, json.loads),
        ("furiosa-smi info (table)", furiosa_table(), parse_furiosa_smi_table, split_table),
        ("nvidia-smi --query-gpu csv", nvidia_csv(), parse_query_gpu, split_csv),
    ]
    print(f"{DEVICES}-device outputs, median of {options.runs} runs × {options.loops} parses")
    print(f"{'format':34} {'adapter µs':>11} {'baseline µs':>12} {'ratio':>7}")
    for name, text, adapter, baseline in cases:
        assert len(adapter(text)) == DEVICES  # type: ignore[arg-type]
        ours = median_seconds(adapter, text, options.runs, options.loops)
        base = median_seconds(baseline, text, options.runs, options.loops)
        print(f"{name:34} {ours * 1e6:11.1f} {base * 1e6:12.1f} {ours / base:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

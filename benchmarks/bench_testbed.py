"""Benchmark of the emulated test-bed: 64 nodes up, memory, and the cost of one tool call.

    .venv/bin/python benchmarks/bench_testbed.py [--nodes 64] [--repeat 15]

Prints:
* wall time of `lab testbed up` for N nodes (target < 20 s) and of `down`;
* total RSS of the N sshd listeners + the peak RSS of the `up` process (target < 1.5 GiB);
* median time of one emulated tool call over SSH vs `true` over SSH, on a fresh connection
  each time and over one multiplexed connection (ControlMaster: what a kept-open transport
  pays), and locally vs a bare `python -S -c pass`;
* the default campaign's test-bed (inventory/emulated.yaml: 9 nodes, each with its emulated
  Redfish BMC) up, median of ``--campaign-repeat`` runs, against the same inventory without
  ``bmc:`` (baseline, same run), and the BMCs' RSS. ``--only-campaign`` skips the 64 nodes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from lab.emulator.testbed.manifest import Manifest  # noqa: E402

INVENTORY = """\
version: 1
name: bench-emulated
catalog: {catalog}
profiles: {profiles}
defaults:
  emulated: true
  operator: kt-cloud
  user: lab
nodes:
  - name: bench-rngd-[1:{half}]
    accelerators: [{{model: rngd, count: 8}}]
    emulation: {{seed: 1}}
  - name: bench-rbln-[1:{rest}]
    accelerators: [{{model: atom-plus, count: 8}}]
    emulation: {{seed: 2}}
"""


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(command: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def cpu_per_call(command: list[str], repeat: int) -> float:
    """Mean user+system CPU seconds of one call: robust to a busy machine, unlike wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(repeat):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / repeat


def campaign_testbed(root: Path, repeat: int) -> None:
    """Up time of inventory/emulated.yaml with its BMCs vs without (baseline), and BMC RSS."""
    document = yaml.safe_load((REPO / "inventory" / "emulated.yaml").read_text(encoding="utf-8"))
    document["catalog"] = str(REPO / "inventory" / "devices.yaml")
    document["profiles"] = str(REPO / "inventory" / "profiles")
    with_bmc = root / "campaign-bmc.yaml"
    with_bmc.write_text(yaml.safe_dump(document), encoding="utf-8")
    document["defaults"].pop("bmc", None)
    without = root / "campaign-no-bmc.yaml"
    without.write_text(yaml.safe_dump(document), encoding="utf-8")
    lab = [sys.executable, "-m", "lab", "testbed"]
    times: dict[str, list[float]] = {"with BMCs": [], "without": []}
    bmc_kib: list[int] = []
    for number in range(repeat):
        for label, inventory in (("without", without), ("with BMCs", with_bmc)):  # interleaved: same load
            directory = root / f"campaign-{number}-{label.replace(' ', '-')}"
            began = time.perf_counter()
            up = subprocess.run(
                [*lab, "up", "--inventory", str(inventory), "--dir", str(directory)],
                capture_output=True, text=True, cwd=REPO, timeout=300,
                env={**os.environ, "LAB_TESTBED_BMC_PASSWORD": "bench-only-password"},
            )  # fmt: skip
            times[label].append(time.perf_counter() - began)
            try:
                if up.returncode != 0:
                    raise RuntimeError(up.stderr)
                manifest = Manifest.read(directory)
                assert manifest is not None
                if label == "with BMCs":
                    bmc_kib.append(sum(rss_kib(node.bmc_pid) for node in manifest.nodes if node.bmc_pid))
            finally:
                subprocess.run(
                    [*lab, "down", "--dir", str(directory)], capture_output=True, cwd=REPO, timeout=300
                )
    bmc, plain = statistics.median(times["with BMCs"]), statistics.median(times["without"])
    print(
        f"campaign test-bed (inventory/emulated.yaml, 9 nodes) up: {bmc:.2f} s with BMCs vs "
        f"{plain:.2f} s without (ratio {bmc / plain:.2f}, median of {repeat})"
    )
    if bmc_kib:
        print(f"  BMCs' RSS: {statistics.median(bmc_kib) / 1024:.0f} MiB in all (9 sushy-tools processes)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--campaign-repeat", type=int, default=3)
    parser.add_argument("--only-campaign", action="store_true", help="only the campaign test-bed figures")
    options = parser.parse_args()
    if options.only_campaign:
        with tempfile.TemporaryDirectory(prefix="bench-testbed-") as scratch:
            campaign_testbed(Path(scratch), options.campaign_repeat)
        return 0
    half = options.nodes // 2
    with tempfile.TemporaryDirectory(prefix="bench-testbed-") as scratch:
        root = Path(scratch)
        inventory = root / "bench.yaml"
        inventory.write_text(
            INVENTORY.format(
                catalog=REPO / "inventory" / "devices.yaml",
                profiles=REPO / "inventory" / "profiles",
                half=half,
                rest=options.nodes - half,
            )
        )
        directory = root / "testbed"
        lab = [sys.executable, "-m", "lab", "testbed"]
        began = time.perf_counter()
        up = subprocess.run(
            [*lab, "up", "--inventory", str(inventory), "--dir", str(directory)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
        )
        up_seconds = time.perf_counter() - began
        if up.returncode != 0:
            print(up.stderr)
            return 1
        controller_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        manifest = Manifest.read(directory)
        assert manifest is not None
        try:
            sshd_kib = sum(rss_kib(node.pid) for node in manifest.nodes)
            total_mib = (sshd_kib + controller_kib) / 1024
            print(f"nodes: {len(manifest.nodes)}")
            print(f"testbed up: {up_seconds:.2f} s  (target < 20 s)")
            each = sshd_kib / len(manifest.nodes) / 1024
            print(f"RSS: sshd total {sshd_kib / 1024:.0f} MiB ({each:.1f} MiB each)")
            print(f"  + up peak {controller_kib / 1024:.0f} MiB = {total_mib:.0f} MiB (target < 1536 MiB)")
            node = manifest.nodes[0]
            base = [
                "ssh",
                "-F",
                "/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={manifest.known_hosts}",
                "-o",
                "BatchMode=yes",
                "-i",
                manifest.client_key,
                "-p",
                str(node.port),
            ]
            mux = [
                *base,
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={root}/mux-%p",
                "-o",
                "ControlPersist=120",
            ]
            subprocess.run([*mux, "127.0.0.1", "true"], check=True, timeout=60)  # open the master
            fresh_true = timed([*base, "127.0.0.1", "true"], options.repeat)
            fresh_tool = timed([*base, "127.0.0.1", "furiosa-smi info"], options.repeat)
            mux_true = timed([*mux, "127.0.0.1", "true"], options.repeat)
            mux_tool = timed([*mux, "127.0.0.1", "furiosa-smi info"], options.repeat)
            local_python = timed([sys.executable, "-S", "-c", "pass"], options.repeat)
            local_tool = timed([node.node_dir + "/bin/furiosa-smi", "info"], options.repeat)
            print(
                f"over SSH, fresh connection: furiosa-smi info {fresh_tool * 1000:.0f} ms vs true "
                f"{fresh_true * 1000:.0f} ms (ratio {fresh_tool / fresh_true:.2f}, tool adds "
                f"{(fresh_tool - fresh_true) * 1000:.0f} ms)"
            )
            print(
                f"over SSH, multiplexed: furiosa-smi info {mux_tool * 1000:.0f} ms vs true "
                f"{mux_true * 1000:.0f} ms (ratio {mux_tool / mux_true:.2f}, tool adds "
                f"{(mux_tool - mux_true) * 1000:.0f} ms)"
            )
            print(
                f"locally: furiosa-smi info {local_tool * 1000:.0f} ms vs python -S -c pass "
                f"{local_python * 1000:.0f} ms (ratio {local_tool / local_python:.2f})"
            )
            tool_cpu = cpu_per_call([node.node_dir + "/bin/furiosa-smi", "info"], options.repeat)
            python_cpu = cpu_per_call([sys.executable, "-S", "-c", "pass"], options.repeat)
            print(
                f"CPU per call: furiosa-smi info {tool_cpu * 1000:.0f} ms vs python -S -c pass "
                f"{python_cpu * 1000:.0f} ms (8 cards per node)"
            )
            subprocess.run([*mux, "-O", "exit", "127.0.0.1"], capture_output=True, timeout=30)
        finally:
            began = time.perf_counter()
            down = subprocess.run(
                [*lab, "down", "--dir", str(directory)], capture_output=True, text=True, cwd=REPO, timeout=300
            )
            print(f"testbed down: {time.perf_counter() - began:.2f} s ({down.stdout.strip().split(':')[0]})")
        campaign_testbed(root, options.campaign_repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())

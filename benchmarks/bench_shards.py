"""Benchmark of sharded campaigns: 1, 2 and 4 local shards over the same emulated nodes.

    .venv/bin/python benchmarks/bench_shards.py [--nodes 8] [--repeat 3]
    .venv/bin/python benchmarks/bench_shards.py --campaign      # the full 3-shard comparison

Default mode: one emulated test-bed of N nodes (real sshd each); the functional suite runs as
K concurrent shards (K = 1, 2, 4; each its own pytest controller with one xdist worker), merged
afterwards. Prints, per K, the median wall time, the controllers' CPU per node (user+sys of the
pytest processes and their workers, from RUSAGE_CHILDREN: the emulated tools run under sshd and
are not counted) and the merge time, with ratios against K = 1 measured in the same run. On a
2-core machine the emulated cards compute on the same cores as the controllers, so wall time
cannot fall by K here: the figure to carry to a real lab is the controller CPU per node, which
must stay flat as K grows (sharding adds no per-node cost).

``--campaign``: the default campaign (``lab campaign``, inventory/emulated.yaml, every suite,
short runs) unsplit and as 3 shards run one after another, merged; prints both wall times and
whether every test's verdict agrees (about 20 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab.emulator.testbed.launcher import down, up  # noqa: E402
from lab.results import load_run  # noqa: E402
from lab.results.shards import merge_shards  # noqa: E402

INVENTORY = """\
version: 1
name: bench-shards
catalog: {catalog}
profiles: {profiles}
defaults:
  emulated: true
  user: lab
  profile: kcloud-npu-v1
  timeouts: {{connect: 5, command: 60}}
sites:
  site-a:
    operator: kt-cloud
    nodes:
      - name: a-rbln-[1:{half}]
        accelerators: [{{model: atom-plus, count: 2}}]
        emulation: {{seed: 1}}
  site-b:
    operator: nhn-cloud
    nodes:
      - name: b-rngd-[1:{rest}]
        accelerators: [{{model: rngd, count: 2}}]
        emulation: {{seed: 2}}
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_shards(inventory: Path, work: Path, count: int) -> tuple[float, float, float, int]:
    """K concurrent shard controllers, then the merge: (wall s, controller CPU s, merge s, tests)."""
    directories = [work / f"k{count}-shard{number}" for number in range(1, count + 1)]
    cpu_before, began = children_cpu(), time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                str(REPO / "testsuites" / "functional"),
                "--lab-inventory",
                str(inventory),
                "--lab-run-dir",
                str(directory),
                "--lab-shard",
                f"{number}/{count}",
                "-n",
                "1",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:hypothesispytest",
                "-p",
                "no:randomly",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for number, directory in enumerate(directories, start=1)
    ]
    for process in processes:
        process.wait(timeout=1800)
    wall, cpu = time.perf_counter() - began, children_cpu() - cpu_before
    merge_began = time.perf_counter()
    merged = merge_shards(directories, work / f"k{count}-merged")
    merge_seconds = time.perf_counter() - merge_began
    return wall, cpu, merge_seconds, len(load_run(merged).records)


def sharded_mode(nodes: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as folder:
        work = Path(folder)
        source = work / "inventory.yaml"
        source.write_text(
            INVENTORY.format(
                catalog=REPO / "inventory" / "devices.yaml",
                profiles=REPO / "inventory" / "profiles",
                half=nodes // 2,
                rest=nodes - nodes // 2,
            ),
            encoding="utf-8",
        )
        testbed = up(source, work / "testbed")
        try:
            results: dict[int, list[tuple[float, float, float, int]]] = {1: [], 2: [], 4: []}
            for attempt in range(repeat):
                for count in results:  # interleaved, so machine load drifts hit every K alike
                    round_dir = work / f"round{attempt}"
                    round_dir.mkdir(exist_ok=True)
                    results[count].append(run_shards(testbed.resolved_inventory, round_dir, count))
        finally:
            down(work / "testbed")
    base_wall = statistics.median(r[0] for r in results[1])
    base_cpu = statistics.median(r[1] for r in results[1]) / nodes
    print(f"{nodes} emulated nodes x 2 cards, functional suite, median of {repeat}:")
    print(
        f"{'shards':>6} {'wall s':>8} {'x K=1':>6} {'ctl CPU/node s':>15} {'x K=1':>6} {'merge s':>8} tests"
    )
    for count, samples in results.items():
        wall = statistics.median(r[0] for r in samples)
        cpu = statistics.median(r[1] for r in samples) / nodes
        merge = statistics.median(r[2] for r in samples)
        print(
            f"{count:>6} {wall:>8.1f} {wall / base_wall:>6.2f} {cpu:>15.3f} {cpu / base_cpu:>6.2f} "
            f"{merge:>8.3f} {samples[0][3]}"
        )


def campaign_mode() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as folder:
        work = Path(folder)

        def campaign(name: str, *extra: str) -> float:
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "lab", "campaign", "--run-dir", str(work / name),
                 "--testbed-dir", str(work / f"testbed-{name}"), *extra],
                cwd=REPO, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            return time.perf_counter() - began

        unsplit = campaign("unsplit")
        shard_times = [campaign(f"shard-{n}", "--shard", f"{n}/3") for n in (1, 2, 3)]
        merged = merge_shards([work / f"shard-{n}" for n in (1, 2, 3)], work / "merged")
        before = {r.test_id: r.outcome for r in load_run(work / "unsplit").records}
        after = {r.test_id: r.outcome for r in load_run(merged).records}
        differ = sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
        verdict = load_run(work / "unsplit").verdict.value
        print(f"unsplit campaign: {unsplit:.0f} s, {len(before)} tests, verdict {verdict}")
        shards = ", ".join(f"{seconds:.0f} s" for seconds in shard_times)
        print(f"3 shards one after another: {shards} (sum {sum(shard_times):.0f} s)")
        verdict = load_run(merged).verdict.value
        print(f"merged: {len(after)} tests, verdict {verdict}; differing verdicts: {len(differ)}")
        for test_id in differ:
            print(f"  {test_id}: {before.get(test_id)} -> {after.get(test_id)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--campaign", action="store_true", help="the full default campaign, unsplit vs 3 shards"
    )
    arguments = parser.parse_args()
    if arguments.campaign:
        campaign_mode()
    else:
        sharded_mode(arguments.nodes, arguments.repeat)


if __name__ == "__main__":
    main()

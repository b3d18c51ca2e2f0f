"""``lab campaign``: one certification campaign, start to finish.

::

    lab campaign [--inventory inventory/emulated.yaml] [--suite testsuites/functional]...
                 [--workers 2] [--run-dir runs/ID] [--keep-testbed] [--strict]
                 [--gate on|off|auto-lift] [--metrics-port [ADDRESS:]PORT]
                 [--shard K/N [--shard-by site] [--shard-costs RUN_DIR]]
    lab campaign merge SHARD_RUN_DIR... --run-dir runs/ID [--lang en] [--strict]

For an inventory of emulated nodes it brings the emulated test-bed up (fresh, so the
emulated clocks and injected faults start from zero), runs the suites with pytest and
xdist against it (short runs: 2 s LoadGen runs, 20 s soaks, unless --full-length) with the
kernel-health gate on (``--gate``, pytest's ``--lab-gate``; quarantines are in the report), renders
the certification report (signed with $LAB_REPORT_KEY when set, then verified against that
key's public half), brings the test-bed down, and prints the path of the signed report
last. For a real lab it runs the suites against the inventory as given.

Nothing it started on the controller outlives it: at the end, any process the campaign
started (pytest and its workers, the test-bed's sshd unless --keep-testbed, anything they
left in the background, found by ancestry, by a marker in its environment or by the run or
test-bed folder it names) is named on stderr, stopped by pid, and the exit status is 3.

Sharded (``--shard K/N``, or the CI engine's index and count in the environment — see
``lab.inventory.shard``), a campaign runs only its share of the selected nodes, split by node
and balanced by cost; ``lab campaign merge`` then joins the shards' run directories into one
run (refusing a missing or repeated shard and a node in two shards) and renders one signed
report of it.

Exit status: 0 when the campaign ran to the end (whatever the devices' verdicts — the
report says them), 1 with ``--strict`` when the verdict is not PASS/MARGINAL, 2 for bad
input, 3 when the campaign itself could not run, left a process running, or its own signed
report did not verify.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lab.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK
from lab.transport.leftovers import ProcessWatch, stop_processes

DEFAULT_INVENTORY = "inventory/emulated.yaml"
DEFAULT_SUITES = (
    "testsuites/functional",
    "testsuites/performance",
    "testsuites/llm",
    "testsuites/stability",
    "testsuites/health",
)
"""The vendor diagnostics and exporter checks (testsuites/health) run last, on cards the other
suites have worked: a diagnostic then also sees what a night of load did."""
DEFAULT_GATE = "on"
"""A campaign runs the kernel-health gate (docs/health.md): a node whose kernel reports errors
before a suite is quarantined, its remaining tests SKIP "quarantined: <reason>"."""
EMULATED_SHORT_RUNS = ("--lab-perf-duration", "2s", "--lab-soak-duration", "20s")
"""On the emulated test-bed a campaign takes minutes, not the profile's hours: the records say
"short run" (performance) and "short soak" (stability), never silently."""
DEFAULT_TESTBED_DIR = "testbed"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "campaign",
        help="run a certification campaign (emulated test-bed by default) and print the result's path",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--inventory", default=DEFAULT_INVENTORY, help=f"default {DEFAULT_INVENTORY}")
    parser.add_argument(
        "--suite", action="append", dest="suites", metavar="PATH", help="suite folder (repeatable)"
    )
    parser.add_argument("--select", default=None, metavar="EXPR", help="node selection expression")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (default 2)")
    parser.add_argument("--run-dir", default=None, help="results folder (default runs/<run id>)")
    parser.add_argument("--testbed-dir", default=DEFAULT_TESTBED_DIR, help="emulated test-bed folder")
    parser.add_argument("--keep-testbed", action="store_true", help="leave the emulated test-bed running")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless the verdict is PASS or MARGINAL")
    parser.add_argument(
        "--full-length",
        action="store_true",
        help="on the emulated test-bed, run the profile's full durations (default: 2 s runs, 20 s soaks)",
    )
    parser.add_argument(
        "--gate",
        choices=("off", "on", "auto-lift"),
        default=DEFAULT_GATE,
        help=f"kernel-health gate and quarantine before each suite (default {DEFAULT_GATE})",
    )
    parser.add_argument(
        "--metrics-port",
        default=None,
        metavar="[ADDRESS:]PORT",
        help="serve the campaign's own telemetry in Prometheus format while it runs (127.0.0.1 unless given)",
    )
    parser.add_argument("--lang", choices=("ko", "en"), default="ko", help="report language (default ko)")
    parser.add_argument(
        "--tester", default=None, help="who runs it (default $LAB_TESTER, else the CI's user)"
    )
    parser.add_argument(
        "--campaign", default=None, help="campaign name (default $LAB_CAMPAIGN, else the CI's)"
    )
    parser.add_argument(
        "--shard", default=None, metavar="K/N", help="run shard K of N (default: from CI env)"
    )
    parser.add_argument(
        "--shard-by", default=None, metavar="KEYS", help="keep shards within site/operator/rack"
    )
    parser.add_argument(
        "--shard-costs",
        default=None,
        metavar="RUN_DIR",
        help="balance shards by this earlier run's durations",
    )
    parser.add_argument(
        "pytest_args",
        nargs="*",
        metavar="-- PYTEST_ARGS",
        help="passed on to pytest; or `merge SHARD_RUN_DIR...` to merge shards into --run-dir",
    )
    parser.set_defaults(handler=run_campaign)


def run_campaign(arguments: argparse.Namespace) -> int:
    testbed_dir = Path(arguments.testbed_dir).resolve()
    run_dir = Path(arguments.run_dir) if arguments.run_dir else None
    watch = ProcessWatch.begin(folders=[testbed_dir, *([run_dir.resolve()] if run_dir else [])])
    status = _run_campaign(arguments, run_dir)
    spare = _kept_testbed_pids(testbed_dir) if arguments.keep_testbed else []
    if report_leftovers(watch, spare=spare):
        return EXIT_INFRASTRUCTURE
    return status


def report_leftovers(watch: ProcessWatch, spare: list[int] | None = None, grace: float = 3.0) -> bool:
    """Name on stderr and stop (by pid) what the campaign left running; True when there was any."""
    left = watch.left_behind(grace=grace, spare=spare or ())
    if not left:
        return False
    print(f"lab campaign: {len(left)} process(es) it started still run on the controller:", file=sys.stderr)
    for process in left:
        print(f"  {process.describe()}", file=sys.stderr)
    survivors = stop_processes(left)
    print(
        "lab campaign: stopped them by pid"
        if not survivors
        else f"lab campaign: could not stop pids {[process.pid for process in survivors]}",
        file=sys.stderr,
    )
    return True


def _kept_testbed_pids(directory: Path) -> list[int]:
    """The sshd and emulator processes of a test-bed left up on purpose (--keep-testbed)."""
    from lab.emulator.testbed.manifest import Manifest
    from lab.emulator.testbed.processes import emulator_processes

    manifest = Manifest.read(directory)
    if manifest is None:
        return []
    return [node.pid for node in manifest.nodes] + emulator_processes(str(directory / "nodes"))


def _run_campaign(arguments: argparse.Namespace, run_dir: Path | None) -> int:
    from lab.inventory import load_inventory
    from lab.results import new_run_id

    if arguments.pytest_args[:1] == ["merge"]:
        from lab.cli.campaign_merge import merge_campaign

        return merge_campaign(arguments, [Path(p) for p in arguments.pytest_args[1:]])
    suites = arguments.suites or list(DEFAULT_SUITES)
    missing = [suite for suite in suites if not Path(suite).exists()]
    if missing:
        print(
            f"lab campaign: no suite at {', '.join(missing)} (run from the repository root)", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    inventory_path = Path(arguments.inventory)
    inventory = load_inventory(inventory_path)  # InventoryError → exit 2 with every problem
    run_dir = run_dir or Path("runs") / new_run_id()
    testbed_dir = Path(arguments.testbed_dir)
    emulated = any(node.emulated for node in inventory.nodes)

    environment = dict(os.environ)
    if emulated:
        inventory_path = _fresh_testbed(inventory_path, testbed_dir)
        from lab.emulator.testbed.launcher import bmc_environment

        # the BMCs' generated password reaches the suites only through their environment
        environment.update(bmc_environment(testbed_dir, load_inventory(inventory_path)))
    try:
        command = [
            sys.executable, "-m", "pytest", *suites,
            "--lab-inventory", str(inventory_path),
            "--lab-run-dir", str(run_dir),
            "-n", str(arguments.workers),
            "--lab-gate", arguments.gate,
            "--junitxml", str(run_dir / "junit.xml"),
            "--alluredir", str(run_dir / "allure-results"),
            "-p", "no:cacheprovider",
            # hypothesis (installed with the dev extra) costs each pytest process and xdist
            # worker about 1 s of CPU at start; the certification suites do not use it
            "-p", "no:hypothesispytest",
            "-q",
        ]  # fmt: skip
        if arguments.select:
            command += ["--lab-select", arguments.select]
        for option, value in (
            ("--lab-shard", arguments.shard),
            ("--lab-shard-by", arguments.shard_by),
            ("--lab-shard-costs", arguments.shard_costs),
            ("--lab-metrics-port", arguments.metrics_port),
        ):
            if value:
                command += [option, value]
        if arguments.tester:
            command += ["--lab-tester", arguments.tester]
        if arguments.campaign:
            command += ["--lab-campaign", arguments.campaign]
        if emulated and not arguments.full_length:
            command += EMULATED_SHORT_RUNS
        command += arguments.pytest_args
        print(f"lab campaign: {' '.join(command)}", file=sys.stderr)
        pytest_status = subprocess.run(command, check=False, env=environment).returncode
    finally:
        if emulated and not arguments.keep_testbed:
            from lab.emulator.testbed.launcher import down

            down(testbed_dir)

    if not (run_dir / "manifest.json").is_file():
        if pytest_status == 5:  # no tests collected: e.g. an empty shard (more shards than nodes)
            print("lab campaign: no lab test selected (an empty shard?)", file=sys.stderr)
            return EXIT_OK
        print(f"lab campaign: pytest exited {pytest_status} before recording anything", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    return report_and_verdict(run_dir, arguments)


def report_and_verdict(run_dir: Path, arguments: argparse.Namespace) -> int:
    """Print the verdict, render the (signed) report and print its path; the exit status."""
    from lab.criteria import Outcome
    from lab.results import load_run

    run = load_run(run_dir)
    counts = ", ".join(f"{count} {outcome.value}" for outcome, count in run.counts().items() if count)
    print(f"lab campaign: verdict {run.verdict.value} ({counts})", file=sys.stderr)
    from lab.report import render_run

    report = render_run(run_dir, lang=arguments.lang)
    verified = _verify_own_report(report)
    print(report)
    if not verified:
        return EXIT_INFRASTRUCTURE
    if arguments.strict and run.verdict not in (Outcome.PASS, Outcome.MARGINAL):
        return EXIT_FAILED
    return EXIT_OK


def _verify_own_report(report: Path) -> bool:
    """``lab verify`` of the report just written, trusting the public half of the key that
    signed it ($LAB_REPORT_KEY); says so on stderr. False only when that check fails."""
    from lab.report import load_public_key, verify_report

    key_path = os.environ.get("LAB_REPORT_KEY")
    if not key_path:
        print("lab campaign: the report is UNSIGNED (no $LAB_REPORT_KEY)", file=sys.stderr)
        return True
    result = verify_report(report, trusted_keys=[load_public_key(Path(key_path))])
    print(f"lab campaign: lab verify {report}: {result.summary()}", file=sys.stderr)
    return result.valid


def _fresh_testbed(inventory_path: Path, directory: Path) -> Path:
    """Bring the emulated test-bed up from zero; returns the resolved inventory's path."""
    from lab.emulator.testbed.launcher import down, up

    if (directory / "testbed.json").is_file():
        down(directory)  # a leftover test-bed (running or stale) is replaced
    result = up(inventory_path, directory)
    print(f"lab campaign: emulated test-bed up ({len(result.manifest.nodes)} nodes)", file=sys.stderr)
    return result.resolved_inventory

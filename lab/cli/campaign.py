"""``lab campaign``: one certification campaign, start to finish.

::

    lab campaign [--inventory inventory/emulated.yaml] [--suite testsuites/functional]...
                 [--workers 2] [--run-dir runs/ID] [--keep-testbed] [--strict]

For an inventory of emulated nodes it brings the emulated test-bed up (fresh, so the
emulated clocks and injected faults start from zero), runs the suites with pytest and
xdist against it (short runs: 2 s LoadGen runs, 20 s soaks, unless --full-length), renders
the certification report (signed with $LAB_REPORT_KEY when set), brings the
test-bed down, and prints the path of the signed report last. For a real lab it runs the
suites against the inventory as given.

Exit status: 0 when the campaign ran to the end (whatever the devices' verdicts — the
report says them), 1 with ``--strict`` when the verdict is not PASS/MARGINAL, 2 for bad
input, 3 when the campaign itself could not run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from lab.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK

DEFAULT_INVENTORY = "inventory/emulated.yaml"
DEFAULT_SUITES = ("testsuites/functional", "testsuites/performance", "testsuites/stability")
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
    parser.add_argument("--lang", choices=("ko", "en"), default="ko", help="report language (default ko)")
    parser.add_argument(
        "--tester", default=None, help="who runs it (default $LAB_TESTER, else the CI's user)"
    )
    parser.add_argument(
        "--campaign", default=None, help="campaign name (default $LAB_CAMPAIGN, else the CI's)"
    )
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="passed on to pytest")
    parser.set_defaults(handler=run_campaign)


def run_campaign(arguments: argparse.Namespace) -> int:
    from lab.criteria import Outcome
    from lab.inventory import load_inventory
    from lab.results import load_run, new_run_id

    suites = arguments.suites or list(DEFAULT_SUITES)
    missing = [suite for suite in suites if not Path(suite).exists()]
    if missing:
        print(
            f"lab campaign: no suite at {', '.join(missing)} (run from the repository root)", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    inventory_path = Path(arguments.inventory)
    inventory = load_inventory(inventory_path)  # InventoryError → exit 2 with every problem
    run_dir = Path(arguments.run_dir) if arguments.run_dir else Path("runs") / new_run_id()
    testbed_dir = Path(arguments.testbed_dir)
    emulated = any(node.emulated for node in inventory.nodes)

    if emulated:
        inventory_path = _fresh_testbed(inventory_path, testbed_dir)
    try:
        command = [
            sys.executable, "-m", "pytest", *suites,
            "--lab-inventory", str(inventory_path),
            "--lab-run-dir", str(run_dir),
            "-n", str(arguments.workers),
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
        if arguments.tester:
            command += ["--lab-tester", arguments.tester]
        if arguments.campaign:
            command += ["--lab-campaign", arguments.campaign]
        if emulated and not arguments.full_length:
            command += EMULATED_SHORT_RUNS
        command += arguments.pytest_args
        print(f"lab campaign: {' '.join(command)}", file=sys.stderr)
        pytest_status = subprocess.run(command, check=False).returncode
    finally:
        if emulated and not arguments.keep_testbed:
            from lab.emulator.testbed.launcher import down

            down(testbed_dir)

    if not (run_dir / "manifest.json").is_file():
        print(f"lab campaign: pytest exited {pytest_status} before recording anything", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    run = load_run(run_dir)
    counts = ", ".join(f"{count} {outcome.value}" for outcome, count in run.counts().items() if count)
    print(f"lab campaign: verdict {run.verdict.value} ({counts})", file=sys.stderr)
    from lab.report import render_run

    print(render_run(run_dir, lang=arguments.lang))
    if arguments.strict and run.verdict not in (Outcome.PASS, Outcome.MARGINAL):
        return EXIT_FAILED
    return EXIT_OK


def _fresh_testbed(inventory_path: Path, directory: Path) -> Path:
    """Bring the emulated test-bed up from zero; returns the resolved inventory's path."""
    from lab.emulator.testbed.launcher import down, up

    if (directory / "testbed.json").is_file():
        down(directory)  # a leftover test-bed (running or stale) is replaced
    result = up(inventory_path, directory)
    print(f"lab campaign: emulated test-bed up ({len(result.manifest.nodes)} nodes)", file=sys.stderr)
    return result.resolved_inventory

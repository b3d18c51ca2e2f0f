"""``lab history`` and ``lab compare``: run history, trends, and the nightly gate.

::

    lab history [--db DB] [--node N] [--metric M] [--limit 20]   runs, newest first, and metric trends
    lab history ingest RUN_DIR [--db DB]                         store a finished run
    lab history check RUN_DIR [--db DB] [--window 10] [--k 3]    the nightly gate (see exit statuses)
    lab compare RUN_A RUN_B                                      verdicts, measurements (deltas), versions

The database is a SQLite file (default ``$LAB_HISTORY_DB`` or ``runs/history.sqlite``) or a
``postgresql://`` URL (needs ``psycopg``).

Exit statuses of ``lab history check`` (what nightly CI fails on):

====  ====================================================================================
0     no new FAIL and no regression (known FAILs — failing in the previous run too — are
      listed but do not fail the job)
1     a new FAIL (a test that did not FAIL in the previous run) or a metric regression
3     no new FAIL or regression, but new ERRORs or INCOMPLETE tests: the lab could not
      measure everything (infrastructure), so the night proves nothing either way
====  ====================================================================================
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from lab.cli import EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK

DB_ENV = "LAB_HISTORY_DB"
DEFAULT_DB = "runs/history.sqlite"
GATE_FLAG_RUNS = 2  # a node quarantined by the health gate in this many listed runs is flagged


def register(subparsers: Any) -> None:
    history = subparsers.add_parser(
        "history",
        help="run history: list, ingest, trends, nightly regression check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    history.add_argument("action", nargs="?", choices=("list", "ingest", "check"), default="list")
    history.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="for ingest and check")
    history.add_argument("--db", help=f"history database (default ${DB_ENV} or {DEFAULT_DB})")
    history.add_argument("--node", help="only this node's metrics")
    history.add_argument("--metric", help="only this metric (measurement name)")
    history.add_argument("--limit", type=int, default=20, help="how many recent runs (default 20)")
    history.add_argument("--window", type=int, default=10, help="runs in the rolling baseline (default 10)")
    history.add_argument("--k", type=float, default=3.0, help="noise multiplier of the MAD (default 3)")
    history.set_defaults(handler=_history)

    compare = subparsers.add_parser("compare", help="what changed between two runs")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.set_defaults(handler=_compare)


def _database(arguments: argparse.Namespace) -> str:
    return str(arguments.db or os.environ.get(DB_ENV) or DEFAULT_DB)


def _history(arguments: argparse.Namespace) -> int:
    from lab.criteria import DataFormatError
    from lab.history import open_history

    if arguments.action in ("ingest", "check") and not arguments.run_dir:
        raise DataFormatError(f"lab history {arguments.action}: RUN_DIR is required")
    if arguments.limit < 1 or arguments.window < 1 or arguments.k < 0:
        raise DataFormatError("--limit and --window must be at least 1, --k at least 0")
    with open_history(_database(arguments)) as db:
        if arguments.action == "ingest":
            from lab.results import load_run

            run = load_run(Path(arguments.run_dir))
            print(f"ingested {db.ingest(run)} ({len(run.records)} tests, verdict {run.verdict.value})")
            return EXIT_OK
        if arguments.action == "check":
            return _check(db, arguments)
        return _list(db, arguments)


def _list(db: Any, arguments: argparse.Namespace) -> int:
    runs = db.runs(limit=arguments.limit)
    if not runs:
        print(f"no runs in {_database(arguments)} (add one with: lab history ingest RUN_DIR)")
        return EXIT_OK
    print(f"{'run':<28} {'started':<26} {'verdict':<11} {'complete':<8} profile")
    for row in runs:
        complete, profile = ("yes" if row.complete else "NO"), row.profile or ""
        print(f"{row.run_id:<28} {row.started[:25]:<26} {row.verdict.value:<11} {complete:<8} {profile}")
    for node, held in sorted(db.gate_failures(limit=arguments.limit).items()):
        if arguments.node and node != arguments.node:
            continue
        flag = "FLAG: " if len(held) >= GATE_FLAG_RUNS else ""
        runs_text = ", ".join(run_id for run_id, _ in held)
        count = f"{len(held)} of the last {len(runs)} runs"
        print(f"{flag}{node} failed the health gate in {count} ({runs_text}): {held[-1][1]}")
    points = db.trends(node=arguments.node, metric=arguments.metric, limit=arguments.limit)
    if not points and (arguments.node or arguments.metric):
        print("\nno numeric measurements match the filter")
    grouped: dict[tuple[str, str], list[Any]] = {}
    for point in points:
        grouped.setdefault((point.test_id, point.name), []).append(point)
    if grouped:
        print("\ntrends (oldest → newest):")
    for (test_id, name), series in grouped.items():
        values = " → ".join(f"{p.value:.6g}" for p in series)
        print(f"  {test_id} {name} [{series[0].unit}]: {values}")
    return EXIT_OK


def _check(db: Any, arguments: argparse.Namespace) -> int:
    from lab.criteria import Outcome
    from lab.history import nightly_changes
    from lab.results import load_run

    run = load_run(Path(arguments.run_dir))
    gate = nightly_changes(db, run, window=arguments.window, k=arguments.k)
    print(f"compared with: {gate.previous_run or '(no earlier run in the history)'}")
    for test_id in gate.known_failures:
        print(f"known FAIL (also failed last time): {test_id}")
    for test_id in gate.new_failures:
        print(f"NEW FAIL: {test_id}")
    for test_id in gate.new_errors:
        print(f"new ERROR (lab could not measure): {test_id}")
    for flag in gate.flags:
        print(flag.describe())
    for flag in gate.improvements:
        print(flag.describe())
    incomplete = [r.test_id for r in run.records if r.outcome is Outcome.INCOMPLETE]
    for test_id in incomplete:
        print(f"INCOMPLETE: {test_id}")
    if gate.new_failures or gate.flags:
        print(f"nightly gate: FAILED ({len(gate.new_failures)} new FAIL, {len(gate.flags)} regressions)")
        return EXIT_FAILED
    if gate.new_errors or incomplete or not run.complete:
        print("nightly gate: could not measure everything (new ERRORs or an incomplete run)")
        return EXIT_INFRASTRUCTURE
    print("nightly gate: passed")
    return EXIT_OK


def _compare(arguments: argparse.Namespace) -> int:
    from lab.history import compare_runs
    from lab.results import load_run

    comparison = compare_runs(load_run(Path(arguments.run_a)), load_run(Path(arguments.run_b)))
    for line in comparison.lines():
        print(line)
    return EXIT_OK

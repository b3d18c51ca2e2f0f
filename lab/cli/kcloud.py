"""``lab kcloud``: the K-Cloud team's result files in and out of our history.

::

    lab kcloud import benchmark_results_real.csv result.json runs/RUN_ID [--db DB]
    lab kcloud import mnt/result --exams benchmark_results_real.csv   # their GPU jobs' LoadGen summaries
    lab kcloud compare [--db DB] [--metric kcloud-tt100t]   # per configuration and card: theirs beside ours
    lab kcloud summary mlperf_log_summary.txt             # LoadGen summary → their record fields (JSON)

``import`` takes their normalised CSV, their per-run result.json, or one of our run directories
(its ``evidence/**/kcloud-row.csv`` files, written by the canonical-run test), or a directory of their
GPU jobs' LoadGen summaries (``mlperf-<exam>/<repeat>/mlperf_log_summary.txt``; the jobs' rows come from
``--exams``, their CSV: a summary names no card, model or time; INVALID runs stay INVALID, never a
figure — lab/kcloud/summary_import.py). Rows land in the history database (``$LAB_HISTORY_DB`` or
runs/history.sqlite) as runs ``kcloud-<their run id>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from lab.cli import EXIT_BAD_INPUT, EXIT_OK
from lab.cli.history import DB_ENV, DEFAULT_DB
from lab.criteria import Outcome
from lab.kcloud.history_import import MEASURES, RUN_PREFIX, runs_of_rows
from lab.kcloud.loadgen_summary import read_accuracy, read_summaries
from lab.kcloud.results import csv_row, read_csv, read_result_json, read_text
from lab.kcloud.summary_import import LOADGEN_MEASURES, runs_of_summaries, summaries_in

OURS = RUN_PREFIX + "lab-"  # our canonical runs write run ids "lab-…" into their files


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("kcloud", help="the K-Cloud team's result files: import, compare, summary")
    commands = parser.add_subparsers(dest="kcloud_command", metavar="ACTION")
    commands.required = True
    load = commands.add_parser("import", help="their CSV / result.json / our run's kcloud rows → history")
    load.add_argument("paths", nargs="+", metavar="PATH")
    load.add_argument("--db", help=f"history database (default ${DB_ENV} or {DEFAULT_DB})")
    load.add_argument(  # for a directory of LoadGen summaries
        "--exams", action="append", default=[], metavar="CSV",
        help="their CSV holding the GPU jobs' rows (mlperf-<exam>-mp_exam)",
    )  # fmt: skip
    load.set_defaults(handler=_import)
    compare = commands.add_parser(
        "compare", help="per configuration fingerprint and card: theirs beside ours"
    )
    compare.add_argument("--db", help=f"history database (default ${DB_ENV} or {DEFAULT_DB})")
    metrics = [name for name, _ in MEASURES.values()] + [name for name, _, _ in LOADGEN_MEASURES.values()]
    compare.add_argument("--metric", default="kcloud-tt100t", choices=metrics)
    compare.set_defaults(handler=_compare)
    summary = commands.add_parser("summary", help="LoadGen mlperf_log_summary.txt → their record fields")
    summary.add_argument("path", metavar="SUMMARY_TXT")
    summary.set_defaults(handler=_summary)


def _db_path(arguments: argparse.Namespace) -> str:
    import os

    return str(arguments.db or os.environ.get(DB_ENV) or DEFAULT_DB)


def rows_of(path: Path) -> list[dict[str, Any]]:
    """The CSV rows one path gives: a CSV, a result.json, or a run directory's kcloud rows."""
    if path.is_dir():
        found = sorted(path.glob("evidence/**/kcloud-row.csv"))
        return [row for csv_path in found for row in read_csv(csv_path)]
    if path.suffix == ".json":
        return [csv_row(read_result_json(path), source=str(path))]
    return read_csv(path)


def _import(arguments: argparse.Namespace) -> int:
    from lab.history import open_history

    total = 0
    with open_history(_db_path(arguments)) as db:
        for name in arguments.paths:
            path = Path(name)
            if not path.exists():
                print(f"lab kcloud import: {path}: no such file or directory", file=sys.stderr)
                return EXIT_BAD_INPUT
            found = summaries_in(path) if path.is_dir() else []
            if found:
                if not arguments.exams:
                    print(
                        f"lab kcloud import: {path}: {len(found)} LoadGen summaries, but a summary names no "
                        "card, model or time: give their CSV with the jobs' rows (--exams CSV)",
                        file=sys.stderr,
                    )
                    return EXIT_BAD_INPUT
                exams = [row for name in arguments.exams for row in read_csv(Path(name))]
                runs, skipped = runs_of_summaries(found, exams, source=str(path))
                for line in skipped:
                    print(f"not imported: {line}", file=sys.stderr)
                invalid = sum(1 for run in runs if run.records[0].outcome is Outcome.ERROR)
                print(f"{path}: {len(runs)} LoadGen runs imported ({invalid} INVALID: no figure)")
            else:
                rows = rows_of(path)
                runs = runs_of_rows(rows, source=str(path))
                print(f"{path}: {len(rows)} rows imported")
            for run in runs:
                db.ingest(run)
            total += len(runs)
    print(f"{total} K-Cloud rows in {_db_path(arguments)}")
    return EXIT_OK


def _compare(arguments: argparse.Namespace) -> int:
    from lab.history import open_history

    with open_history(_db_path(arguments)) as db:
        points = db.trends(metric=arguments.metric, limit=100_000)
    series: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"theirs": [], "ours": []})
    for point in points:
        if point.run_id.startswith(RUN_PREFIX):
            series[point.test_id]["ours" if point.run_id.startswith(OURS) else "theirs"].append(point.value)
    print(
        f"{'configuration [card:fingerprint]':48}  {'theirs (n, median)':>22}  "
        f"{'ours (n, median)':>22}  ratio"
    )
    for test_id, values in sorted(series.items()):
        theirs, ours = values["theirs"], values["ours"]
        left = f"{len(theirs)}, {statistics.median(theirs):.4g}" if theirs else "-"
        right = f"{len(ours)}, {statistics.median(ours):.4g}" if ours else "-"
        ratio = f"{statistics.median(ours) / statistics.median(theirs):.3f}" if theirs and ours else "-"
        print(f"{test_id.removeprefix('kcloud::'):48}  {left:>22}  {right:>22}  {ratio}")
    return EXIT_OK


def _summary(arguments: argparse.Namespace) -> int:
    text = read_text(Path(arguments.path))
    document = {"summaries": read_summaries(text, source=arguments.path), "accuracy": read_accuracy(text)}
    print(json.dumps(document, indent=2))
    return EXIT_OK

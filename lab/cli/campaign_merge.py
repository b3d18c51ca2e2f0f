"""``lab campaign merge SHARD_RUN_DIR... --run-dir OUT``: the shards of a campaign as one run.

::

    lab campaign merge runs/nightly-s1 runs/nightly-s2 runs/nightly-s3 --run-dir runs/nightly --lang en

Checks that the directories are every shard of one split, exactly once, with no node in two of
them (``lab.results.shards``), writes one run directory with each shard's provenance in its
manifest, and renders its report — signed with ``$LAB_REPORT_KEY`` when set — whose path it
prints last, like ``lab campaign``. Exit status 2 when the shards do not fit together.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.cli import EXIT_BAD_INPUT


def merge_campaign(arguments: argparse.Namespace, directories: list[Path]) -> int:
    from lab.cli.campaign import report_and_verdict
    from lab.results.shards import merge_shards

    if not directories or not arguments.run_dir:
        print("lab campaign merge: give the shards' run directories and --run-dir OUT", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = merge_shards(directories, Path(arguments.run_dir), command_line=sys.argv)
    print(f"lab campaign merge: {len(directories)} shards merged into {out}", file=sys.stderr)
    return report_and_verdict(out, arguments)

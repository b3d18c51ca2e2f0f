"""``lab exec``: run one command on every selected node in parallel.

::

    lab exec --inventory inventory/gwangju.yaml --select 'model=rngd' --timeout 20 -- uname -r
    lab exec --inventory inv.yaml --format json -- furiosa-smi info

Prints, per node, the status, exit status, duration, trust mode and output (or the
infrastructure error). The inventory's secrets (passwords, key passphrases) are printed as
``********`` in either format. Exit status: 0 when every node succeeded, 1 when a command
failed somewhere, 3 when some node had an infrastructure error (unreachable, host key
refused, authentication, timeout) — never a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO, cast

from lab.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK
from lab.criteria import JsonValue
from lab.transport.fanout import NodeOutcome


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "exec",
        help="run one command on every selected node in parallel",
        description="Run one command on every selected node in parallel through the SSH transport.",
    )
    parser.add_argument(
        "--inventory",
        action="append",
        default=[],
        metavar="PATH",
        help="inventory file (repeatable; default $LAB_INVENTORY)",
    )
    parser.add_argument("--select", default=None, metavar="EXPR", help="node selection expression")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="wall-clock deadline of the command per node (default: the node's)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--trust",
        choices=("strict", "bring-up"),
        default=None,
        help="host-key trust mode for this run (default: each node's, normally strict)",
    )
    parser.add_argument(
        "--known-hosts",
        default=None,
        metavar="PATH",
        help="extra known_hosts file (bring-up records new keys here)",
    )
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND ARGS")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from lab.inventory import load_inventory, select_nodes  # lazy: keeps `lab --help` fast
    from lab.results.masking import SecretMask, inventory_secrets
    from lab.transport.connect import ConnectOptions
    from lab.transport.fanout import run_on_nodes
    from lab.transport.pool import ConnectionPool

    argv = list(arguments.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("lab exec: error: no command given (put it after --)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if arguments.timeout is not None and arguments.timeout <= 0:
        print("lab exec: error: --timeout must be positive", file=sys.stderr)
        return EXIT_BAD_INPUT
    paths = arguments.inventory or ([os.environ["LAB_INVENTORY"]] if os.environ.get("LAB_INVENTORY") else [])
    if not paths:
        print("lab exec: error: no inventory (use --inventory PATH or set LAB_INVENTORY)", file=sys.stderr)
        return EXIT_BAD_INPUT
    inventory = load_inventory(*paths)
    nodes = select_nodes(inventory, arguments.select) if arguments.select else inventory.nodes
    if not nodes:
        print("lab exec: no node matches the selection", file=sys.stderr)
        return EXIT_BAD_INPUT
    options = ConnectOptions(trust_mode=arguments.trust, known_hosts=arguments.known_hosts)
    outcomes = run_on_nodes(
        nodes, argv, resolve=inventory.node, timeout=arguments.timeout, options=options, pool=ConnectionPool()
    )
    mask = SecretMask(inventory_secrets(inventory.nodes))
    if arguments.format == "json":
        data = mask.json(cast("list[JsonValue]", [outcome.as_dict() for outcome in outcomes]))
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        text = io.StringIO()
        print_text(outcomes, text)
        sys.stdout.write(mask.text(text.getvalue()))
    return exit_status(outcomes)


def exit_status(outcomes: Sequence[NodeOutcome]) -> int:
    """3 if any node had an infrastructure problem (incl. timeout), else 1 if a command failed, else 0."""
    if any(outcome.status in ("error", "timeout") for outcome in outcomes):
        return EXIT_INFRASTRUCTURE
    if any(outcome.status == "failed" for outcome in outcomes):
        return EXIT_FAILED
    return EXIT_OK


def print_text(outcomes: Sequence[NodeOutcome], out: TextIO) -> None:
    """The human-readable report: a header line per node, its output indented below."""
    for outcome in outcomes:
        result = outcome.result
        exit_text = f"exit {result.exit_status}" if result and result.exit_status is not None else "exit -"
        trust = f"  [{outcome.trust_mode} {outcome.host_key_fingerprint}]" if outcome.trust_mode else ""
        out.write(
            f"== {outcome.node}: {outcome.status.upper()}  {exit_text}  {outcome.duration:.2f} s{trust}\n"
        )
        if outcome.error:
            out.write(f"   error ({outcome.error_kind}): {outcome.error}\n")
        if result is not None:
            for label, text, truncated, spill in (
                ("stdout", result.stdout, result.stdout_truncated, result.stdout_spill),
                ("stderr", result.stderr, result.stderr_truncated, result.stderr_spill),
            ):
                if text.strip():
                    prefix = "   " if label == "stdout" else "   ! "
                    out.write("".join(f"{prefix}{line}\n" for line in text.rstrip("\n").split("\n")))
                if truncated:
                    out.write(f"   [{label} truncated; complete output in {spill}]\n")
    counts = {
        status: sum(1 for o in outcomes if o.status == status)
        for status in ("ok", "failed", "timeout", "error")
    }
    summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    out.write(f"-- {len(outcomes)} node{'s' if len(outcomes) != 1 else ''}: {summary}\n")

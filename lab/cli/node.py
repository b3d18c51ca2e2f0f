"""``lab node check|prepare``: what a node lacks to run the performance agent, and installing it.

::

    lab node check --inventory testbed/inventory.yaml emu-kt-rbln-01 emu-nhn-ref-01
    lab node prepare --inventory inventory/gwangju.yaml --wheel-dir wheels/ rngd-node-03
    lab node release --run-dir runs/20261204-2100 emu-kt-rbln-01     # lift a health-gate quarantine

``check`` imports LoadGen and the node's backend runtime with the node's Python and lists
what is missing. ``prepare`` downloads the missing wheels on the controller (``pip
download`` for the node's Python version and platform), copies them over SFTP and installs
them with ``pip install --no-index --find-links`` (for air-gapped nodes); ``--no-download``
uses only the wheels already in ``--wheel-dir``. Vendor SDKs are reported, not installed.
``release`` lifts the quarantine the health gate put a node under in a run (the run's
``quarantine/`` files; later tests of that run on the node go ahead); it exits 1 when the node
was not quarantined there.
Exit status: 0 nothing missing, 1 something missing, 2 bad input, 3 unreachable node.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from lab.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("node", help="check, prepare or release nodes")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    release = actions.add_parser(
        "release", help="lift a health-gate quarantine", description="lift a health-gate quarantine"
    )
    release.add_argument(
        "--run-dir", required=True, type=Path, metavar="DIR", help="the run's results folder"
    )
    release.add_argument("--by", default=os.environ.get("USER", "operator"), help="who releases (recorded)")
    release.add_argument("nodes", nargs="+", metavar="NODE")
    release.set_defaults(handler=handle_release)
    for name, text in (
        ("check", "report what the agent lacks on each node"),
        ("prepare", "install it offline"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--inventory", action="append", default=[], metavar="PATH", help="inventory file")
        action.add_argument("nodes", nargs="+", metavar="NODE")
        if name == "prepare":
            action.add_argument("--wheel-dir", default="wheels", metavar="DIR", help="where wheels are kept")
            action.add_argument("--no-download", action="store_true", help="use only wheels already there")
        action.set_defaults(handler=handle)


def handle_release(arguments: argparse.Namespace) -> int:
    from lab.health import release

    status = EXIT_OK
    for name in arguments.nodes:
        try:
            entry = release(arguments.run_dir, name, by=arguments.by)
        except (LookupError, ValueError) as error:
            print(f"lab node release: {error}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        print(f"{name}: released (was quarantined since {entry.since}: {entry.reason})")
    return status


def handle(arguments: argparse.Namespace) -> int:
    from lab.inventory import load_inventory
    from lab.performance.backend_choice import choose_backend
    from lab.performance.node_setup import check_node, prepare_node
    from lab.results.masking import SecretMask, inventory_secrets
    from lab.transport.pool import ConnectionPool
    from lab.transport.ssh import SSHTransport

    paths = arguments.inventory or ([os.environ["LAB_INVENTORY"]] if os.environ.get("LAB_INVENTORY") else [])
    if not paths:
        print("lab node: error: no inventory (use --inventory PATH or set LAB_INVENTORY)", file=sys.stderr)
        return EXIT_BAD_INPUT
    inventory = load_inventory(*paths)
    known = {node.name for node in inventory.nodes}
    unknown = [name for name in arguments.nodes if name not in known]
    if unknown:
        print(f"lab node: error: unknown node(s): {', '.join(unknown)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    pool = ConnectionPool()
    mask = SecretMask(inventory_secrets(inventory.nodes))  # tool output may echo a password
    status = EXIT_OK
    for name in arguments.nodes:
        node = inventory.node(name)
        choice = choose_backend(node, inventory.catalog)
        transport = SSHTransport(node, resolve=inventory.node, pool=pool)
        try:
            if arguments.action == "prepare":
                report = prepare_node(
                    transport, choice, Path(arguments.wheel_dir), download=not arguments.no_download
                )
            else:
                report = check_node(transport, choice)
        finally:
            transport.close()
        print(mask.text("\n".join(report.lines())))
        if not report.ok:
            status = EXIT_FAILED
    return status

"""``lab testbed up | status | down``: the emulated test-bed on this machine.

::

    lab testbed up [--inventory inventory/emulated.yaml] [--dir ./testbed]
        → prints the resolved inventory's path (use it with --lab-inventory)
    lab testbed status [--dir ./testbed]      which nodes answer, ports, pids (exit 1 if any is down)
    lab testbed down [--dir ./testbed]        stops exactly the processes `up` started
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lab.cli import EXIT_FAILED, EXIT_OK

DEFAULT_INVENTORY = "inventory/emulated.yaml"
DEFAULT_DIR = "testbed"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "testbed",
        help="start, inspect or stop the emulated test-bed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="testbed_command", metavar="ACTION")
    actions.required = True
    start = actions.add_parser("up", help="start one sshd per emulated node and write the resolved inventory")
    start.add_argument(
        "--inventory", default=DEFAULT_INVENTORY, help=f"inventory file (default {DEFAULT_INVENTORY})"
    )
    start.add_argument("--dir", default=DEFAULT_DIR, help=f"test-bed directory (default ./{DEFAULT_DIR})")
    start.set_defaults(handler=_up)
    show = actions.add_parser("status", help="which nodes answer SSH, their ports and pids")
    show.add_argument("--dir", default=DEFAULT_DIR, help=f"test-bed directory (default ./{DEFAULT_DIR})")
    show.set_defaults(handler=_status)
    stop = actions.add_parser("down", help="stop every process the test-bed started, by pid")
    stop.add_argument("--dir", default=DEFAULT_DIR, help=f"test-bed directory (default ./{DEFAULT_DIR})")
    stop.set_defaults(handler=_down)


def _up(arguments: argparse.Namespace) -> int:
    from lab.emulator.testbed.launcher import up

    result = up(Path(arguments.inventory), Path(arguments.dir))
    if result.stale_cleared:
        print(
            "note: cleared a stale test-bed record (its sshd processes were no longer running)",
            file=sys.stderr,
        )
    nodes = result.manifest.nodes
    print(f"started {len(nodes)} emulated nodes in {result.seconds:.1f} s:", file=sys.stderr)
    for node in nodes:
        print(f"  {node.name:<28} 127.0.0.1:{node.port:<5}  sshd pid {node.pid}", file=sys.stderr)
    print(f"client key: {result.manifest.client_key}", file=sys.stderr)
    print(f"known_hosts: {result.manifest.known_hosts}", file=sys.stderr)
    print(result.resolved_inventory)
    return EXIT_OK


def _status(arguments: argparse.Namespace) -> int:
    from lab.emulator.testbed.launcher import status

    result = status(Path(arguments.dir))
    for line in result.lines():
        print(line)
    return EXIT_OK if result.healthy else EXIT_FAILED


def _down(arguments: argparse.Namespace) -> int:
    from lab.emulator.testbed.launcher import down

    result = down(Path(arguments.dir))
    print(f"stopped {len(result.stopped)} sshd processes: {' '.join(map(str, result.stopped)) or '-'}")
    if result.stragglers:
        print(f"also stopped {len(result.stragglers)} emulator processes left running by sessions")
    return EXIT_OK

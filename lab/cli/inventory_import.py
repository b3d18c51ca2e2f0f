"""``lab inventory import``: the K-Cloud team's cluster description as our inventory.

::

    lab inventory import cluster.yaml -o inventory/kcloud.yaml      # unmapped fields reported on stderr
    lab inventory import cluster.yaml --policy npuclusterpolicy.yaml   # RNGD partitions as labels

Exit 0 with the inventory written (stdout without ``-o``), 2 on bad input (every mistake as file:line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lab.errors import InventoryError
from lab.kcloud.cluster import OPERATOR, import_cluster

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "import", help="import the K-Cloud cluster description (openkcloud config/cluster.yaml)"
    )
    parser.add_argument("path", metavar="CLUSTER_YAML")
    parser.add_argument("-o", "--output", metavar="PATH", help="write the inventory here (default: stdout)")
    parser.add_argument("--policy", metavar="PATH", help="kcloud-operator NPUClusterPolicy (RNGD partitions)")
    parser.add_argument("--catalog", metavar="PATH", help="device catalog the inventory names (catalog:)")
    parser.add_argument("--operator", default=OPERATOR, help=f"operator of every node (default {OPERATOR})")
    parser.set_defaults(handler=_import)


def _import(arguments: argparse.Namespace) -> int:
    try:
        result = import_cluster(
            Path(arguments.path),
            policy=Path(arguments.policy) if arguments.policy else None,
            catalog=arguments.catalog,
            operator=arguments.operator,
        )
    except InventoryError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        count = len(error.problems)
        print(f"{arguments.path}: {count} problem{'s' if count != 1 else ''} found.", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = result.yaml_text()
    if arguments.output:
        Path(arguments.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    nodes = result.document["nodes"]
    cards = sum(item["count"] for node in nodes for item in node.get("accelerators", []))
    print(f"{arguments.path}: imported {len(nodes)} nodes, {cards} physical accelerators", file=sys.stderr)
    for item in result.unmapped:
        print(item, file=sys.stderr)
    print(f"{len(result.unmapped)} fields not mapped (listed above)", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK

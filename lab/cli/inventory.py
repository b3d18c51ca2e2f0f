"""``lab inventory``: check, show, capacity and schema of YAML inventories.

::

    lab inventory check inventory/gwangju.yaml inventory/emulated.yaml     # exit 0, or 2 with every problem
    lab inventory check inventory/devices.yaml inventory/profiles/kcloud-npu-v1.yaml   # catalog, profile
    lab inventory show inventory/gwangju.yaml --select 'vendor=rebellions and operator=kt-cloud'
    lab inventory show inventory/emulated.yaml --format json
    lab inventory capacity inventory/gwangju.yaml
    lab inventory schema > inventory.schema.json
    lab inventory import cluster.yaml -o inventory/kcloud.yaml    # the K-Cloud team's cluster description
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lab.cli import inventory_import
from lab.errors import InventoryError
from lab.inventory.capacity import compute_capacity, format_capacity
from lab.inventory.documents import check_catalog, check_profile_limits, kind_of
from lab.inventory.loader import load_inventory
from lab.inventory.model import Inventory, Node
from lab.inventory.schema import KINDS, schema_text
from lab.inventory.selection import select_nodes
from lab.results.masking import SecretMask, inventory_secrets

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("inventory", help="check, show and summarise inventories")
    commands = parser.add_subparsers(dest="inventory_command", metavar="ACTION")
    commands.required = True

    check = commands.add_parser(
        "check", help="validate inventories, device catalogs, profiles (exit 0, or 2 listing every problem)"
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.set_defaults(handler=_check)

    show = commands.add_parser("show", help="resolved nodes after inheritance (no secrets)")
    show.add_argument("path", metavar="PATH")
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.add_argument("--select", metavar="EXPR", help="selection expression, e.g. 'vendor=rngd and tag=npu'")
    show.set_defaults(handler=_show)

    capacity = commands.add_parser(
        "capacity", help="peak capacity per operator and vendor vs the program total"
    )
    capacity.add_argument("path", metavar="PATH")
    capacity.set_defaults(handler=_capacity)

    schema = commands.add_parser("schema", help="print the JSON Schema (for editors)")
    schema.add_argument("--kind", choices=tuple(KINDS), default="inventory")
    schema.set_defaults(handler=_schema)

    inventory_import.register(commands)


def _check(arguments: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in arguments.paths:
        try:
            kind = kind_of(Path(path))
            if kind == "catalog":
                print(f"{path}: OK: {check_catalog(Path(path))}")
                continue
            if kind == "profile":
                summary, uncertified = check_profile_limits(Path(path))
                for line in uncertified:  # valid, but these values will certify nothing: say so
                    print(line)
                missing = f", {len(uncertified)} model limits missing (listed above)" if uncertified else ""
                print(f"{path}: OK: {summary}{missing}")
                continue
            inventory = load_inventory(path)
        except InventoryError as error:
            for problem in error.problems:
                print(problem, file=sys.stderr)
            count = len(error.problems)
            print(f"{path}: {count} problem{'s' if count != 1 else ''} found.", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        cards = sum(node.device_count for node in inventory.nodes)
        print(f"{path}: OK: {len(inventory.nodes)} nodes, {cards} accelerators")
    return status


def _show(arguments: argparse.Namespace) -> int:
    inventory = load_inventory(arguments.path)
    nodes = select_nodes(inventory, arguments.select) if arguments.select else inventory.nodes
    mask = SecretMask(inventory_secrets(inventory.nodes))  # a label given as !env is a secret
    if arguments.format == "json":
        document = {"inventory": inventory.name, "nodes": [node_record(node, inventory) for node in nodes]}
        print(mask.text(json.dumps(document, indent=2, ensure_ascii=False)))
    else:
        print(mask.text(_table(nodes)))
    return EXIT_OK


def _capacity(arguments: argparse.Namespace) -> int:
    inventory = load_inventory(arguments.path)
    print(format_capacity(compute_capacity(inventory), f"{inventory.name} ({arguments.path})"))
    return EXIT_OK


def _schema(arguments: argparse.Namespace) -> int:
    sys.stdout.write(schema_text(arguments.kind))
    return EXIT_OK


def node_record(node: Node, inventory: Inventory) -> dict[str, Any]:
    """A node as JSON-ready data. Secrets are never in the model; only variable names appear."""
    auth: dict[str, Any] = {"method": node.auth.method}
    for name in ("key_file", "password_env", "passphrase_env"):
        value = getattr(node.auth, name)
        if value is not None:
            auth[name] = value
    expected = node.expected
    emulation = node.emulation
    return {
        "name": node.name,
        "address": node.address,
        "port": node.port,
        "user": node.user,
        "auth": auth,
        "host_key": {
            "mode": node.host_key.mode,
            "pinned": list(node.host_key.pinned),
            "known_hosts": node.host_key.known_hosts,
        },
        "jump": node.jump,
        "operator": node.operator,
        "site": node.site,
        "rack": node.rack,
        "groups": list(node.groups),
        "accelerators": [
            {"model": spec.model, "vendor": inventory.catalog[spec.model].vendor, "count": spec.count}
            for spec in node.accelerators
        ],
        "expected": {
            "driver": expected.driver,
            "firmware": expected.firmware,
            "runtime": expected.runtime,
            "pcie": str(expected.pcie) if expected.pcie else None,
        },
        "tags": sorted(node.tags),
        "labels": dict(node.labels),
        "emulated": node.emulated,
        "emulation": None
        if emulation is None
        else {
            "seed": emulation.seed,
            "time_scale": emulation.time_scale,
            "ambient_celsius": emulation.ambient_celsius,
            "faults": [
                {
                    "kind": fault.kind,
                    "device": fault.device,
                    "after_seconds": fault.after_seconds,
                    "after_queries": fault.after_queries,
                    "parameters": dict(fault.parameters),
                }
                for fault in emulation.faults
            ],
        },
        "profile": node.profile,
        "ssh_config": node.ssh_config,
        "timeouts": {"connect": node.connect_timeout, "command": node.command_timeout},
        "location": str(node.location) if node.location else None,
    }


def _table(nodes: tuple[Node, ...]) -> str:
    headers = ("NAME", "ADDRESS", "OPERATOR", "SITE/RACK", "ACCELERATORS", "AUTH", "VIA", "TAGS")
    rows = [headers]
    for node in nodes:
        where = "/".join(part for part in (node.site, node.rack) if part) or "-"
        cards = ", ".join(f"{spec.count}× {spec.model}" for spec in node.accelerators) or "-"
        auth = node.auth.method + (f" ${node.auth.password_env}" if node.auth.password_env else "")
        emulated = " (emulated)" if node.emulated else ""
        rows.append(
            (
                node.name + emulated,
                f"{node.address}:{node.port}",
                node.operator,
                where,
                cards,
                auth,
                node.jump or "-",
                ",".join(sorted(node.tags)) or "-",
            )
        )
    widths = [max(len(row[index]) for row in rows) for index in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    cards_total = sum(node.device_count for node in nodes)
    lines.append(f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cards_total} accelerators")
    return "\n".join(lines)

"""Write the resolved inventory of a running test-bed, in the ordinary inventory format.

Same nodes as the source inventory (after inheritance), each with ``address: 127.0.0.1``,
its sshd ``port``, the pinned ``host_key``, ``auth.key_file`` (the generated client key)
and the current user; ``catalog:`` and ``profiles:`` become absolute paths so the file
works from any directory::

    path = write_resolved_inventory(inventory, source, ports, host_keys, key, out_path)
    load_inventory(path)      # the launcher does this to prove the file is valid
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from pathlib import Path

import yaml

from lab.emulator.bmc.launch import BmcProcess
from lab.inventory.formats import KNOWN_OPERATORS
from lab.inventory.model import Inventory, Node


def _source_paths(source: Path) -> tuple[str, str]:
    """Absolute catalog file and profiles folder the source inventory uses."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    base = source.resolve().parent
    catalog = raw.get("catalog") if isinstance(raw, dict) else None
    profiles = raw.get("profiles") if isinstance(raw, dict) else None
    catalog_path = (base / Path(str(catalog)).expanduser()) if catalog else base / "devices.yaml"
    profiles_path = (base / Path(str(profiles)).expanduser()) if profiles else base / "profiles"
    return str(catalog_path.resolve()), str(profiles_path.resolve())


def _drop_none(data: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in data.items() if value is not None}


def node_entry(
    node: Node,
    port: int,
    host_key: str,
    client_key: str,
    user: str,
    bmc: BmcProcess | None = None,
    llm_port: int | None = None,
) -> dict[str, object]:
    """The node as a top-level inventory entry pointing at its local sshd (BMC, LLM endpoint if started)."""
    emulation = node.emulation
    entry: dict[str, object] = {
        "name": node.name,
        "site": node.site,
        "rack": node.rack,
        "operator": node.operator,
        "address": "127.0.0.1",
        "port": port,
        "user": user,
        "auth": {"key_file": client_key},
        "host_key": [host_key],
        "groups": list(node.groups) or None,
        "accelerators": [{"model": spec.model, "count": spec.count} for spec in node.accelerators],
        "expected": _drop_none(
            {
                "driver": node.expected.driver,
                "firmware": node.expected.firmware,
                "runtime": node.expected.runtime,
                "pcie": str(node.expected.pcie) if node.expected.pcie else None,
            }
        )
        or None,
        "tags": sorted(node.tags) or None,
        "labels": dict(node.labels) or None,
        "emulated": True,
        "profile": node.profile,
        "timeouts": {"connect": node.connect_timeout, "command": node.command_timeout},
    }
    if bmc is not None and node.bmc is not None:
        entry["bmc"] = {
            "address": "127.0.0.1",
            "port": bmc.port,
            "user": node.bmc.user,
            "password_env": node.bmc.password_env,
            "tls_fingerprint": bmc.fingerprint,
            "timeout": node.bmc.timeout,
        }
    if node.serving is not None and llm_port is not None:
        host = node.serving.address.rsplit(":", 1)[0]
        serving: dict[str, object] = {"address": f"{host}:{llm_port}", "model": node.serving.model}
        # the rest as declared: the cards under test and the model per precision (the LLM grid)
        serving["cards"] = list(node.serving.cards)
        if node.serving.launch:
            serving["launch"] = list(node.serving.launch)
        if node.serving.models:
            serving["models"] = dict(node.serving.models)
        entry["serving"] = serving
    if emulation is not None:
        entry["emulation"] = {
            "seed": emulation.seed,
            "time_scale": emulation.time_scale,
            "ambient_celsius": emulation.ambient_celsius,
            "faults": [
                _drop_none(
                    {
                        "kind": fault.kind,
                        "device": fault.device,
                        "after_seconds": fault.after_seconds,
                        "after_queries": fault.after_queries,
                        "parameters": dict(fault.parameters) or None,
                    }
                )
                for fault in emulation.faults
            ],
        }
    return _drop_none(entry)


def write_resolved_inventory(
    inventory: Inventory,
    source: Path,
    nodes: list[Node],
    ports: Mapping[str, int],
    host_keys: Mapping[str, str],
    client_key: Path,
    target: Path,
    bmcs: Mapping[str, BmcProcess] | None = None,
    llm_ports: Mapping[str, int] | None = None,
) -> Path:
    """Write the resolved inventory of ``nodes`` to ``target`` and return its path."""
    catalog, profiles = _source_paths(source)
    user = getpass.getuser()
    groups = sorted({group for node in nodes for group in node.groups})
    operators = sorted({node.operator for node in nodes} - set(KNOWN_OPERATORS))
    document: dict[str, object] = {
        "version": 1,
        "name": f"{inventory.name}-testbed",
        "description": f"Running emulated test-bed of {source} (written by lab testbed up)",
        "scope": "other",
        "catalog": catalog,
        "profiles": profiles,
    }
    if operators:
        document["operators"] = operators
    if groups:
        document["groups"] = {group: {"description": f"group {group} of {source.name}"} for group in groups}
    document["nodes"] = [
        node_entry(
            node,
            ports[node.name],
            host_keys[node.name],
            str(client_key),
            user,
            (bmcs or {}).get(node.name),
            (llm_ports or {}).get(node.name),
        )
        for node in nodes
    ]
    header = (
        "# Resolved inventory of a running emulated test-bed, written by `lab testbed up`.\n"
        f"# Source: {source}. Regenerated on every `up`; do not edit.\n"
    )
    target.write_text(
        header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return target

"""Per-process state of a lab test session: inventory, selection, transports, leases, the record.

One ``LabSession`` lives in each pytest process (the controller and every xdist worker).
Everything is opened lazily and reused: one connection per node per process, one lease
per node per process (xdist's ``loadgroup`` keeps a node's tests in one worker).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lab.criteria import JsonValue
from lab.errors import InventoryError, LabError
from lab.inventory import Inventory, Node, Profile
from lab.inventory.shard import ShardSpec
from lab.pytest_plugin.options import DEFAULT_INVENTORY, DEFAULT_PROFILE, LabOptions
from lab.results import CollectedTest, Manifest, ProfileRef, RunWriter, new_run_id, write_manifest
from lab.results.attribution import attribution
from lab.results.shards import nodes_digest
from lab.transport.base import Transport

if TYPE_CHECKING:
    from lab.transport.connect import ConnectOptions
    from lab.transport.lease import NodeLease

# The loader, paramiko and the adapters are imported where first needed: every pytest run
# loads this plugin, most of them (the framework's own unit tests) never use a lab node.

log = logging.getLogger(__name__)

_SESSION_KEY = pytest.StashKey["LabSession"]()
RUN_DIR_KEY = "lab_run_dir"  # in xdist's workerinput

_DEVICE_PREFIX = {"furiosaai": "npu", "rebellions": "rbln", "nvidia": "gpu", "sapeon": "snpu", "cpu": "cpu"}


def device_label(vendor: str, dies_per_card: int, card_index: int) -> str:
    """The device name the vendor tool gives card ``card_index`` (its first die for multi-die cards).

    >>> device_label("rebellions", 4, 2)
    'rbln8'
    """
    return f"{_DEVICE_PREFIX.get(vendor, 'dev')}{card_index * dies_per_card}"


@dataclass(frozen=True, slots=True)
class Target:
    """What one parametrized test runs on: a node, and optionally one accelerator card of it."""

    node_name: str
    device_index: int | None = None  # card index on the node, in inventory order
    device_label: str | None = None  # e.g. "rbln2": how the vendor tool names it
    model: str | None = None  # catalog key of the card (or of the node's first card)
    tool_index: int | None = None  # the vendor tool's index of the card (of its first die)

    @property
    def test_id(self) -> str:
        return f"{self.node_name}:{self.device_label}" if self.device_label else self.node_name


class LabSession:
    """Lazily opened lab state for one pytest process; ``LabSession.of(config)`` gets it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options = LabOptions.from_config(config)
        self.worker = getattr(config, "workerinput", {}).get("workerid", "main")
        self._transports: dict[str, Transport] = {}
        self._leases: dict[str, NodeLease] = {}
        self._writer: RunWriter | None = None

    @classmethod
    def of(cls, config: pytest.Config) -> LabSession:
        session = config.stash.get(_SESSION_KEY, None)
        if session is None:
            session = cls(config)
            config.stash[_SESSION_KEY] = session
        return session

    # --- inventory and selection ---------------------------------------------------------

    @cached_property
    def inventory(self) -> Inventory:
        paths = self.options.inventories
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            hint = (
                "start the emulated test-bed with `lab testbed up` or pass --lab-inventory"
                if missing == [DEFAULT_INVENTORY]
                else "check the --lab-inventory path"
            )
            raise pytest.UsageError(f"no inventory file at {', '.join(missing)}: {hint}")
        from lab.inventory import load_inventory
        from lab.results.masking import inventory_secrets, register_secret

        try:
            inventory = load_inventory(*paths)
        except InventoryError as error:
            raise pytest.UsageError(str(error)) from None
        # every node's, not only the selected ones: a jump host's password travels too
        register_secret(*inventory_secrets(inventory.nodes))
        return inventory

    @cached_property
    def selected(self) -> tuple[Node, ...]:
        """The nodes ``--lab-select`` chose, before sharding."""
        from lab.inventory import select_nodes

        try:
            selected = (
                select_nodes(self.inventory, self.options.select)
                if self.options.select
                else self.inventory.nodes
            )
        except LabError as error:
            raise pytest.UsageError(f"--lab-select: {error}") from None
        if self.options.command_timeout is not None:
            selected = tuple(
                dataclasses.replace(node, command_timeout=self.options.command_timeout) for node in selected
            )
        return selected

    @cached_property
    def nodes(self) -> tuple[Node, ...]:
        """The nodes this process tests: the selection, or this shard's part of it."""
        if self.options.shard is None:
            return self.selected
        return self._shard(self.selected, self.options.shard)

    def _shard(self, selected: tuple[Node, ...], spec: ShardSpec) -> tuple[Node, ...]:
        from lab.inventory.shard import shard_nodes

        costs: dict[str, float] = {}
        if self.options.shard_costs is not None:
            from lab.results import load_run
            from lab.results.shards import node_costs

            try:
                costs = node_costs(load_run(self.options.shard_costs))
            except LabError as error:
                raise pytest.UsageError(f"--lab-shard-costs: {error}") from None
        try:
            return shard_nodes(selected, spec, cost=lambda node: costs.get(node.name))
        except LabError as error:
            raise pytest.UsageError(f"--lab-shard: {error}") from None

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        return self.inventory.node(name)  # jump hosts need not be selected

    def node_targets(self) -> Iterable[Target]:
        for node in self.nodes:
            first_model = node.accelerators[0].model if node.accelerators else None
            yield Target(node.name, model=first_model)

    def device_targets(self) -> Iterable[Target]:
        for node in self.nodes:
            cards_per_tool: dict[str, int] = {}
            card = 0
            for spec in node.accelerators:
                model = self.inventory.catalog[spec.model]
                for _ in range(spec.count):
                    # the tool numbers dies, and only its own vendor's cards
                    tool_index = cards_per_tool.get(model.tool, 0) * model.dies_per_card
                    cards_per_tool[model.tool] = cards_per_tool.get(model.tool, 0) + 1
                    label = device_label(model.vendor, model.dies_per_card, card)
                    yield Target(node.name, card, label, spec.model, tool_index)
                    card += 1

    def profile_for(self, node: Node) -> Profile:
        name = self.options.profile or node.profile or DEFAULT_PROFILE
        try:
            return self.inventory.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.inventory.profiles)) or "none"
            raise pytest.UsageError(f"unknown certification profile {name!r} (known: {known})") from None

    def unmet_requirement(self, target: Target, marks: Iterable[pytest.Mark]) -> str | None:
        """Why ``target`` cannot run a test with these requirement marks, or None if it can."""
        node = self.node(target.node_name)
        vendors = {self.inventory.catalog[spec.model].vendor for spec in node.accelerators}
        for mark in marks:
            if mark.name == "lab_vendor" and not vendors & set(mark.args):
                wanted, present = " or ".join(mark.args), ", ".join(sorted(vendors))
                return f"{node.name}: needs a {wanted} accelerator (has {present})"
            if mark.name == "lab_devices":
                minimum = int(mark.kwargs.get("minimum", mark.args[0] if mark.args else 1))
                if node.device_count < minimum:
                    return (
                        f"{node.name}: needs at least {minimum} accelerator cards (has {node.device_count})"
                    )
            if mark.name == "lab_feature":
                from lab.devices.registry import features_of

                # A per-card test needs the feature on its card; a per-node test on any card of the node.
                keys = [target.model] if target.model is not None else [s.model for s in node.accelerators]
                models = [self.inventory.catalog[key] for key in dict.fromkeys(keys)]
                offered = frozenset().union(*(features_of(model.tool) for model in models))
                missing = [feature for feature in mark.args if feature not in offered]
                if missing:
                    names = " / ".join(model.name for model in models)
                    return f"{node.name}: {names} has no {', '.join(missing)}"
        return None

    # --- connections, leases, adapters ---------------------------------------------------

    def connect_options(self) -> ConnectOptions:
        from lab.transport.connect import ConnectOptions

        trust = None if self.options.trust == "inventory" else self.options.trust
        return ConnectOptions(trust_mode=trust)

    def transport(self, node_name: str) -> Transport:
        """The node's transport (connection reused for the whole session), leased on first use."""
        from lab.transport.lease import NodeLease
        from lab.transport.ssh import SSHTransport

        transport = self._transports.get(node_name)
        if transport is None:
            node = self.node(node_name)
            made = self.config.hook.pytest_lab_make_transport(node=node)
            transport = (
                made
                if made is not None
                else SSHTransport(node, resolve=self.node, options=self.connect_options())
            )
            self._transports[node_name] = transport
        if self.options.lease and node_name not in self._leases:
            lease = NodeLease(transport, owner=f"kcloud-lab {self.worker}", run_id=self.run_id)
            lease.acquire(wait=self.options.lease_wait)
            self._leases[node_name] = lease
        return transport

    # --- the record ---------------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        """This run's results folder: chosen by the controller, handed to xdist workers."""
        workerinput = getattr(self.config, "workerinput", None)
        if workerinput is not None and RUN_DIR_KEY in workerinput:
            return Path(workerinput[RUN_DIR_KEY])
        chosen: Path | None = self.config.stash.get(_RUN_DIR_STASH, None)
        if chosen is None:
            chosen = self.options.run_dir or Path("runs") / new_run_id()
            self.config.stash[_RUN_DIR_STASH] = chosen
        return chosen

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def writer(self) -> RunWriter:
        if self._writer is None:
            self._writer = RunWriter(self.run_dir, worker=self.worker)
        return self._writer

    def note_collected(self, test_ids: Iterable[str]) -> None:
        """Record the collected lab tests (never-run ones become INCOMPLETE) and the manifest."""
        tests = [CollectedTest(_plain_id(test_id)) for test_id in test_ids]
        if (not tests and self.options.shard is None) or self.config.option.collectonly:
            return
        if tests:
            self.writer.collected(tests)
        if not (self.run_dir / "manifest.json").exists():
            write_manifest(self.run_dir, self.start_manifest())

    def start_manifest(self) -> Manifest:
        judged = self.nodes or self.selected  # an empty shard names the profile its siblings use
        profiles = {self.profile_for(node).name: self.profile_for(node) for node in judged}
        first = next(iter(profiles.values()), None)
        return Manifest.start(
            run_id=self.run_id,
            command_line=sys.argv,
            inventory_files=[str(path) for path in self.options.inventories],
            inventory_sha256=self.inventory.sha256,
            profile=ProfileRef.of(first) if first is not None else None,
            selected_nodes=[node.name for node in self.nodes],
            trust_mode=self.options.trust,
            properties={
                "pid": os.getpid(),
                **attribution(tester=self.options.tester, campaign=self.options.campaign),
                **self._scope(),
                **self._shard_properties(),
            },
        )

    def _shard_properties(self) -> dict[str, JsonValue]:
        """What ``lab campaign merge`` checks: which shard this is, of which selection."""
        spec = self.options.shard
        if spec is None:
            return {}
        return {
            "shard": {
                "number": spec.number,
                "count": spec.count,
                "by": list(spec.by),
                "source": spec.source,
                "selection": self.options.select,
                "of_nodes": len(self.selected),
                "of_nodes_sha256": nodes_digest(node.name for node in self.selected),
            }
        }

    def _scope(self) -> dict[str, JsonValue]:
        """What the run covers, as the inventory declares it: the report's cover and its table
        by card model (the cards' measured identity comes from the tests themselves)."""
        nodes: dict[str, JsonValue] = {}
        for node in self.nodes:
            cards: list[JsonValue] = []
            for spec in node.accelerators:
                model = self.inventory.catalog.get(spec.model)
                vendor = model.vendor if model is not None else ""
                name = model.name if model is not None else spec.model
                cards.append({"model": spec.model, "vendor": vendor, "name": name, "count": spec.count})
            nodes[node.name] = {"operator": node.operator, "cards": cards}
        operators = sorted({node.operator for node in self.nodes})
        return {
            "testbed": self.inventory.name,
            "inventory": self.inventory.name,
            "operators": list(operators),
            "scope": nodes,
        }

    def close(self) -> None:
        """Release leases, close connections and the record (at the end of the session)."""
        for lease in self._leases.values():
            try:
                lease.release()
            except LabError as error:
                log.warning("could not release the lease on %s: %s", lease.node, error)
        self._leases.clear()
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


_RUN_DIR_STASH = pytest.StashKey[Path]()


def _plain_id(test_id: str) -> str:
    """The pytest node id without xdist's ``@group`` suffix."""
    return test_id.split("@", 1)[0]

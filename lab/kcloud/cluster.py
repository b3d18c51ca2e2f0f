"""Their cluster description (``config/cluster.yaml``) → our inventory, nothing silently dropped.

The format followed is openkcloud/kcloud-mlperf ``app/server/vendored/sister-app-chart/config/cluster.yaml``
at d86f5339b779f720ff64af5ae732d2d983e8b532: ``cluster_name``, ``ssh: {user, password_env,
default_port}``, ``control_plane:``/``workers:`` lists of ``{name, role, state, accelerator: {type,
vendor, model, count}, ssh: {host, port}, labels}``, plus cluster-wide sections (namespaces, images,
targets…) that describe their Kubernetes deployment, not a node, and so have no place in ours.
HEAD (eb881eb) renders ``benchmarks/deploy/platform/cluster.yaml.tmpl`` in the same shape, adding
``ssh.npu_port``: the port of NPU workers that name none.

RNGD partitions: kcloud-operator (da49e190) passes ``spec.furiosa.rngd.partitionPolicy`` of its
``NPUClusterPolicy`` to the device plugin, which then advertises 1/2/4/8 instances per card for
none/quad-core/dual-core/single-core. Given that policy, an RNGD node keeps its physical card count in
``accelerators`` and the instance count goes to labels; instances are never counted as cards.

::

    result = import_cluster(Path("cluster.yaml"), policy=Path("npuclusterpolicy.yaml"))
    print(result.yaml_text())          # our inventory
    for field in result.unmapped:      # cluster.yaml:71:1: namespaces: not mapped (…)
        print(field)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.errors import InventoryError
from lab.inventory.yamlsource import Problems, Y, did_you_mean, parse_yaml_file

SOURCE = "openkcloud/kcloud-mlperf@d86f5339b779f720ff64af5ae732d2d983e8b532 config/cluster.yaml"

# Their accelerator ``model`` words (case-insensitive, size suffix like "-44GiB" dropped) → our catalog.
MODELS: Mapping[str, str] = {
    "l40": "l40",
    "l40s": "l40s",
    "a40": "a40",
    "a100": "a100-80gb-pcie",
    "h100": "h100-pcie",
    "t4": "t4",
    "rngd": "rngd",
    "warboy": "warboy",
    "atom": "atom",
    "atom+": "atom-plus",
    "atomplus": "atom-plus",
    "atom-max": "atom-max",
}
# kcloud-operator's partitionPolicy enum → device-plugin instances per RNGD card (deploy/helm/README.md).
PARTITION_INSTANCES: Mapping[str, int] = {"none": 1, "quad-core": 2, "dual-core": 4, "single-core": 8}
PARTITION_RESOURCES: Mapping[str, str] = {
    "none": "furiosa.ai/rngd",
    "quad-core": "furiosa.ai/rngd-4core.24gb",
    "dual-core": "furiosa.ai/rngd-2core.12gb",
}  # single-core's resource name is not in the sources read: the label is left out rather than guessed
OPERATOR = "etri"  # their cluster is ETRI's (cluster_name etri-llm-bench); --operator overrides
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # our schema's label key pattern
_SIZE_SUFFIX = re.compile(r"-\d+\s*gi?b$", re.IGNORECASE)
_TOP_MAPPED = {"cluster_name", "ssh", "control_plane", "workers"}
_TOP_REASONS = {
    "kubeconfig": "Kubernetes access is not part of an SSH inventory",
    "namespaces": "Kubernetes namespaces: the lab runs over SSH, not in a namespace",
    "images": "container images of their web app",
    "targets": "benchmark targets: see the kcloud-canonical scenario of the profile",
    "future_models": "planning notes, no node",
}
_NODE_MAPPED = {"name", "role", "state", "accelerator", "ssh", "labels"}


@dataclass(frozen=True)
class Unmapped:
    """A field of their file with no place in ours, where it was written and why."""

    file: str
    line: int
    column: int
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: not mapped ({self.reason})"


@dataclass
class ClusterImport:
    """The inventory document built, and what could not be carried over."""

    document: dict[str, Any]
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def yaml_text(self) -> str:
        """Our inventory as YAML, headed by where it came from and what was left out."""
        head = [f"# Imported from {self.document['description']}", f"# Format followed: {SOURCE}"]
        head += [f"# NOT MAPPED: {item}" for item in self.unmapped]
        head += [f"# NOTE: {note}" for note in self.notes]
        body = yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True, width=110)
        return "\n".join(head) + "\n" + body


class _Reader:
    def __init__(self, file: str, problems: Problems) -> None:
        self.file = file
        self.problems = problems
        self.unmapped: list[Unmapped] = []

    def problem(self, y: Y, path: str, message: str) -> None:
        self.problems.add(self.file, y.line, y.column, path, message)

    def skip(self, y: Y, path: str, reason: str) -> None:
        self.unmapped.append(Unmapped(self.file, y.line, y.column, path, reason))

    def text(self, y: Y | None, path: str) -> str | None:
        if y is None or y.value is None:
            return None
        if isinstance(y.value, dict | list):
            self.problem(y, path, "expected a single value, not a mapping or list")
            return None
        return str(y.value)

    def integer(self, y: Y | None, path: str) -> int | None:
        if y is None or y.value is None:
            return None
        if isinstance(y.value, bool) or not isinstance(y.value, int) or y.value < 0:
            unrendered = isinstance(y.value, str) and "${" in y.value
            hint = (
                " (an unrendered template: render it with their stages.sh / envsubst first)"
                if unrendered
                else ""
            )
            self.problem(y, path, f"expected a whole number ≥ 0, got {y.value!r}{hint}")
            return None
        return y.value


def import_cluster(
    path: Path, *, policy: Path | None = None, catalog: str | None = None, operator: str = OPERATOR
) -> ClusterImport:
    """Read their cluster description (and optionally kcloud-operator's NPUClusterPolicy).

    Raises :class:`InventoryError` listing every mistake (file:line:column, with a suggestion).
    """
    problems = Problems()
    root, _ = parse_yaml_file(path, problems)
    partition = _partition_policy(policy, problems) if policy is not None else None
    if root is None or not root.is_map:
        if root is not None:
            problems.add(str(path), root.line, root.column, "", "expected a mapping (their cluster.yaml)")
        problems.raise_if_any()
        raise InventoryError(problems.items)  # pragma: no cover - parse failures always add a problem
    reader = _Reader(str(path), problems)
    result = _document(root, reader, partition, catalog, operator)
    problems.raise_if_any()
    result.unmapped = reader.unmapped
    if not any("host_key" in node or "known_hosts" in node for node in result.document["nodes"]):
        result.notes.append(
            "their file pins no SSH host keys: known_hosts is used; run ssh-keyscan and check each key "
            "(the lab never trusts a key on first use unless told to)"
        )
    return result


def _document(
    root: Y, reader: _Reader, partition: str | None, catalog: str | None, operator: str
) -> ClusterImport:
    assert isinstance(root.value, dict)
    for key in root.value:
        if key not in _TOP_MAPPED:
            line, column = root.key_position(key)
            reason = _TOP_REASONS.get(key, "unknown to the importer")
            reader.unmapped.append(Unmapped(reader.file, line, column, key, reason))
    name = reader.text(root.get("cluster_name"), "cluster_name") or "kcloud-cluster"
    defaults: dict[str, Any] = {"operator": operator, "known_hosts": "~/.ssh/known_hosts"}
    default_port = 22
    npu_port: int | None = None  # their HEAD template's ssh.npu_port: the default for NPU workers
    ssh = root.get("ssh")
    if ssh is not None and ssh.is_map:
        assert isinstance(ssh.value, dict)
        for key, value in ssh.value.items():
            if key == "user":
                defaults["user"] = reader.text(value, "ssh.user")
            elif key == "password_env":  # a variable's name, never its value
                defaults["auth"] = {"password_env": reader.text(value, "ssh.password_env")}
            elif key == "default_port":
                default_port = reader.integer(value, "ssh.default_port") or 22
            elif key == "npu_port":
                npu_port = reader.integer(value, "ssh.npu_port")
            else:
                reader.skip(value, f"ssh.{key}", "unknown SSH setting")
    nodes: list[dict[str, Any]] = []
    for section in ("control_plane", "workers"):
        entries = root.get(section)
        if entries is None:
            continue
        if not isinstance(entries.value, list):
            reader.problem(entries, section, "expected a list of nodes")
            continue
        for index, entry in enumerate(entries.value):
            node = _node(entry, f"{section}[{index}]", reader, (default_port, npu_port), partition)
            if node is not None:
                nodes.append(node)
    _check_unique(nodes, root, reader)
    document: dict[str, Any] = {
        "version": 1,
        "name": re.sub(r"[^A-Za-z0-9._-]", "-", name),
        "description": f"K-Cloud cluster {name} ({reader.file})",
        "scope": "other",
    }
    if operator not in {"kt-cloud", "nhn-cloud", "naver-cloud"}:
        document["operators"] = [operator]
    if catalog is not None:
        document["catalog"] = catalog
    document["defaults"] = defaults
    document["nodes"] = nodes
    return ClusterImport(document)


def _node(
    entry: Y, path: str, reader: _Reader, ports: tuple[int, int | None], partition: str | None
) -> dict[str, Any] | None:
    if not entry.is_map:
        reader.problem(entry, path, "expected a node mapping {name, role, accelerator, ssh, labels}")
        return None
    assert isinstance(entry.value, dict)
    name = reader.text(entry.get("name"), f"{path}.name")
    if not name:
        reader.problem(entry, path, "node without a name")
        return None
    where = f"{path}({name})"
    for key, value in entry.value.items():
        if key not in _NODE_MAPPED:
            reader.skip(value, f"{where}.{key}", "unknown node field")
    node: dict[str, Any] = {"name": name}
    ssh = entry.get("ssh")
    address = reader.text(ssh.get("host"), f"{where}.ssh.host") if ssh is not None else None
    if address is None:
        reader.problem(ssh or entry, f"{where}.ssh.host", "no address: add ssh: {host: …, port: …}")
        return None
    node["address"] = address
    port = reader.integer(ssh.get("port"), f"{where}.ssh.port") if ssh is not None else None
    accelerator = entry.get("accelerator")
    kind = accelerator.get("type") if accelerator is not None else None
    default_port = ports[1] if ports[1] is not None and kind is not None and kind.value == "npu" else ports[0]
    node["port"] = port if port is not None else default_port
    if ssh is not None and isinstance(ssh.value, dict):
        for key, value in ssh.value.items():
            if key not in {"host", "port"}:
                reader.skip(value, f"{where}.ssh.{key}", "unknown SSH setting")
    labels: dict[str, Any] = {}
    tags: list[str] = []
    role = reader.text(entry.get("role"), f"{where}.role")
    if role:
        tags.append(f"kcloud-{role}")
    state = reader.text(entry.get("state"), f"{where}.state")
    if state:
        labels["kcloud.state"] = state
    accelerators = _accelerators(entry.get("accelerator"), where, reader, labels, tags, partition)
    if accelerators:
        node["accelerators"] = accelerators
    their_labels = entry.get("labels")
    if their_labels is not None and isinstance(their_labels.value, dict):
        for key, value in their_labels.value.items():
            if not _LABEL_KEY.match(key):
                reader.skip(value, f"{where}.labels.{key}", "label key our schema does not allow")
            elif isinstance(value.value, dict | list):
                reader.skip(value, f"{where}.labels.{key}", "label value is not a scalar")
            else:
                labels[key] = value.value
    if tags:
        node["tags"] = tags
    if labels:
        node["labels"] = labels
    return node


def _accelerators(
    y: Y | None, where: str, reader: _Reader, labels: dict[str, Any], tags: list[str], partition: str | None
) -> list[dict[str, Any]]:
    if y is None or not y.is_map:
        return []
    path = f"{where}.accelerator"
    assert isinstance(y.value, dict)
    for key, value in y.value.items():
        if key not in {"type", "vendor", "model", "count"}:
            reader.skip(value, f"{path}.{key}", "unknown accelerator field")
    kind = reader.text(y.get("type"), f"{path}.type") or ""
    vendor = reader.text(y.get("vendor"), f"{path}.vendor") or ""
    count = reader.integer(y.get("count"), f"{path}.count")
    model_y = y.get("model")
    text = reader.text(model_y, f"{path}.model")
    if kind:
        tags.append(kind)
    if vendor:
        labels["kcloud.vendor"] = vendor
    if count in (None, 0) or kind == "cpu":
        if text:
            reader.skip(model_y or y, f"{path}.model", "no accelerator counted on this node")
        return []
    assert count is not None
    if not text:
        reader.problem(y, f"{path}.model", "accelerator count without a model")
        return []
    labels["kcloud.accelerator-model"] = text  # their words, kept for the record
    parts = [part.strip() for part in text.split("+ ") if part.strip()] if "+ " in text else [text.strip()]
    if count % len(parts):
        reader.problem(
            y, f"{path}.count", f"{count} cards cannot be split over {len(parts)} models ({text!r})"
        )
        return []
    models: list[dict[str, Any]] = []
    for part in parts:
        word = _SIZE_SUFFIX.sub("", part).strip().lower()
        ours = MODELS.get(word)
        if ours is None:
            hint = did_you_mean(word, MODELS)
            reader.problem(model_y or y, f"{path}.model", f"unknown accelerator model {part!r}{hint}")
            continue
        models.append({"model": ours, "count": count // len(parts)})
    if partition is not None and any(item["model"] == "rngd" for item in models):
        cards = sum(item["count"] for item in models if item["model"] == "rngd")
        per_card = PARTITION_INSTANCES[partition]
        labels["furiosa.partition-policy"] = partition
        if partition in PARTITION_RESOURCES:
            labels["furiosa.partition-resource"] = PARTITION_RESOURCES[partition]
        labels["furiosa.instances-per-card"] = per_card
        labels["furiosa.instances"] = cards * per_card
    return models


def _check_unique(nodes: list[dict[str, Any]], root: Y, reader: _Reader) -> None:
    seen: set[str] = set()
    for node in nodes:
        if node["name"] in seen:
            reader.problem(root, "workers", f"node {node['name']!r} is listed twice")
        seen.add(node["name"])


def _partition_policy(path: Path, problems: Problems) -> str | None:
    """``spec.furiosa.rngd.partitionPolicy`` of kcloud-operator's NPUClusterPolicy (absent = none)."""
    root, _ = parse_yaml_file(path, problems)
    if root is None:
        return None
    kind = root.get("kind")
    if kind is None or kind.value != "NPUClusterPolicy":
        problems.add(
            str(path), root.line, root.column, "kind", "expected kind: NPUClusterPolicy (npu.ai/v1alpha1)"
        )
        return None
    policy: Y | None = root
    for key in ("spec", "furiosa", "rngd", "partitionPolicy"):
        policy = policy.get(key) if policy is not None else None
    if policy is None or policy.value is None:
        return "none"
    value = str(policy.value)
    if value not in PARTITION_INSTANCES:
        hint = did_you_mean(value, PARTITION_INSTANCES)
        problems.add(str(path), policy.line, policy.column, "spec.furiosa.rngd.partitionPolicy",
                     f"unknown partition policy {value!r}{hint}")  # fmt: skip
        return None
    return value

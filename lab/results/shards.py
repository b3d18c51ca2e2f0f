"""Shards of one campaign joined into one run directory, and what sharding reads from runs.

Each shard (``--lab-shard K/N``) writes an ordinary run directory whose manifest says which
shard it is (``properties.shard``: number, count, grouping keys, and the count and digest of
the whole selection). ``merge_shards`` checks that the shards belong together and writes one
run directory that every view (report, history, gate) reads like any other::

    merged = merge_shards([Path("runs/s1"), Path("runs/s2"), Path("runs/s3")], Path("runs/nightly"))
    load_run(merged).verdict

Refused (``ShardMergeError``, nothing written): a directory that was not run as a shard, a
shard given twice or missing, shards of different counts, selections or profiles, and a node
that appears in two shards. The merged manifest keeps every shard's provenance (controller,
times, exit status, framework version and commit, command line, inventory digest) under
``properties.shards``; the records, collected lists, evidence and Allure results are copied
(worker files renamed ``records-s<K>-<worker>.jsonl`` so they never collide).
"""

from __future__ import annotations

import hashlib
import shutil
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from lab.criteria import JsonValue
from lab.errors import LabError
from lab.results.loader import load_run
from lab.results.manifest import InputFile, Manifest, read_manifest, write_manifest
from lab.results.run import Run
from lab.results.writer import COLLECTED_PREFIX, RECORDS_PREFIX

# quarantine/ and health/: the health gate's files (lab.health), one per node, so shards never collide
_COPIED_TREES = ("evidence", "allure-results", "quarantine", "health")


class ShardMergeError(LabError):
    """Shard run directories that cannot be merged (the message names the directories)."""


def nodes_digest(names: Iterable[str]) -> str:
    """A digest of a set of node names, order-free: shards compare their whole selection by it."""
    return hashlib.sha256("\n".join(sorted(set(names))).encode("utf-8")).hexdigest()


def node_costs(run: Run) -> dict[str, float]:
    """Seconds each node's tests took in ``run`` (what ``--lab-shard-costs`` balances by)."""
    costs: dict[str, float] = {}
    for record in run.records:
        if record.node is not None and record.duration is not None:
            costs[record.node] = costs.get(record.node, 0.0) + record.duration
    return costs


@dataclass(frozen=True, slots=True)
class _Shard:
    directory: Path
    manifest: Manifest
    number: int
    count: int
    of_nodes: int
    digest: str
    nodes: frozenset[str]


def merge_shards(directories: Sequence[Path], out: Path, *, command_line: Sequence[str] = ()) -> Path:
    """Merge the shard run ``directories`` into the new run directory ``out``; returns ``out``."""
    if not directories:
        raise ShardMergeError("no shard run directories given")
    shards = sorted((_read_shard(Path(d)) for d in directories), key=lambda s: s.number)
    _check_together(shards)
    if out.exists() and any(out.iterdir()):
        raise ShardMergeError(f"{out}: already exists and is not empty (choose a new --run-dir)")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        for shard in shards:
            _copy_shard(shard, out)
        write_manifest(out, _merged_manifest(shards, out, command_line))
    except BaseException:
        # half a merged run must never be mistaken for one: remove what we wrote
        for path in out.iterdir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        if created:
            out.rmdir()
        raise
    return out


def _read_shard(directory: Path) -> _Shard:
    if not directory.is_dir():
        raise ShardMergeError(f"{directory}: no such run directory")
    manifest = read_manifest(directory)  # DataFormatError (a LabError) names the file
    shard = manifest.properties.get("shard")
    if not isinstance(shard, Mapping):
        raise ShardMergeError(
            f"{directory}: not a shard (its manifest has no shard; run it with --shard K/N)"
        )
    try:
        number, count = int(str(shard["number"])), int(str(shard["count"]))
        of_nodes, digest = int(str(shard["of_nodes"])), str(shard["of_nodes_sha256"])
    except (KeyError, ValueError) as exc:
        raise ShardMergeError(f"{directory}/manifest.json: malformed shard entry ({exc})") from None
    nodes = set(manifest.selected_nodes)
    nodes.update(r.node for r in load_run(directory).records if r.node is not None)
    return _Shard(directory, manifest, number, count, of_nodes, digest, frozenset(nodes))


def _check_together(shards: Sequence[_Shard]) -> None:
    first = shards[0]
    for shard in shards[1:]:
        if shard.count != first.count:
            raise ShardMergeError(
                f"{shard.directory} is shard {shard.number}/{shard.count} but {first.directory} is "
                f"{first.number}/{first.count}: shards of different splits"
            )
        if shard.digest != first.digest:
            raise ShardMergeError(
                f"{shard.directory} and {first.directory} split different node selections "
                "(same inventory and --select on every shard?)"
            )
        if _profile(shard) != _profile(first):
            raise ShardMergeError(
                f"{shard.directory} and {first.directory} were judged by different profiles "
                f"({_profile(shard)} vs {_profile(first)})"
            )
    seen: dict[int, Path] = {}
    for shard in shards:
        if shard.number in seen:
            raise ShardMergeError(
                f"shard {shard.number}/{shard.count} given twice: {seen[shard.number]} and {shard.directory}"
            )
        seen[shard.number] = shard.directory
    missing = [str(number) for number in range(1, first.count + 1) if number not in seen]
    if missing:
        raise ShardMergeError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} of {first.count} missing "
            f"(given: {', '.join(str(s.directory) for s in shards)})"
        )
    owner: dict[str, Path] = {}
    for shard in shards:
        for node in sorted(shard.nodes):
            if node in owner:
                raise ShardMergeError(f"node {node} is in two shards: {owner[node]} and {shard.directory}")
            owner[node] = shard.directory
    if len(owner) != first.of_nodes or nodes_digest(owner) != first.digest:
        raise ShardMergeError(
            f"the shards cover {len(owner)} nodes but split a selection of {first.of_nodes}: "
            "were they split with the same --shard-by and --shard-costs?"
        )


def _profile(shard: _Shard) -> str | None:
    profile = shard.manifest.profile
    return f"{profile.name} {profile.version} {profile.sha256[:12]}" if profile else None


def _copy_shard(shard: _Shard, out: Path) -> None:
    for prefix in (RECORDS_PREFIX, COLLECTED_PREFIX):
        for path in sorted(shard.directory.glob(f"{prefix}*.jsonl")):
            shutil.copyfile(path, out / f"{prefix}s{shard.number}-{path.name[len(prefix) :]}")
    for tree in _COPIED_TREES:
        source = shard.directory / tree
        if not source.is_dir():
            continue
        for path in sorted(source.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue  # a link in a run directory is not evidence: never follow it out
            target = out / tree / path.relative_to(source)
            if target.exists() and path.name == "environment.properties":
                continue  # Allure's run-wide environment: every shard writes one; the first is kept
            if target.exists():
                raise ShardMergeError(
                    f"{path}: another shard already wrote {target.relative_to(out)} "
                    "(the same test in two shards?)"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    junit = shard.directory / "junit.xml"
    if junit.is_file():
        shutil.copyfile(junit, out / f"junit-s{shard.number}.xml")


def _merged_manifest(shards: Sequence[_Shard], out: Path, command_line: Sequence[str]) -> Manifest:
    manifests = [shard.manifest for shard in shards]
    finished = [m.finished for m in manifests]
    statuses = [m.exit_status for m in manifests]
    files: dict[tuple[str, str | None], InputFile] = {}
    for manifest in manifests:
        for item in manifest.inventory_files:
            files.setdefault((item.path, item.sha256), item)
    provenance: list[JsonValue] = [
        {
            "number": shard.number,
            "run_id": shard.manifest.run_id,
            "directory": str(shard.directory),
            "controller": shard.manifest.hostname,
            "started": shard.manifest.started.isoformat(),
            "finished": shard.manifest.finished.isoformat() if shard.manifest.finished else None,
            "exit_status": shard.manifest.exit_status,
            "framework_version": shard.manifest.framework_version,
            "git_commit": shard.manifest.git_commit,
            "command_line": list(shard.manifest.command_line),
            "inventory_sha256": shard.manifest.inventory_sha256,
            "trust_mode": shard.manifest.trust_mode,
            "nodes": list[JsonValue](sorted(shard.nodes)),
            "source": _shard_field(shard.manifest, "source"),
        }
        for shard in shards
    ]
    return Manifest(
        run_id=out.name,
        started=min(m.started for m in manifests),
        finished=None if None in finished else max(f for f in finished if f is not None),
        exit_status=None if None in statuses else max(s for s in statuses if s is not None),
        command_line=tuple(command_line),
        inventory_files=tuple(files.values()),
        inventory_sha256=_same(m.inventory_sha256 for m in manifests),
        profile=manifests[0].profile,
        framework_version=_same(m.framework_version for m in manifests) or "mixed",
        git_commit=_same(m.git_commit for m in manifests),
        selected_nodes=tuple(n for m in manifests for n in m.selected_nodes),
        trust_mode=_same(m.trust_mode for m in manifests) or "mixed",
        hostname=socket.gethostname(),
        properties=MappingProxyType(
            {
                "merged_shards": shards[0].count,
                "shard_by": _shard_field(manifests[0], "by"),
                "shards": provenance,
            }
        ),
    )


def _shard_field(manifest: Manifest, key: str) -> JsonValue:
    shard = manifest.properties.get("shard")
    return shard.get(key) if isinstance(shard, Mapping) else None


def _same(values: Iterable[str | None]) -> str | None:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None

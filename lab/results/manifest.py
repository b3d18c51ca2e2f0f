"""``manifest.json``: what a run was — who ran what, against which inventory and profile.

Written atomically by the controller process at the start of a run and rewritten, with
``finished`` and ``exit_status`` filled in, at its end. A manifest whose ``finished`` is
null belongs to a run that is still going or was killed.

::

    manifest = Manifest.start(
        run_id=new_run_id(),
        command_line=sys.argv,
        inventory_files=["inventory/gwangju.yaml"],
        inventory_sha256=inventory.sha256,
        profile=ProfileRef.of(profile),
        selected_nodes=[node.name for node in nodes],
        trust_mode="strict",
    )
    write_manifest(run_dir, manifest)
    ...
    write_manifest(run_dir, manifest.finish(exit_status=0))
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import lab
from lab.criteria import DataFormatError, JsonValue
from lab.criteria.jsonfields import Fields
from lab.inventory.model import Profile
from lab.results.files import sha256_of, write_atomically
from lab.results.masking import SECRETS
from lab.results.provenance import git_commit

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file the run read (an inventory), with its digest at the time of the run."""

    path: str
    sha256: str | None  # None when the file could not be read

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> InputFile:
        try:
            return cls(str(path), sha256_of(Path(path)))
        except OSError:
            return cls(str(path), None)


@dataclass(frozen=True, slots=True)
class ProfileRef:
    """Which certification profile judged the run."""

    name: str
    version: str
    sha256: str

    @classmethod
    def of(cls, profile: Profile) -> ProfileRef:
        return cls(profile.name, profile.version, profile.sha256)


@dataclass(frozen=True, slots=True)
class Manifest:
    """Provenance of one run. ``finished``/``exit_status`` are None until the run ends."""

    run_id: str
    started: datetime
    command_line: tuple[str, ...] = ()
    inventory_files: tuple[InputFile, ...] = ()
    inventory_sha256: str | None = None
    profile: ProfileRef | None = None
    framework_version: str = lab.__version__
    git_commit: str | None = None
    selected_nodes: tuple[str, ...] = ()
    trust_mode: str | None = None
    hostname: str = ""
    finished: datetime | None = None
    exit_status: int | None = None
    properties: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def start(
        cls,
        *,
        run_id: str,
        command_line: Iterable[str] = (),
        inventory_files: Iterable[str | os.PathLike[str]] = (),
        inventory_sha256: str | None = None,
        profile: ProfileRef | None = None,
        selected_nodes: Iterable[str] = (),
        trust_mode: str | None = None,
        properties: Mapping[str, JsonValue] | None = None,
    ) -> Manifest:
        """A manifest for a run starting now, with host name, version and git commit filled in."""
        return cls(
            run_id=run_id,
            started=datetime.now(UTC),
            command_line=tuple(command_line),
            inventory_files=tuple(InputFile.of(path) for path in inventory_files),
            inventory_sha256=inventory_sha256,
            profile=profile,
            git_commit=git_commit(),
            selected_nodes=tuple(selected_nodes),
            trust_mode=trust_mode,
            hostname=socket.gethostname(),
            properties=MappingProxyType(dict(properties or {})),
        )

    def finish(self, *, exit_status: int | None) -> Manifest:
        """This manifest with the end of the run filled in."""
        return replace(self, finished=datetime.now(UTC), exit_status=exit_status)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "schema": MANIFEST_SCHEMA,
            "run_id": self.run_id,
            "started": self.started.astimezone(UTC).isoformat(),
            "finished": self.finished.astimezone(UTC).isoformat() if self.finished else None,
            "exit_status": self.exit_status,
            "command_line": list(self.command_line),
            "inventory_files": [{"path": f.path, "sha256": f.sha256} for f in self.inventory_files],
            "inventory_sha256": self.inventory_sha256,
            "profile": (
                {"name": self.profile.name, "version": self.profile.version, "sha256": self.profile.sha256}
                if self.profile
                else None
            ),
            "framework_version": self.framework_version,
            "git_commit": self.git_commit,
            "selected_nodes": list(self.selected_nodes),
            "trust_mode": self.trust_mode,
            "hostname": self.hostname,
            "properties": dict(self.properties),
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str = MANIFEST_NAME) -> Manifest:
        fields = Fields(data, where=where)
        profile = fields.sub("profile")
        started = _moment(fields.text("started"), where, "started")
        finished_text = fields.optional_text("finished")
        files = []
        for index, item in enumerate(fields.objects("inventory_files")):
            entry = Fields(item, where=f"{where}: inventory_files[{index}]")
            files.append(InputFile(entry.text("path"), entry.optional_text("sha256")))
        return cls(
            run_id=fields.text("run_id"),
            started=started,
            finished=_moment(finished_text, where, "finished") if finished_text is not None else None,
            exit_status=fields.optional_int("exit_status"),
            command_line=fields.texts("command_line"),
            inventory_files=tuple(files),
            inventory_sha256=fields.optional_text("inventory_sha256"),
            profile=(
                ProfileRef(profile.text("name"), profile.text("version"), profile.text("sha256"))
                if profile is not None
                else None
            ),
            framework_version=fields.text("framework_version", ""),
            git_commit=fields.optional_text("git_commit"),
            selected_nodes=fields.texts("selected_nodes"),
            trust_mode=fields.optional_text("trust_mode"),
            hostname=fields.text("hostname", ""),
            properties=MappingProxyType(dict(fields.mapping("properties"))),
        )


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``20261125T124800Z-3f9a1c``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def write_manifest(run_dir: Path, manifest: Manifest) -> Path:
    """Write ``run_dir/manifest.json`` atomically (readers never see half a manifest).

    Creates ``run_dir`` if needed. Two processes writing at once is safe: each write
    replaces the file whole, and the last one wins. Secrets registered in this process
    (``lab.results.masking``) are masked, e.g. in the command line.
    """
    path = Path(run_dir) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(SECRETS.json(manifest.to_dict()), indent=2, ensure_ascii=False) + "\n"
    write_atomically(path, text.encode("utf-8"))
    return path


def read_manifest(run_dir: Path) -> Manifest:
    """The manifest of ``run_dir``; ``DataFormatError`` when it is missing or malformed."""
    path = Path(run_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no manifest (is this a run directory?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path}: unreadable manifest: {exc}") from exc
    return Manifest.from_dict(data, where=str(path))


def _moment(text: str, where: str, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DataFormatError(f"{where}: field {key!r} is not an ISO 8601 timestamp: {text!r}") from None
    if moment.utcoffset() is None:
        raise DataFormatError(f"{where}: field {key!r} has no time zone: {text!r}")
    return moment

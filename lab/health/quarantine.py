"""Quarantine: a node that failed the gate sits out the rest of the campaign.

One file per node under ``<run dir>/quarantine/`` (xdist workers share nothing but files)::

    quarantine(run_dir, "emu-kt-rbln-01", "kernel-aer-correctable: 812 errors > max 100", suite="functional")
    quarantined(run_dir, "emu-kt-rbln-01")   # Quarantine(node=..., reason=..., ...)
    release(run_dir, "emu-kt-rbln-01", by="operator")     # ``lab node release``

A released node keeps its file, marked ``released``, so the report and the history still
show that it was quarantined and who let it back.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

QUARANTINE_DIR = "quarantine"


@dataclass(frozen=True)
class Quarantine:
    """A node held out of the campaign, and why."""

    node: str
    reason: str
    since: str  # UTC time, ISO 8601
    suite: str = ""  # the suite whose gate failed
    released: str | None = None  # UTC time of the release, if any
    released_by: str | None = None

    @property
    def active(self) -> bool:
        return self.released is None


def _path(run_dir: Path, node: str) -> Path:
    if not node or "/" in node or node.startswith("."):
        raise ValueError(f"not a node name: {node!r}")
    return run_dir / QUARANTINE_DIR / f"{node}.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write(path: Path, entry: Quarantine) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(entry), indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)  # atomic: a worker never reads half a file


def quarantine(run_dir: Path, node: str, reason: str, *, suite: str = "") -> Quarantine:
    """Quarantine ``node`` for the rest of the run (replacing an earlier, released entry)."""
    entry = Quarantine(node=node, reason=reason, since=_now(), suite=suite)
    _write(_path(run_dir, node), entry)
    return entry


def _read(path: Path) -> Quarantine:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Quarantine(**{key: data.get(key) for key in Quarantine.__dataclass_fields__})


def quarantined(run_dir: Path, node: str) -> Quarantine | None:
    """The node's active quarantine, or None."""
    path = _path(run_dir, node)
    if not path.exists():
        return None
    entry = _read(path)
    return entry if entry.active else None


def read_quarantines(run_dir: Path) -> list[Quarantine]:
    """Every quarantine of the run, released ones included, by node name."""
    folder = run_dir / QUARANTINE_DIR
    if not folder.is_dir():
        return []
    return [_read(path) for path in sorted(folder.glob("*.json"))]


def release(run_dir: Path, node: str, *, by: str) -> Quarantine:
    """Lift ``node``'s quarantine; raises ``LookupError`` when it is not quarantined."""
    entry = quarantined(run_dir, node)
    if entry is None:
        raise LookupError(f"{node} is not quarantined in {run_dir}")
    released = Quarantine(entry.node, entry.reason, entry.since, entry.suite, _now(), by)
    _write(_path(run_dir, node), released)
    return released

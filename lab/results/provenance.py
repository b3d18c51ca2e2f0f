"""Which version of the framework ran: its git commit, read without running ``git``.

Reading ``.git`` directly keeps it fast, works where no ``git`` binary is installed, and
starts no process. Returns None outside a git checkout (an installed wheel).
"""

from __future__ import annotations

import re
from pathlib import Path

import lab

_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def git_commit(start: Path | None = None) -> str | None:
    """The commit checked out in the repository holding ``start`` (default: this package)."""
    git_dir = _find_git_dir(start or Path(lab.__file__).resolve().parent)
    if git_dir is None:
        return None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if _SHA.match(head):
            return head  # detached HEAD
        if not head.startswith("ref: "):
            return None
        ref = head[len("ref: ") :].strip()
        # a linked worktree keeps its HEAD here but its refs in the common directory
        common = git_dir / "commondir"
        if common.is_file():
            git_dir = (git_dir / common.read_text(encoding="utf-8").strip()).resolve()
        ref_file = git_dir / ref
        if ref_file.is_file():
            value = ref_file.read_text(encoding="utf-8").strip()
            return value if _SHA.match(value) else None
        return _packed_ref(git_dir, ref)
    except (OSError, UnicodeDecodeError):
        return None


def _find_git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir: "):
                return (folder / text[len("gitdir: ") :]).resolve()
            return None
    return None


def _packed_ref(git_dir: Path, ref: str) -> str | None:
    packed = git_dir / "packed-refs"
    if not packed.is_file():
        return None
    for line in packed.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ", 1)
        if len(parts) == 2 and parts[1] == ref and _SHA.match(parts[0]):
            return parts[0]
    return None

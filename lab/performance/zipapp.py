"""Build the node-side agent (``lab/agent``) into one zipapp file, at push time.

The archive holds the package as ``kcloud_agent/`` (relative imports only, so it never
shadows the node's own ``lab`` package) and a ``__main__.py`` that runs it::

    path = build_agent(Path("/tmp/build"))      # /tmp/build/kcloud-agent-<digest>.pyz
    # on the node: python3 kcloud-agent-<digest>.pyz request.json

The file name carries a digest of the sources, so a node keeps one copy per agent version.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

AGENT_PACKAGE = "kcloud_agent"
_MAIN = f"import sys\nfrom {AGENT_PACKAGE}.main import run\nsys.exit(run(sys.argv[1:]))\n"


def agent_sources() -> list[Path]:
    """The agent's ``.py`` files, sorted (the archive's content is reproducible)."""
    root = Path(__file__).resolve().parent.parent / "agent"
    return sorted(path for path in root.rglob("*.py") if "__pycache__" not in path.parts)


def agent_digest() -> str:
    root = Path(__file__).resolve().parent.parent / "agent"
    digest = hashlib.sha256()
    for path in agent_sources():
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_agent(directory: Path) -> Path:
    """Write the zipapp into ``directory`` (reused when the same version is already there)."""
    root = Path(__file__).resolve().parent.parent / "agent"
    target = directory / f"kcloud-agent-{agent_digest()}.pyz"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".agent.", suffix=".tmp", dir=directory)
    os.close(handle)
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__main__.py", _MAIN)
        for path in agent_sources():
            if path.name == "__main__.py" and path.parent == root:
                continue
            name = f"{AGENT_PACKAGE}/{path.relative_to(root).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    os.replace(temporary, target)
    return target

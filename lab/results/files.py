"""Small, crash-safe file primitives shared by the results store.

* ``write_atomically``: readers see the old file or the new one, never half of one
  (write a temporary file in the same folder, fsync it, ``os.replace`` it over the target,
  fsync the folder so the rename itself survives a power cut).
* ``safe_name``: turn a test id or attachment name into one harmless path component.
* ``sha256_of``: the digest of a file's bytes, for provenance.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 120


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that no reader or crash ever sees a partial file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a new or renamed entry in ``directory`` durable (a no-op where unsupported)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on directories; the data itself is synced
    finally:
        os.close(descriptor)


def safe_name(text: str, *, default: str = "item") -> str:
    """One path component made of ``[A-Za-z0-9._-]`` only, never hidden, at most 120 chars.

    Long or rewritten names keep a short digest of the original so two different ids never
    collide.

    >>> safe_name("tests/test_pcie.py::test_link[kt-rbln-07:rbln2]")
    'tests_test_pcie.py_test_link_kt-rbln-07_rbln2_'
    >>> safe_name("../../etc/passwd")
    'etc_passwd'
    """
    cleaned = _UNSAFE.sub("_", text).lstrip("._-")
    if not cleaned:
        cleaned = default
    if len(cleaned) > _MAX_NAME:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        cleaned = f"{cleaned[: _MAX_NAME - 13]}-{digest}"
    return cleaned


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

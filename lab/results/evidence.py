"""Attachments of a run (command transcripts, tool output, plots) under ``evidence/``.

Each test gets its own folder named after its id, made safe for any file system; an
attachment never overwrites another (a second ``transcript.txt`` becomes
``transcript-2.txt``), and appears complete or not at all::

    path = write_evidence(run_dir, "tests/test_pcie.py::test_link[n1:npu0]", "transcript.txt", text)
    path   # 'evidence/tests_test_pcie.py_test_link_n1_npu0_/transcript.txt' (relative to run_dir)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from lab.results.files import fsync_directory, safe_name
from lab.results.masking import SECRETS, SecretMask

EVIDENCE_DIR = "evidence"
_MAX_SAME_NAME = 10_000


def write_evidence(
    run_dir: Path, test_id: str | None, name: str, data: bytes | str, *, mask: SecretMask = SECRETS
) -> str:
    """Store ``data`` as an attachment of ``test_id`` (None: of the run itself).

    Returns the path relative to ``run_dir`` with ``/`` separators, ready to put in a
    record's or measurement's ``evidence``. Text is written as UTF-8. Every secret of
    ``mask`` (the process-wide registry by default) is replaced by ``********`` first, in
    text and in bytes alike (a tool log is bytes).
    """
    payload = mask.bytes(data.encode("utf-8") if isinstance(data, str) else data)
    folder = Path(run_dir) / EVIDENCE_DIR / safe_name(test_id or "run", default="run")
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".evidence.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        target = _link_unique(Path(temporary), folder, safe_name(name, default="attachment"), payload)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    fsync_directory(folder)
    return target.relative_to(Path(run_dir)).as_posix()


def _link_unique(source: Path, folder: Path, name: str, payload: bytes) -> Path:
    # os.link fails when the target exists, so two writers can never claim one name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    for attempt in range(1, _MAX_SAME_NAME + 1):
        candidate = name if attempt == 1 else f"{stem}-{attempt}{'.' + suffix if suffix else ''}"
        target = folder / candidate
        try:
            os.link(source, target)
        except FileExistsError:
            continue
        except OSError:
            # no hard links on this file system: exclusive create, still never overwriting
            try:
                _write_exclusive(target, payload)
            except FileExistsError:
                continue
        return target
    raise FileExistsError(f"{folder}: more than {_MAX_SAME_NAME} attachments named {name!r}")


def _write_exclusive(target: Path, payload: bytes) -> None:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(payload)
        stream.flush()
        os.fsync(stream.fileno())

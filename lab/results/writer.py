"""Writing a run as it happens: one ``RunWriter`` per process (per xdist worker).

Each writer owns two append-only JSON-lines files in the run directory, so workers never
share a file and never need a lock between them:

* ``collected-<worker>.jsonl``: every test the worker collected (tests that never got a
  record are shown as INCOMPLETE by ``load_run``);
* ``records-<worker>.jsonl``: a ``started`` line when a test begins and the full record
  when it ends. The record is written with a single ``write`` on an ``O_APPEND`` file and
  ``fsync``-ed before ``record`` returns: killing the process at any later moment, even
  with SIGKILL, loses nothing already recorded.

Every line and attachment is masked first (``lab.results.masking``): a secret registered in
this process (inventory passwords and passphrases, ``lab_secret`` values) is written as
``********``, and observers receive the masked record.

Record first, reporters subscribe: observers (JUnit, Allure, console) are told about a
record only after it is on disk, so a crashing reporter can never lose a result::

    with RunWriter(run_dir, worker="gw0", observers=[console]) as writer:
        writer.collected([CollectedTest(item.nodeid, node="n1", device="npu0")])
        writer.started("tests/test_x.py::test_a[n1:npu0]")
        writer.record(TestRecord(test_id="tests/test_x.py::test_a[n1:npu0]", outcome=Outcome.PASS))
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Protocol

from lab.criteria import JsonValue
from lab.inventory.model import Axis
from lab.results.evidence import EVIDENCE_DIR, write_evidence
from lab.results.files import fsync_directory
from lab.results.masking import SECRETS, SecretMask
from lab.results.record import TestRecord, utc_now

log = logging.getLogger(__name__)

_WORKER_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
RECORDS_PREFIX = "records-"
COLLECTED_PREFIX = "collected-"


class RunObserver(Protocol):
    """Something that wants to know about each record once it is safely on disk."""

    def on_record(self, record: TestRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class CollectedTest:
    """A test the run intends to execute, known before it starts."""

    test_id: str
    node: str | None = None
    device: str | None = None
    axis: Axis | None = None

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "test_id": self.test_id,
            "node": self.node,
            "device": self.device,
            "axis": self.axis.value if self.axis else None,
        }


class RunWriter:
    """Appends one worker's collected tests and records to the run directory.

    Safe to use from several threads of one process; never share one file between
    processes (give each its own ``worker`` name: ``gw0``, ``gw1``, ``main``).
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        worker: str = "main",
        observers: Sequence[RunObserver] = (),
        mask: SecretMask = SECRETS,
    ) -> None:
        if not _WORKER_NAME.match(worker):
            raise ValueError(f"worker name {worker!r} must be 1-64 characters of [A-Za-z0-9_.-]")
        self.run_dir = Path(run_dir)
        self.worker = worker
        self.observers: list[RunObserver] = list(observers)
        self.observer_errors: list[str] = []
        self.mask = mask
        self._lock = threading.Lock()
        (self.run_dir / EVIDENCE_DIR).mkdir(parents=True, exist_ok=True)
        self.records_path = self.run_dir / f"{RECORDS_PREFIX}{worker}.jsonl"
        self.collected_path = self.run_dir / f"{COLLECTED_PREFIX}{worker}.jsonl"
        self._records_fd = _open_append(self.records_path)
        self._collected_fd: int | None = None
        fsync_directory(self.run_dir)

    # -- writing -------------------------------------------------------------------------

    def collected(self, tests: Iterable[CollectedTest]) -> None:
        """Note the tests this worker collected (one fsync for the whole batch)."""
        payload = b"".join(_line(self.mask.json(test.to_dict())) for test in tests)  # type: ignore[arg-type]
        with self._lock:
            if self._collected_fd is None:
                self._collected_fd = _open_append(self.collected_path)
            _write_all(self._collected_fd, payload)
            os.fsync(self._collected_fd)

    def started(self, test_id: str, *, node: str | None = None, device: str | None = None) -> None:
        """Note that ``test_id`` began, so a killed run can say which test was running.

        Flushed to the kernel (survives the process being killed) but not fsync-ed: a lost
        ``started`` line after a power cut only loses that hint, never a result.
        """
        started: dict[str, JsonValue] = {
            "kind": "started",
            "test_id": test_id,
            "node": node,
            "device": device,
            "started": utc_now().isoformat(),
            "worker": self.worker,
        }
        line = _line(self.mask.json(started))  # type: ignore[arg-type]
        with self._lock:
            _write_all(self._fd(), line)

    def record(self, record: TestRecord) -> None:
        """Persist ``record`` durably, then tell the observers.

        The record is stamped with this writer's ``worker`` name. An observer that raises is
        logged and listed in ``observer_errors``; the other observers still run and the
        record stays written. Secrets are masked in every text of the record (message, details,
        reason, properties, measured text values) before it is written or shown to anyone.
        """
        if record.worker != self.worker:
            record = replace(record, worker=self.worker)
        data = record.to_dict()
        masked = self.mask.json(data)
        if masked != data:
            record = TestRecord.from_dict(masked)
        line = _line({"kind": "record", **record.to_dict()})
        with self._lock:
            descriptor = self._fd()
            _write_all(descriptor, line)
            os.fsync(descriptor)
        for observer in list(self.observers):
            try:
                observer.on_record(record)
            except Exception as exc:  # a view must never take the record store down with it
                message = f"{type(observer).__name__}.on_record({record.test_id}) failed: {exc!r}"
                self.observer_errors.append(message)
                log.warning("%s", message)

    def write_evidence(self, test_id: str | None, name: str, data: bytes | str) -> str:
        """Store an attachment, secrets masked; returns its path relative to the run directory."""
        return write_evidence(self.run_dir, test_id, name, data, mask=self.mask)

    def add_observer(self, observer: RunObserver) -> None:
        self.observers.append(observer)

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the files (idempotent). Records already written are already durable."""
        with self._lock:
            for descriptor in (self._records_fd, self._collected_fd):
                if descriptor is not None and descriptor >= 0:
                    os.close(descriptor)
            self._records_fd = -1
            self._collected_fd = None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _fd(self) -> int:
        if self._records_fd < 0:
            raise ValueError(f"RunWriter for {self.records_path} is closed")
        return self._records_fd


def _open_append(path: Path) -> int:
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    # A file left by a killed writer may end in a torn line: start ours on a fresh line
    # so the fragment stays one bad line instead of corrupting the next good one.
    size = os.fstat(descriptor).st_size
    if size:
        with path.open("rb") as stream:
            stream.seek(size - 1)
            if stream.read(1) != b"\n":
                _write_all(descriptor, b"\n")
    return descriptor


def _line(data: dict[str, JsonValue]) -> bytes:
    # json.dumps escapes control characters, so the line can never contain a raw newline
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _write_all(descriptor: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]

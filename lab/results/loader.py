"""Reading a run directory back into one ``Run``, whatever state the run was left in.

``load_run`` never raises on damaged content: a torn last line (the writer was killed
mid-write), an unreadable line or a missing manifest becomes a warning in ``Run.warnings``.
It raises ``DataFormatError`` only when the folder is not there at all.

Merging rules:

* records from every ``records-*.jsonl`` are merged; when one test id has several records
  (a rerun), the one that *finished* last wins (file order breaks ties) and the others go
  to ``Run.superseded``;
* a test with a ``started`` line but no record → INCOMPLETE, "started … and never finished";
* a test in a ``collected-*.jsonl`` with neither → INCOMPLETE, "never started".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lab.criteria import DataFormatError, Outcome
from lab.criteria.jsonfields import Fields
from lab.inventory.model import Axis
from lab.results.manifest import MANIFEST_NAME, Manifest, read_manifest
from lab.results.record import TestRecord, parse_timestamp
from lab.results.run import Run
from lab.results.writer import COLLECTED_PREFIX, RECORDS_PREFIX

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Started:
    test_id: str
    node: str | None
    device: str | None
    started: datetime | None
    worker: str


def load_run(run_dir: str | os.PathLike[str]) -> Run:
    """Merge every worker file of ``run_dir`` into one ``Run`` (see the module docstring)."""
    directory = Path(run_dir)
    if not directory.is_dir():
        raise DataFormatError(f"{directory}: no such run directory")
    warnings: list[str] = []

    manifest: Manifest | None = None
    if (directory / MANIFEST_NAME).exists():
        try:
            manifest = read_manifest(directory)
        except DataFormatError as exc:
            warnings.append(str(exc))
    else:
        warnings.append(f"{directory / MANIFEST_NAME}: missing (the run was started without one)")

    collected = _read_collected(directory, warnings)
    attempts, started = _read_records(directory, warnings)

    # Latest finish wins; sorted() is stable, so file/line order breaks ties.
    attempts.sort(key=lambda record: record.finished or record.started or _EARLIEST)
    latest: dict[str, TestRecord] = {}
    superseded: list[TestRecord] = []
    for record in attempts:
        previous = latest.get(record.test_id)
        if previous is not None:
            superseded.append(previous)
        latest[record.test_id] = record

    for test_id, marker in started.items():
        if test_id not in latest:
            when = marker.started.isoformat() if marker.started else "an unknown time"
            latest[test_id] = TestRecord(
                test_id=test_id,
                outcome=Outcome.INCOMPLETE,
                node=marker.node,
                device=marker.device,
                axis=collected[test_id].axis if test_id in collected else None,
                started=marker.started,
                worker=marker.worker,
                reason=(
                    f"started at {when} on worker {marker.worker} and never finished (the run was cut short)"
                ),
            )

    ordered: list[TestRecord] = []
    for test_id, entry in collected.items():
        found = latest.pop(test_id, None)
        ordered.append(
            found
            if found is not None
            else TestRecord(
                test_id=test_id,
                outcome=Outcome.INCOMPLETE,
                node=entry.node,
                device=entry.device,
                axis=entry.axis,
                worker=entry.worker,
                reason="collected but never started (the run was cut short)",
            )
        )
    ordered.extend(sorted(latest.values(), key=lambda record: record.started or _EARLIEST))
    return Run(directory, manifest, tuple(ordered), tuple(warnings), tuple(superseded))


@dataclass(frozen=True, slots=True)
class _Collected:
    node: str | None
    device: str | None
    axis: Axis | None
    worker: str


def _read_collected(directory: Path, warnings: list[str]) -> dict[str, _Collected]:
    collected: dict[str, _Collected] = {}
    for path in sorted(directory.glob(f"{COLLECTED_PREFIX}*.jsonl")):
        worker = path.stem[len(COLLECTED_PREFIX) :]
        for where, data in _json_lines(path, warnings):
            try:
                fields = Fields(data, where=where)
                test_id = fields.text("test_id")
                axis_text = fields.optional_text("axis")
                axis = Axis(axis_text) if axis_text is not None else None
                entry = _Collected(fields.optional_text("node"), fields.optional_text("device"), axis, worker)
            except (DataFormatError, ValueError) as exc:
                warnings.append(f"{where}: skipped: {exc}")
                continue
            collected.setdefault(test_id, entry)
    return collected


def _read_records(directory: Path, warnings: list[str]) -> tuple[list[TestRecord], dict[str, _Started]]:
    records: list[TestRecord] = []
    started: dict[str, _Started] = {}
    for path in sorted(directory.glob(f"{RECORDS_PREFIX}*.jsonl")):
        worker = path.stem[len(RECORDS_PREFIX) :]
        for where, data in _json_lines(path, warnings):
            if not isinstance(data, dict):
                warnings.append(f"{where}: skipped: not a JSON object")
                continue
            kind = data.get("kind", "record")
            try:
                if kind == "started":
                    fields = Fields(data, where=where)
                    test_id = fields.text("test_id")
                    started[test_id] = _Started(
                        test_id,
                        fields.optional_text("node"),
                        fields.optional_text("device"),
                        parse_timestamp(fields.optional_text("started"), where, "started"),
                        fields.text("worker", worker),
                    )
                elif kind == "record":
                    records.append(TestRecord.from_dict(data, where=where))
                else:
                    warnings.append(f"{where}: skipped: unknown line kind {kind!r}")
            except (DataFormatError, ValueError) as exc:
                warnings.append(f"{where}: skipped: {exc}")
    return records, started


def _json_lines(path: Path, warnings: list[str]) -> list[tuple[str, object]]:
    """(``file:line``, parsed JSON) for each good line; a bad line becomes a warning."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        warnings.append(f"{path}: unreadable: {exc.strerror or exc}")
        return []
    lines = content.split(b"\n")
    torn_tail = not content.endswith(b"\n")
    parsed: list[tuple[str, object]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            parsed.append((where, json.loads(raw.decode("utf-8"))))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if torn_tail and number == len(lines):
                warnings.append(f"{where}: torn last line skipped (the writer was stopped mid-write)")
            else:
                warnings.append(f"{where}: skipped: not a valid JSON line")
    return parsed

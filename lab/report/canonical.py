"""The canonical form of a run's data: what a report's signature vouches for.

The same run always gives the same bytes (keys sorted, no whitespace, ASCII only, records
sorted by test id), whatever order the workers wrote them in::

    data = canonical_run(load_run(run_dir))
    digest = sha256_hex(canonical_bytes(data))
    tree = digest_tree(data)        # per-record and per-measurement digests, to say *what* changed

``digest_tree`` keeps a short digest (16 hex digits) of every record and measurement; the
full SHA-256 over everything is what is trusted, the short ones only locate a change.
"""

from __future__ import annotations

import hashlib
import json

from lab.criteria import JsonValue
from lab.results import Run

RUN_FORMAT = "kcloud-lab-run/1"
_SHORT = 16


def canonical_run(run: Run) -> dict[str, JsonValue]:
    """Manifest plus every record (sorted by test id) as plain JSON data."""
    records: list[JsonValue] = [record.to_dict() for record in sorted(run.records, key=lambda r: r.test_id)]
    return {
        "format": RUN_FORMAT,
        "manifest": run.manifest.to_dict() if run.manifest is not None else None,
        "records": records,
    }


def canonical_bytes(data: JsonValue) -> bytes:
    """Deterministic JSON bytes of ``data`` (non-finite numbers as ``NaN``/``Infinity``, like the store)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True).encode(
        "ascii"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def short_digest(data: JsonValue) -> str:
    return sha256_hex(canonical_bytes(data))[:_SHORT]


def digest_tree(data: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``{"run": full digest, "manifest": short, "records": {test_id: {"r": short, "m": [short, ...]}}}``.

    ``r`` covers the record without its measurements, ``m`` each measurement in order.
    """
    records: dict[str, JsonValue] = {}
    for record in _records(data):
        measurements = record.get("measurements")
        items = measurements if isinstance(measurements, list) else []
        rest = {key: value for key, value in record.items() if key != "measurements"}
        records[str(record.get("test_id"))] = {"r": short_digest(rest), "m": [short_digest(m) for m in items]}
    return {
        "run": sha256_hex(canonical_bytes(data)),
        "manifest": short_digest(data.get("manifest")),
        "records": records,
    }


def _records(data: dict[str, JsonValue]) -> list[dict[str, JsonValue]]:
    records = data.get("records")
    if not isinstance(records, list):
        return []
    return [record for record in records if isinstance(record, dict)]

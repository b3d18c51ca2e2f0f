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
# one encoder for every call: json.dumps builds a new one per call when options are given,
# which dominates the cost of hashing ten thousand small records
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


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
    return _ENCODER.encode(data).encode("ascii")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def short_digest(data: JsonValue) -> str:
    return sha256_hex(canonical_bytes(data))[:_SHORT]


def encode_and_digest(data: dict[str, JsonValue]) -> tuple[bytes, dict[str, JsonValue]]:
    """``canonical_bytes(data)`` and its digest tree, encoding every record only once.

    The tree is ``{"run": full digest, "manifest": short, "records": {test_id: {"r": short,
    "o": outcome, "m": [short, ...]}}}``: ``r`` covers the whole record, ``o`` is its outcome as
    text (so a changed verdict can be named), ``m`` covers each measurement in order.
    """
    records = data.get("records")
    if set(data) != {"format", "manifest", "records"} or not isinstance(records, list):
        encoded = canonical_bytes(data)  # not the shape canonical_run makes: no shortcut
        return encoded, _tree(data, encoded, {})
    pieces = [canonical_bytes(record) for record in records]
    # the same bytes canonical_bytes(data) gives: keys in sorted order, no whitespace
    encoded = b"".join(
        [
            b'{"format":', canonical_bytes(data["format"]),
            b',"manifest":', canonical_bytes(data["manifest"]),
            b',"records":[', b",".join(pieces), b"]}",
        ]
    )  # fmt: skip
    known = {id(record): piece for record, piece in zip(records, pieces, strict=True)}
    return encoded, _tree(data, encoded, known)


def digest_tree(data: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """The digest tree of ``data`` (see ``encode_and_digest``)."""
    return encode_and_digest(data)[1]


def _tree(data: dict[str, JsonValue], encoded: bytes, known: dict[int, bytes]) -> dict[str, JsonValue]:
    records: dict[str, JsonValue] = {}
    for record in _records(data):
        measurements = record.get("measurements")
        items = measurements if isinstance(measurements, list) else []
        piece = known.get(id(record)) or canonical_bytes(record)
        records[str(record.get("test_id"))] = {
            "r": sha256_hex(piece)[:_SHORT],
            "o": str(record.get("outcome")),
            "m": [short_digest(m) for m in items],
        }
    return {"run": sha256_hex(encoded), "manifest": short_digest(data.get("manifest")), "records": records}


def _records(data: dict[str, JsonValue]) -> list[dict[str, JsonValue]]:
    records = data.get("records")
    if not isinstance(records, list):
        return []
    return [record for record in records if isinstance(record, dict)]

"""Like for like: which of their rows a row of ours may be compared with, and why the others may not.

Their rule (config-fingerprint.ts, d86f533): two runs compare only when their configuration
fingerprints match; ``diffConfig`` names the fields that differ (their "drift"). The same here:
rows with our fingerprint on the same card are comparable; rows on the same card that differ in
a few fields are listed with those fields named, never averaged in.

::

    found = like_for_like(our_row, read_csv(their_csv))
    found.same                       # their rows with our fingerprint, same hardware
    found.near                       # [(row, ["scenario", "max_output_tokens"]), ...]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.kcloud.fingerprint import FINGERPRINT_FIELDS, decoding_of

_TEXT = {"benchmark", "model", "dataset", "dataset_version", "precision", "scenario"}


def _normal(key: str, value: object) -> object:
    if key in _TEXT:
        return "" if value is None else " ".join(str(value).strip().lower().split())
    return 0 if value is None else value


def config_of(row: Mapping[str, Any]) -> dict[str, object]:
    """The 12 fingerprint fields of a CSV row, normalised as the fingerprint normalises them."""
    fields = {**row, **decoding_of(str(row.get("benchmark")))}
    return {key: _normal(key, fields.get(key)) for key in FINGERPRINT_FIELDS}


def config_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Fields whose normalised values differ (``[]`` when the fingerprints agree)."""
    left, right = config_of(a), config_of(b)
    return [key for key in FINGERPRINT_FIELDS if left[key] != right[key]]


@dataclass
class LikeForLike:
    same: list[Mapping[str, Any]] = field(default_factory=list)
    near: list[tuple[Mapping[str, Any], list[str]]] = field(default_factory=list)


def like_for_like(
    ours: Mapping[str, Any], theirs: Iterable[Mapping[str, Any]], *, max_diffs: int = 2
) -> LikeForLike:
    """Their rows on our row's hardware: same configuration, or within ``max_diffs`` fields of it."""
    found = LikeForLike()
    for row in theirs:
        if row.get("hardware") != ours.get("hardware") or row.get("status") != "completed":
            continue
        differing = config_diff(ours, row)
        if not differing:
            found.same.append(row)
        elif len(differing) <= max_diffs:
            found.near.append((row, differing))
    found.near.sort(key=lambda item: (len(item[1]), str(item[0].get("run_id"))))
    return found

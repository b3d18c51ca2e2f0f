"""Their configuration fingerprint: SHA-256 over the 12 fields that make two runs "the same benchmark".

Mirrors ``compute_fingerprint`` of openkcloud/kcloud-mlperf ``app/scripts/normalize-benchmark-results.py``
at d86f5339b779f720ff64af5ae732d2d983e8b532, which wrote the ``config_fingerprint`` column of their
published CSV (all 116 rows reproduce: tests/kcloud/test_results_files.py). Strings are trimmed,
lower-cased and their whitespace collapsed; a missing value is "" (text) or 0 (number); the nested
object is dumped by Python's ``json.dumps`` with sorted keys and no spaces, so ``0.0`` and ``0`` differ
(their server's TypeScript ``config-fingerprint.ts`` also hashes ``dataset_subset`` and prints numbers
the JavaScript way: its hashes differ from the CSV's; the CSV is what their dashboards compare).

::

    fingerprint({"benchmark": "mlperf", "model": "meta-llama/Llama-3.1-8B-Instruct-FP8", ...})  # 64 hex

Hardware (node, runtime, driver) is deliberately absent: an L40 and an RNGD run of one configuration
share a fingerprint, which is what lets them sit side by side.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

FINGERPRINT_FIELDS = (
    "benchmark", "model", "dataset", "dataset_version",
    "precision", "batch_size", "data_number",
    "decoding_temperature", "decoding_top_p", "decoding_top_k",
    "scenario", "max_output_tokens",
)  # fmt: skip
_TEXT = ("benchmark", "model", "dataset", "dataset_version", "precision", "scenario")


def _text(value: object) -> str:
    return "" if value is None else " ".join(str(value).strip().lower().split())


def _number(value: object) -> object:
    return 0 if value is None else value


def fingerprint(fields: Mapping[str, object]) -> str:
    """Their SHA-256 over :data:`FINGERPRINT_FIELDS` (numbers keep their Python type: 0.0 ≠ 0)."""
    normalized: dict[str, object] = {key: _text(fields.get(key)) for key in _TEXT}
    normalized |= {
        "batch_size": _number(fields.get("batch_size")),
        "data_number": _number(fields.get("data_number")),
        "max_output_tokens": _number(fields.get("max_output_tokens")),
        "decoding": {
            "temperature": _number(fields.get("decoding_temperature")),
            "top_k": _number(fields.get("decoding_top_k")),
            "top_p": _number(fields.get("decoding_top_p")),
        },
    }
    payload = json.dumps(normalized, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def decoding_of(benchmark: str) -> dict[str, object]:
    """The decoding fields their normaliser fills in: greedy for MLPerf, temperature only for MMLU."""
    mlperf = benchmark == "mlperf"
    return {
        "decoding_temperature": 0.0,
        "decoding_top_p": 1.0 if mlperf else None,
        "decoding_top_k": 0 if mlperf else None,
    }


def run_descriptor(model: str, n_samples: int, max_tokens: int, precision: str = "FP8") -> str:
    """The ``config_fingerprint`` their harness writes into a per-run ``result.json`` (a plain string,
    not a hash: ``mlperf|MODEL|cnn_dailymail|3.0.0|FP8|N|MAX_TOKENS``, mlperf_cnndm100_fp8.py)."""
    return f"mlperf|{model}|cnn_dailymail|3.0.0|{precision}|{n_samples}|{max_tokens}"

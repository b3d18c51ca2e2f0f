"""Reading LoadGen's logs: ``mlperf_log_summary.txt`` and the ``:::MLLOG`` detail log.

::

    summary = parse_summary(text)
    summary["result"], summary["samples_per_second"], summary["latency_ns"]["90.00"]
    detail = parse_detail(detail_text)      # {"result_validity": "VALID", "loadgen_version": ...}
"""

from __future__ import annotations

import json
import re

_PERCENTILE = re.compile(r"^(\d+\.\d+) percentile latency \(ns\)\s*:\s*(\d+)")
# summary label → result key; values are numbers except where noted
_FIELDS = {
    "Scenario": "scenario",
    "Mode": "mode",
    "Result is": "result",
    "Samples per second": "samples_per_second",
    "Completed samples per second": "completed_samples_per_second",
    "Scheduled samples per second": "scheduled_samples_per_second",
    "Min latency (ns)": "min_latency_ns",
    "Max latency (ns)": "max_latency_ns",
    "Mean latency (ns)": "mean_latency_ns",
    "QPS w/ loadgen overhead": "qps_with_loadgen_overhead",
    "QPS w/o loadgen overhead": "qps_without_loadgen_overhead",
    "90.0th percentile latency (ns)": "singlestream_p90_ns",
    "99.0th percentile latency (ns)": "multistream_p99_ns",
    "Min duration satisfied": "min_duration_satisfied",
    "Min queries satisfied": "min_queries_satisfied",
    "Early stopping satisfied": "early_stopping_satisfied",
    "Performance constraints satisfied": "performance_constraints_satisfied",
    "target_qps": "target_qps",
    "target_latency (ns)": "target_latency_ns",
    "min_duration (ms)": "min_duration_ms",
    "min_query_count": "min_query_count",
    "samples_per_query": "samples_per_query",
}
_TEXT_FIELDS = {"scenario", "mode", "result"}
_FLAG_FIELDS = {
    "min_duration_satisfied",
    "min_queries_satisfied",
    "early_stopping_satisfied",
    "performance_constraints_satisfied",
}
DETAIL_PREFIXES = ("result_", "effective_", "loadgen_version", "early_stopping", "num_errors")


def parse_summary(text: str) -> dict[str, object]:
    """The summary's fields under stable keys; ``latency_ns`` maps "90.00" → nanoseconds."""
    fields: dict[str, object] = {}
    latencies: dict[str, int] = {}
    for raw in text.splitlines():
        line = raw.strip()
        match = _PERCENTILE.match(line)
        if match:
            latencies[match.group(1)] = int(match.group(2))
            continue
        label, colon, value = line.partition(":")
        key = _FIELDS.get(label.strip())
        if not colon or key is None or key in fields:
            continue
        value = value.strip()
        if key in _TEXT_FIELDS:
            fields[key] = value
        elif key in _FLAG_FIELDS:
            fields[key] = value.lower() == "yes"
        else:
            try:
                fields[key] = float(value)
            except ValueError:
                fields[key] = value
    fields["latency_ns"] = latencies
    return fields


def parse_detail(text: str) -> dict[str, object]:
    """Key values of the detail log (results, effective settings, version, errors and warnings)."""
    values: dict[str, object] = {}
    errors: list[str] = []
    warnings: list[str] = []
    for line in text.splitlines():
        if not line.startswith(":::MLLOG "):
            continue
        try:
            entry = json.loads(line[len(":::MLLOG ") :])
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        key = str(entry.get("key", ""))
        metadata = entry.get("metadata") or {}
        if isinstance(metadata, dict) and metadata.get("is_error"):
            errors.append(f"{key}: {entry.get('value')}")
        elif isinstance(metadata, dict) and metadata.get("is_warning"):
            warnings.append(f"{key}: {entry.get('value')}")
        if key.startswith(DETAIL_PREFIXES):
            values[key] = entry.get("value")
    values["errors"] = errors
    values["warnings"] = warnings
    return values

"""How long a test's workload ran: figures of different run lengths are never one baseline.

A 2-second CI LoadGen run and MLPerf's 600-second run of the same test measure different
things (warm-up, thermal state, LoadGen's early-stopping statistics), and so do a 30-second
and a 24-hour soak. The history keeps each record's *run length*, read from the properties
the suites record, and compares a value only with values of the same length::

    run_length({"loadgen_min_duration_s": 2.0, "short_run": True})   # "loadgen 2 s, short"
    run_length({"soak_node_seconds": 86400.0})                       # "soak 86400 s"
    run_length({"trust_mode": "strict"})                             # "" (no workload length)
"""

from __future__ import annotations

from collections.abc import Mapping

# (property holding the workload's length in seconds, what it measures, its "shortened" flag)
_LENGTHS = (
    ("loadgen_min_duration_s", "loadgen", "short_run"),
    ("soak_node_seconds", "soak", "short_soak"),
)


def run_length(properties: Mapping[str, object]) -> str:
    """The record's run length ("" for a test whose figures do not depend on one)."""
    parts = []
    for key, kind, short_flag in _LENGTHS:
        value = properties.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            short = ", short" if properties.get(short_flag) is True else ""
            parts.append(f"{kind} {value:g} s{short}")
        elif properties.get(short_flag) is True:
            parts.append(f"{kind} short")
    return "; ".join(parts)

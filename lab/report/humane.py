"""Names and values as a person reads them: the report never shows a pytest node id as a row
name, an epoch float as a time, or a Python list's repr.

::

    short_test_name("testsuites/functional/test_compatibility.py::test_version_pinned[n1:rbln0-driver]")
    # 'version_pinned · driver'
    readable_test("testsuites/performance/test_performance.py::test_offline_throughput[n1:npu0]")
    # 'offline_throughput · n1:npu0'
    property_text("soak_started_epoch", 1796414400.0)   # '2026-12-05 00:00:00 UTC'
    property_text("soak_wall_seconds", 20.41)           # '20.4 s'
    property_text("cards", [0.5, 0.25])                 # '0.5, 0.25'
    property_label("soak_started_epoch")                # 'soak started'
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from lab.criteria import JsonValue

_EPOCH_SUFFIXES = ("_epoch", "_at", "_time")
_SECONDS_SUFFIXES = ("_seconds", "_s")
_EARLIEST, _LATEST = 946_684_800.0, 4_102_444_800.0  # 2000-01-01 .. 2100-01-01: a plausible time


def short_test_name(test_id: str, node: str | None = None, device: str | None = None) -> str:
    """The test's function name without ``test_`` and without the node and card already shown
    beside it; a parameter beyond the card (``-driver``) stays, after a middle dot."""
    name = test_id.split("::")[-1]
    params = ""
    if "[" in name and name.endswith("]"):
        name, params = name[:-1].split("[", 1)
    name = name.removeprefix("test_")
    for known in (node, device):
        if known and params.startswith(known):
            params = params[len(known) :].lstrip(":-_")
    return f"{name} · {params}" if params else name


def readable_test(test_id: str) -> str:
    """A pytest node id as a person names the test where no node or card is shown beside it:
    ``…::test_offline_throughput[kt-rbln-07:rbln2]`` → ``offline_throughput · kt-rbln-07:rbln2``."""
    name = test_id.split("::")[-1]
    if "[" in name and name.endswith("]"):
        name, params = name[:-1].split("[", 1)
        return f"{name.removeprefix('test_')} · {params}"
    return name.removeprefix("test_")


def property_label(key: str) -> str:
    """``soak_started_epoch`` → ``soak started``; ``pci_address`` → ``pci address``."""
    for suffix in (*_EPOCH_SUFFIXES, *_SECONDS_SUFFIXES):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key.replace("_", " ")


def property_text(key: str, value: JsonValue) -> str:
    """A recorded property's value in the words a person reads: dates, seconds, lists."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        number = float(value)
        if key.endswith(_EPOCH_SUFFIXES) and _EARLIEST <= number <= _LATEST:
            return datetime.fromtimestamp(number, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if key.endswith(_SECONDS_SUFFIXES):
            return f"{number_text(number)} s"
        return number_text(number)
    if isinstance(value, list):
        return ", ".join(property_text(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{property_label(k)}: {property_text(k, v)}" for k, v in sorted(value.items()))
    return str(value)


def number_text(value: float) -> str:
    """At most four significant figures, no exponent for ordinary magnitudes, no ``.0`` on integers."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if 1e-3 <= abs(value) < 1e7:
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}"
    return f"{value:.4g}"

"""Published reference points beside our figures: "ours | theirs | how far apart | whose figure".

A test states a published figure for one of its criteria in its record's properties, as
``reference:<criterion>`` (the value, in the criterion's unit) and ``reference_source`` (where it
was published). The report shows it next to the measured value, never as a measurement: the
K-Cloud team's TT100T for RNGD (testsuites/llm/test_kcloud_canonical.py) is the first user.

::

    rows = reference_rows(records)
    rows[0].criterion, rows[0].ours, rows[0].theirs     # "kcloud-tt100t-derived", "0.102", "1.385"
    rows[0].deviation                                   # "-92.6 %": (ours - theirs) / theirs
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from lab.report.humane import number_text
from lab.results import TestRecord

PREFIX = "reference:"
SOURCE = "reference_source"


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    criterion: str
    device: str
    ours: str
    theirs: str
    deviation: str  # (ours - theirs) / theirs, signed, in %
    unit: str
    source: str


def reference_rows(records: Iterable[TestRecord]) -> tuple[ReferenceRow, ...]:
    """One row per measured criterion that has a published reference in its record."""
    rows: list[ReferenceRow] = []
    for record in records:
        source = str(record.properties.get(SOURCE) or "")
        for m in record.measurements:
            theirs = record.properties.get(PREFIX + m.name)
            if not isinstance(theirs, int | float) or isinstance(theirs, bool):
                continue
            ours = m.value if isinstance(m.value, int | float) and not isinstance(m.value, bool) else None
            deviation = ""
            if ours is not None and theirs != 0 and math.isfinite(float(ours)):
                deviation = f"{(float(ours) - float(theirs)) / float(theirs) * 100:+.1f} %"
            rows.append(
                ReferenceRow(
                    criterion=m.name,
                    device=record.device or "",
                    ours=number_text(float(ours)) if ours is not None else "—",
                    theirs=number_text(float(theirs)),
                    deviation=deviation,
                    unit=m.unit,
                    source=source,
                )
            )
    return tuple(rows)

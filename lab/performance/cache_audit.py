"""TEST04-style audit: repeated samples must not be served from a cache.

MLPerf's ``compliance/TEST04`` re-runs the performance test with LoadGen issuing one sample
over and over (its ``audit.config``: ``performance_issue_same = 1``,
``performance_issue_same_index = 3``, ``performance_issue_unique = 0``); ``verify_performance.py``
passes it when that run is VALID and its score stays below the reference run's × 1.10 (1.20
for SingleStream/MultiStream runs faster than 0.2 ms / 1.6 ms per query). A device that
remembers answers gets much faster on one sample; an honest one does not::

    audit = cache_audit(offline_result, same_sample_result)
    audit.to_json()    # {"passed": True, "detail": "one sample repeated: 1012.3 samples/s, ..."}

The lab runs it on the Offline scenario (``REQUEST_FIELDS`` added to the card's Offline
request); its result lands in the record's ``audits["TEST04"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.performance.result import AgentResult

TOLERANCE = 0.10  # verify_performance.py's threshold
REQUEST_FIELDS: dict[str, object] = {"issue_same_sample": 3}
"""Added to an agent request: LoadGen issues sample 3 every time (TEST04's audit.config)."""


@dataclass(frozen=True)
class Audit:
    passed: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "detail": self.detail}


def cache_audit(reference: AgentResult, same_sample: AgentResult, tolerance: float = TOLERANCE) -> Audit:
    """TEST04's verdict: ``same_sample`` (one sample repeated) VALID and not faster than
    ``reference`` (the real sample set) by ``tolerance`` or more."""
    if not reference.valid:
        return Audit(False, f"the reference run is {reference.validity}")
    if not same_sample.valid:
        return Audit(False, f"the one-sample run is {same_sample.validity}")
    real, repeated = reference.samples_per_second, same_sample.samples_per_second
    if real is None or repeated is None or real <= 0:
        return Audit(False, "a run printed no samples per second")
    ratio = repeated / real
    words = (
        f"one sample repeated: {repeated:.1f} samples/s, real sample set: {real:.1f} samples/s "
        f"(× {ratio:.3f}, limit × {1 + tolerance:.2f})"
    )
    if ratio >= 1 + tolerance:
        return Audit(False, f"{words}: repeated samples are served faster — a cache, not the device")
    return Audit(True, words)

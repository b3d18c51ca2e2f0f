"""MLPerf's TEST01 audit: the outputs a performance run logged are the accuracy run's outputs.

A card that computes only when it believes it is being checked (accuracy mode) and returns
something cheaper under load is caught here: the Offline performance run logs about
``accuracy_log_sampling_target`` outputs, chosen by ``accuracy_log_rng_seed`` (the settings of
MLPerf's TEST01 ``audit.config``), and each is compared with the same sample's output in the
accuracy run. Outputs need not be bit-equal (a runtime may pick another kernel for another
batch size) but must agree in class and within ``RELATIVE_TOLERANCE`` of the row's scale::

    audit = audit_logs(Path("offline-mlperf_log_accuracy.json"), Path("accuracy-mlperf_log_accuracy.json"))
    audit.passed, audit.detail      # True, "64 sampled outputs of the performance run match …"
    audit.to_json()                 # {"passed": True, "detail": "..."}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lab.performance.tasks import decoded, read_accuracy_log

RELATIVE_TOLERANCE = 1e-3
SAMPLING_TARGET = 64  # outputs logged by a performance run (MLPerf's TEST01 uses 64-1024 by model)
SAMPLING_SEED = 720381539243781796  # MLPerf's TEST01 audit.config accuracy_log_rng_seed


@dataclass(frozen=True)
class Audit:
    passed: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "detail": self.detail}


def _agree(performance: bytes, accuracy: bytes) -> bool:
    if performance == accuracy:
        return True
    a, b = decoded(performance), decoded(accuracy)
    if a is None or b is None or a.shape != b.shape or not len(b):
        return False
    scale = float(abs(b).max()) or 1.0
    return int(a.argmax()) == int(b.argmax()) and float(abs(a - b).max()) <= RELATIVE_TOLERANCE * scale


def compare_test01(performance: Mapping[int, bytes], accuracy: Mapping[int, bytes]) -> Audit:
    """Compare the performance run's logged outputs with the accuracy run's, sample by sample."""
    if not performance:
        return Audit(False, "the performance run logged no outputs: nothing shows its results were computed")
    differing = sorted(
        index for index, data in performance.items() if not _agree(data, accuracy.get(index, b""))
    )
    exact = sum(1 for index, data in performance.items() if accuracy.get(index) == data)
    if differing:
        shown = ", ".join(str(index) for index in differing[:5])
        return Audit(
            False,
            f"{len(differing)} of {len(performance)} outputs logged during the performance run differ "
            f"from the accuracy run's (samples {shown}{'…' if len(differing) > 5 else ''})",
        )
    how = (
        "all bit-exact"
        if exact == len(performance)
        else f"{exact} bit-exact, the rest within {RELATIVE_TOLERANCE:g} of the output scale, same class"
    )
    return Audit(
        True, f"{len(performance)} outputs logged during the performance run match the accuracy run's ({how})"
    )


def audit_logs(performance_log: Path, accuracy_log: Path) -> Audit:
    """TEST01 over two LoadGen accuracy logs (``AccuracyLogError`` when one is unreadable)."""
    return compare_test01(read_accuracy_log(performance_log), read_accuracy_log(accuracy_log))

"""A card's accuracy result: LoadGen's AccuracyOnly log scored by the task's metric, judged
against the profile's fraction of the FP32 reference, and the TEST01 audit beside it.

The record of every performance figure of the card carries both, under the keys the MLPerf
rule checker reads (``ACCURACY_KEY``, ``AUDITS_KEY``)::

    card = CardAccuracy.judge(task, outputs, target_fraction=0.99, log="offline-1-mlperf_log_accuracy.json")
    card.passed, card.describe()           # True, "top1 0.978 = 99.8 % of FP32 0.980 (target 99 %) …"
    card.to_json()    # {"task": "digits", "metric": "top1", "value": 0.978, "reference": 0.98,
                      #  "target_fraction": 0.99, "passed": True, "log": "..."}

A figure whose card did not pass is "not certified", whatever its speed (``not_certified``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lab.performance.tasks import TaskData, score

ACCURACY_KEY = "accuracy"
AUDITS_KEY = "audits"
DEFAULT_TARGET_FRACTION = 0.99  # MLPerf: 99 % of the FP32 reference for most models


@dataclass(frozen=True)
class CardAccuracy:
    task: str
    metric: str
    value: float
    reference: float
    target_fraction: float
    samples: int
    missing: int
    log: str

    @classmethod
    def judge(
        cls, task: TaskData, outputs: Mapping[int, bytes], *, target_fraction: float, log: str
    ) -> CardAccuracy:
        found = score(task, outputs)
        return cls(
            task.name,
            task.metric,
            found.value,
            task.reference,
            target_fraction,
            found.samples,
            found.missing,
            log,
        )

    @property
    def fraction(self) -> float:
        """The score as a fraction of the FP32 reference's."""
        return self.value / self.reference if self.reference else 0.0

    @property
    def passed(self) -> bool:
        return self.missing == 0 and self.fraction >= self.target_fraction

    def describe(self) -> str:
        text = (
            f"{self.task} {self.metric} {self.value:.4f} = {self.fraction:.1%} of FP32 {self.reference:.4f} "
            f"(target {self.target_fraction:.1%}) over {self.samples} samples"
        )
        if self.missing:
            text += f", {self.missing} without an output"
        return text

    def to_json(self) -> dict[str, object]:
        """The record's ``accuracy`` value (the rule checker's contract)."""
        return {
            "task": self.task,
            "metric": self.metric,
            "value": self.value,
            "reference": self.reference,
            "target_fraction": self.target_fraction,
            "passed": self.passed,
            "log": self.log,
        }


def not_certified(accuracy: Mapping[str, object] | None) -> str | None:
    """Why a figure of the card with this ``accuracy`` record is not certified; None when it is."""
    if accuracy is None:
        return "not certified: no accuracy result for this card"
    if accuracy.get("passed") is True:
        return None
    value, reference, target = (
        accuracy.get("value"),
        accuracy.get("reference"),
        accuracy.get("target_fraction"),
    )
    if isinstance(value, float) and isinstance(reference, float) and isinstance(target, float) and reference:
        return (
            f"not certified: accuracy {value:.4f} is {value / reference:.1%} of FP32 {reference:.4f}, "
            f"below the {target:.0%} target, whatever its speed"
        )
    return "not certified: the card's accuracy did not pass, whatever its speed"

"""Measurements, verdicts and the outcome vocabulary.

::

    from lab.criteria import Outcome, combine, evaluate

    m = evaluate(profile.criteria["pcie_generation"], 4, device_model="rngd")
    m.verdict            # Outcome.FAIL when the profile asks for minimum 5
    combine([m.verdict, Outcome.PASS])
"""

from lab.criteria.evaluate import Judgement, evaluate, judge, measurement, not_computable
from lab.criteria.jsonfields import DataFormatError, JsonValue
from lab.criteria.measurement import MeasuredValue, Measurement
from lab.criteria.outcome import (
    MARGINAL_MARKER,
    OUTCOME_MAPPING,
    Outcome,
    OutcomeMapping,
    combine,
    outcome_of_exception,
)

__all__ = [
    "MARGINAL_MARKER",
    "OUTCOME_MAPPING",
    "DataFormatError",
    "JsonValue",
    "Judgement",
    "MeasuredValue",
    "Measurement",
    "Outcome",
    "OutcomeMapping",
    "combine",
    "evaluate",
    "judge",
    "measurement",
    "not_computable",
    "outcome_of_exception",
]

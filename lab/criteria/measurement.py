"""One measured value with its unit, limits, axis and verdict.

A ``Measurement`` is what a test records for each criterion it checks; it is produced by
``lab.criteria.evaluate`` (never assembled by hand in tests) and stored in the test's
record. It serialises to plain JSON and back::

    m = evaluate(profile.criteria["temperature"], 81.2, device_model="rngd")
    m.verdict, m.margin, m.reason      # (MARGINAL, 3.8, 'within 5% of maximum 85 °C')
    Measurement.from_dict(m.to_dict()) == m
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lab.criteria.jsonfields import DataFormatError, Fields, JsonValue
from lab.criteria.outcome import Outcome
from lab.inventory.model import Axis, Limits, Scalar

MeasuredValue = float | int | str | bool | None
"""What a measurement can hold: a number, a text (version strings), a flag, or nothing."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """A measured value and its verdict against the profile's limits.

    ``margin`` is the signed distance from the value to the nearest bound, in ``unit``:
    positive on the passing side, negative when the bound is missed. ``margin_relative`` is
    ``margin / |bound|`` (None when that bound is 0). Both are None for equality criteria,
    for criteria without bounds and when nothing usable was measured. ``reason`` is one
    human sentence saying why the verdict is what it is. ``evidence`` lists files (paths
    relative to the run directory) that back the value, e.g. a command transcript.
    """

    name: str
    value: MeasuredValue
    unit: str
    limits: Limits
    axis: Axis
    verdict: Outcome
    margin: float | None = None
    margin_relative: float | None = None
    reason: str = ""
    description: str = ""
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JsonValue]:
        """Plain JSON data (non-finite floats are written as JSON ``NaN``/``Infinity``)."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "limits": limits_to_dict(self.limits),
            "axis": self.axis.value,
            "verdict": self.verdict.value,
            "margin": self.margin,
            "margin_relative": self.margin_relative,
            "reason": self.reason,
            "description": self.description,
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str = "measurement") -> Measurement:
        """The measurement ``to_dict`` wrote; ``DataFormatError`` names a bad field."""
        fields = Fields(data, where=where)
        name = fields.text("name")
        fields = Fields(data, where=f"{where} {name!r}")
        value = fields.raw("value", None)
        if not _is_measured_value(value):
            raise DataFormatError(f"{fields.where}: field 'value' must be a number, text, boolean or null")
        limits = fields.sub("limits")
        return cls(
            name=name,
            value=value,  # type: ignore[arg-type]  # checked by _is_measured_value
            unit=fields.text("unit", ""),
            limits=limits_from_fields(limits) if limits is not None else Limits(),
            axis=_axis(fields.text("axis"), fields.where),
            verdict=_outcome(fields.text("verdict"), fields.where),
            margin=fields.optional_number("margin"),
            margin_relative=fields.optional_number("margin_relative"),
            reason=fields.text("reason", ""),
            description=fields.text("description", ""),
            evidence=fields.texts("evidence"),
        )

    def __eq__(self, other: object) -> bool:
        # NaN != NaN would make a NaN reading unequal to its own round trip.
        if not isinstance(other, Measurement):
            return NotImplemented
        return _comparable(self) == _comparable(other)

    def __hash__(self) -> int:
        return hash(_comparable(self))


def limits_to_dict(limits: Limits) -> dict[str, JsonValue]:
    return {
        "minimum": limits.minimum,
        "maximum": limits.maximum,
        "expected": limits.expected,
        "marginal": limits.marginal,
    }


def limits_from_fields(fields: Fields) -> Limits:
    expected = fields.raw("expected", None)
    if not _is_measured_value(expected):
        raise DataFormatError(f"{fields.where}: field 'expected' must be a number, text, boolean or null")
    scalar: Scalar = expected  # type: ignore[assignment]  # checked just above
    return Limits(
        minimum=fields.optional_number("minimum"),
        maximum=fields.optional_number("maximum"),
        expected=scalar,
        marginal=fields.number("marginal", 0.0),
    )


def _is_measured_value(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _axis(text: str, where: str) -> Axis:
    try:
        return Axis(text)
    except ValueError:
        valid = ", ".join(item.value for item in Axis)
        raise DataFormatError(f"{where}: field 'axis' is {text!r}, expected one of {valid}") from None


def _outcome(text: str, where: str) -> Outcome:
    try:
        return Outcome(text)
    except ValueError:
        valid = ", ".join(item.value for item in Outcome)
        raise DataFormatError(f"{where}: field 'verdict' is {text!r}, expected one of {valid}") from None


def _nan_safe(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return "<NaN>"
    return (type(value) is bool, value)


def _comparable(m: Measurement) -> tuple[object, ...]:
    return (
        m.name,
        _nan_safe(m.value),
        m.unit,
        m.limits,
        m.axis,
        m.verdict,
        _nan_safe(m.margin),
        _nan_safe(m.margin_relative),
        m.reason,
        m.description,
        m.evidence,
    )

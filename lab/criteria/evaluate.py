"""Judging a measured value against a criterion's limits.

``evaluate(criterion, value, device_model)`` returns a ``Measurement`` with its verdict.
The rules, in order:

1. Nothing measured (``None``) → ERROR, "not measured": the lab failed to get a value,
   which is an infrastructure problem, never the device's fault.
2. Inconsistent limits in the profile (minimum > maximum, negative marginal fraction)
   → ERROR: a profile mistake is not the device's fault either.
3. Equality criterion (``limits.expected`` set, e.g. a pinned firmware version): the value
   must equal ``expected`` with the same kind (text vs text, number vs number, boolean vs
   boolean; ``1`` is not ``True`` and ``"1"`` is not ``1``) → else FAIL. No marginal band.
4. Range criterion (``minimum`` and/or ``maximum``): the value must be a finite number
   (else ERROR: a text, a boolean, NaN or ±infinity cannot be judged against a range, and
   such a reading means the tool or parser went wrong).
   ``value < minimum`` or ``value > maximum`` → FAIL.
   Otherwise, for each bound present, ``distance`` is how far the value sits inside it
   (``value - minimum``, ``maximum - value``) and ``band = marginal × |bound|``;
   ``distance < band`` for any bound → MARGINAL, else PASS.
5. No limit at all (no ``min``, ``max`` or ``expected`` for this device model) → SKIP,
   "no limit for sapeon-x220 in kcloud-npu-v1": a value nobody set a limit for certifies
   nothing, so it is never a PASS. Only a criterion the profile marks ``informational: true``
   records a value without limits as PASS ("recorded for information"), and a model the
   criterion lists under ``not_applicable`` is SKIP with the profile's reason.

Marginal examples (``marginal: 0.05``)::

    maximum 85 °C   band 4.25 °C:  80.75 → PASS,  80.76 → MARGINAL,  85.0 → MARGINAL,  85.01 → FAIL
    minimum 1000/s  band 50/s:     1050 → PASS,   1049.9 → MARGINAL, 1000 → MARGINAL,  999 → FAIL

The band is strict (``distance < band``), so ``marginal: 0`` means no band at all, and a
bound at 0 has no band either (its band is 0 × |0|): put a non-zero bound where a band matters.

``margin`` is the signed distance to the nearest bound (negative when missed) and
``margin_relative`` that distance divided by ``|bound|`` (None for a bound at 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from lab.criteria.measurement import MeasuredValue, Measurement
from lab.criteria.outcome import Outcome
from lab.inventory.model import Axis, Criterion, Limits

NO_LIMIT = "no limit: uncertified"
"""``judge``'s reason for a value without any limit (SKIP); ``evaluate`` names the model and profile."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict on one value, before it is wrapped into a ``Measurement``."""

    verdict: Outcome
    reason: str
    margin: float | None = None
    margin_relative: float | None = None


def evaluate(
    criterion: Criterion,
    value: MeasuredValue,
    device_model: str | None = None,
    *,
    evidence: Sequence[str] = (),
) -> Measurement:
    """Judge ``value`` against ``criterion``'s limits for ``device_model`` (a catalog key).

    >>> from lab.inventory.model import Axis, Criterion, Limits
    >>> temp = Criterion("temperature", Axis.STABILITY, "°C", "die temperature under load",
    ...                  Limits(maximum=85.0, marginal=0.05))
    >>> evaluate(temp, 70.0).verdict, evaluate(temp, 84.0).verdict, evaluate(temp, 90.0).verdict
    (<Outcome.PASS: 'PASS'>, <Outcome.MARGINAL: 'MARGINAL'>, <Outcome.FAIL: 'FAIL'>)
    """
    limits = criterion.limits_for(device_model)
    result = measurement(
        criterion.name,
        value,
        limits,
        unit=criterion.unit,
        axis=criterion.axis,
        description=criterion.description,
        evidence=evidence,
    )
    model = device_model or "this device"
    in_profile = f" in {criterion.profile}" if criterion.profile else ""
    if device_model is not None and device_model in criterion.not_applicable:
        why = criterion.not_applicable[device_model]
        return replace(result, verdict=Outcome.SKIP, reason=f"not applicable to {model}{in_profile}: {why}")
    if result.verdict is Outcome.SKIP and result.reason == NO_LIMIT:
        if criterion.informational:
            return replace(
                result, verdict=Outcome.PASS, reason="informational criterion: recorded, not judged"
            )
        return replace(result, reason=f"no limit for {model}{in_profile}: uncertified")
    return result


def measurement(
    name: str,
    value: MeasuredValue,
    limits: Limits,
    *,
    unit: str,
    axis: Axis,
    description: str = "",
    evidence: Sequence[str] = (),
) -> Measurement:
    """Like ``evaluate`` for limits that do not come from a profile ``Criterion``."""
    judgement = judge(value, limits, unit=unit)
    return Measurement(
        name=name,
        value=value,
        unit=unit,
        limits=limits,
        axis=axis,
        verdict=judgement.verdict,
        margin=judgement.margin,
        margin_relative=judgement.margin_relative,
        reason=judgement.reason,
        description=description,
        evidence=tuple(evidence),
    )


def not_computable(criterion: Criterion, why: str, device_model: str | None = None) -> Measurement:
    """A criterion that cannot be judged for this device: SKIP, with ``why`` as the reason.

    For figures that need data the device does not have (a null catalog peak, no board-power
    reading), so a report says "not computable" instead of showing 0 or a verdict::

        not_computable(profile.criteria["efficiency"], "lscpu reports no board power").verdict
        # Outcome.SKIP
    """
    return Measurement(
        name=criterion.name,
        value=None,
        unit=criterion.unit,
        limits=criterion.limits_for(device_model),
        axis=criterion.axis,
        verdict=Outcome.SKIP,
        reason=f"not computable: {why}",
        description=criterion.description,
    )


def judge(value: MeasuredValue, limits: Limits, *, unit: str = "") -> Judgement:
    """The verdict on ``value`` under ``limits`` (the rules in the module docstring)."""
    if value is None:
        return Judgement(Outcome.ERROR, "not measured")
    problem = _limits_problem(limits)
    if problem:
        return Judgement(Outcome.ERROR, f"profile limits are inconsistent: {problem}")
    if limits.expected is not None and not _same(value, limits.expected):
        return Judgement(Outcome.FAIL, f"expected {_show(limits.expected)}, measured {_show(value)}")
    if limits.minimum is None and limits.maximum is None:
        if limits.expected is not None:
            return Judgement(Outcome.PASS, f"as expected ({_show(value)})")
        return Judgement(Outcome.SKIP, NO_LIMIT)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Judgement(Outcome.ERROR, f"expected a number, measured {_show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range is no sensible reading either
        number = math.inf
    if not math.isfinite(number):
        return Judgement(Outcome.ERROR, f"not a finite number ({number})")
    return _judge_range(number, limits, unit)


def _judge_range(value: float, limits: Limits, unit: str) -> Judgement:
    # (distance inside the bound, the bound, its name); distance < 0 means the bound is missed
    sides: list[tuple[float, float, str]] = []
    if limits.minimum is not None:
        sides.append((value - limits.minimum, limits.minimum, "minimum"))
    if limits.maximum is not None:
        sides.append((limits.maximum - value, limits.maximum, "maximum"))
    distance, bound, side = min(sides, key=lambda item: item[0])
    relative = distance / abs(bound) if bound != 0 else None

    if limits.minimum is not None and value < limits.minimum:
        return Judgement(
            Outcome.FAIL,
            f"below minimum {_amount(limits.minimum, unit)} by {_amount(limits.minimum - value, unit)}",
            distance,
            relative,
        )
    if limits.maximum is not None and value > limits.maximum:
        return Judgement(
            Outcome.FAIL,
            f"above maximum {_amount(limits.maximum, unit)} by {_amount(value - limits.maximum, unit)}",
            distance,
            relative,
        )
    for inside, edge, name in sides:
        if inside < limits.marginal * abs(edge):
            return Judgement(
                Outcome.MARGINAL,
                f"within the {limits.marginal * 100:g}% marginal band of {name} {_amount(edge, unit)}"
                f" ({_amount(inside, unit)} to spare)",
                distance,
                relative,
            )
    return Judgement(
        Outcome.PASS, f"within limits ({_amount(distance, unit)} to spare from {side})", distance, relative
    )


def _limits_problem(limits: Limits) -> str:
    for name, bound in (("minimum", limits.minimum), ("maximum", limits.maximum)):
        if bound is not None and not math.isfinite(bound):
            return f"{name} {bound} is not a finite number"
    if limits.minimum is not None and limits.maximum is not None and limits.minimum > limits.maximum:
        return f"minimum {limits.minimum:g} > maximum {limits.maximum:g}"
    if not math.isfinite(limits.marginal) or limits.marginal < 0:
        return f"marginal fraction {limits.marginal} must be a number >= 0"
    return ""


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "text"


def _same(value: MeasuredValue, expected: MeasuredValue) -> bool:
    return _kind(value) == _kind(expected) and value == expected


def _show(value: MeasuredValue) -> str:
    if isinstance(value, str):
        return f"text {value!r}" if not value.strip() else repr(value)
    if isinstance(value, bool):
        return f"boolean {value}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _amount(number: float, unit: str) -> str:
    text = f"{number:.6g}"
    return f"{text} {unit}" if unit else text

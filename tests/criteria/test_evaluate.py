"""Judging values against limits: the documented examples and property-based rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lab.criteria import Outcome, evaluate, judge
from lab.inventory.model import Axis, Criterion, Limits

TEMPERATURE = Criterion(
    "temperature", Axis.STABILITY, "°C", "die temperature", Limits(maximum=85.0, marginal=0.05)
)
THROUGHPUT = Criterion(
    "throughput", Axis.PERFORMANCE, "samples/s", "offline", Limits(minimum=1000.0, marginal=0.05)
)


@pytest.mark.parametrize(
    ("value", "verdict"),
    [(80.75, Outcome.PASS), (80.76, Outcome.MARGINAL), (85.0, Outcome.MARGINAL), (85.01, Outcome.FAIL)],
)
def test_documented_maximum_examples(value: float, verdict: Outcome) -> None:
    assert evaluate(TEMPERATURE, value).verdict is verdict


@pytest.mark.parametrize(
    ("value", "verdict"),
    [(1050.0, Outcome.PASS), (1049.9, Outcome.MARGINAL), (1000, Outcome.MARGINAL), (999, Outcome.FAIL)],
)
def test_documented_minimum_examples(value: float, verdict: Outcome) -> None:
    assert evaluate(THROUGHPUT, value).verdict is verdict


def test_measurement_carries_criterion_data_and_signed_margin() -> None:
    m = evaluate(TEMPERATURE, 90.0, evidence=["evidence/t/nvidia-smi.txt"])
    assert (m.name, m.unit, m.axis, m.description) == ("temperature", "°C", Axis.STABILITY, "die temperature")
    assert m.limits == Limits(maximum=85.0, marginal=0.05)
    assert m.margin == pytest.approx(-5.0)
    assert m.margin_relative == pytest.approx(-5.0 / 85.0)
    assert m.evidence == ("evidence/t/nvidia-smi.txt",)
    assert "above maximum 85 °C by 5 °C" in m.reason


def test_margin_is_to_the_nearest_bound() -> None:
    window = Limits(minimum=10.0, maximum=20.0)
    assert judge(12.0, window).margin == pytest.approx(2.0)
    assert judge(19.0, window).margin == pytest.approx(1.0)
    assert judge(25.0, window).margin == pytest.approx(-5.0)


def test_device_specific_limits_win_over_the_default() -> None:
    criterion = Criterion(
        "memory",
        Axis.COMPATIBILITY,
        "GiB",
        "memory capacity",
        Limits(minimum=16.0),
        by_device={"rngd": Limits(minimum=48.0)},
    )
    assert evaluate(criterion, 20.0, "warboy").verdict is Outcome.PASS
    assert evaluate(criterion, 20.0, "rngd").verdict is Outcome.FAIL
    assert evaluate(criterion, 20.0, "rngd").limits.minimum == 48.0


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, 10**400, "48.2", True])
def test_unjudgeable_readings_are_errors_not_failures(value: object) -> None:
    m = evaluate(TEMPERATURE, value)  # type: ignore[arg-type]
    assert m.verdict is Outcome.ERROR
    assert m.margin is None


def test_missing_value_says_not_measured() -> None:
    assert evaluate(TEMPERATURE, None).reason == "not measured"


@pytest.mark.parametrize(
    "limits",
    [Limits(minimum=5.0, maximum=1.0), Limits(maximum=1.0, marginal=-0.1), Limits(minimum=math.nan)],
)
def test_inconsistent_profile_limits_are_errors(limits: Limits) -> None:
    judgement = judge(3.0, limits)
    assert judgement.verdict is Outcome.ERROR
    assert "profile limits are inconsistent" in judgement.reason


@pytest.mark.parametrize(
    ("value", "expected", "verdict"),
    [
        ("1.2.3", "1.2.3", Outcome.PASS),
        ("1.2.4", "1.2.3", Outcome.FAIL),
        ("1.2.3 ", "1.2.3", Outcome.FAIL),
        (True, True, Outcome.PASS),
        (1, True, Outcome.FAIL),
        ("5", 5, Outcome.FAIL),
        (5, 5.0, Outcome.PASS),
        (False, True, Outcome.FAIL),
    ],
)
def test_equality_criteria(value: object, expected: object, verdict: Outcome) -> None:
    judgement = judge(value, Limits(expected=expected, marginal=0.5))  # type: ignore[arg-type]
    assert judgement.verdict is verdict
    assert judgement.margin is None


def test_equality_mismatch_names_both_values() -> None:
    reason = judge("550.54", Limits(expected="550.90.07")).reason
    assert reason == "expected '550.90.07', measured '550.54'"


def test_expected_and_range_both_apply() -> None:
    limits = Limits(minimum=4.0, expected=5)
    assert judge(5, limits).verdict is Outcome.PASS
    assert judge(6, limits).verdict is Outcome.FAIL


def test_no_limit_is_not_a_pass() -> None:
    judgement = judge(42.0, Limits(marginal=0.05))
    assert judgement.verdict is Outcome.SKIP
    assert judgement.margin is None


# memory-capacity as kcloud-npu-v1 writes it: limits per model, none for Sapeon (unpublished)
MEMORY = Criterion(
    "memory-capacity",
    Axis.COMPATIBILITY,
    "GiB",
    "device memory",
    Limits(marginal=0.005),
    {"rngd": Limits(minimum=46.0, marginal=0.005)},
    profile="kcloud-npu-v1",
    not_applicable={"cpu-x86-64": "host memory, not device memory"},
)


def test_a_model_without_a_limit_is_skip_naming_model_and_profile() -> None:
    tiny = evaluate(MEMORY, 0.1, "sapeon-x220")  # 0.1 GiB passed "for information" before
    assert tiny.verdict is Outcome.SKIP
    assert tiny.reason == "no limit for sapeon-x220 in kcloud-npu-v1: uncertified"
    assert tiny.value == 0.1  # what was measured is still recorded
    assert evaluate(MEMORY, 0.1, "rngd").verdict is Outcome.FAIL  # the limited model is still judged
    assert evaluate(MEMORY, None, "sapeon-x220").verdict is Outcome.ERROR  # not measured stays ERROR


def test_not_applicable_and_informational_are_explicit() -> None:
    skipped = evaluate(MEMORY, 64.0, "cpu-x86-64")
    assert skipped.verdict is Outcome.SKIP
    assert skipped.reason == "not applicable to cpu-x86-64 in kcloud-npu-v1: host memory, not device memory"
    info = Criterion("fan-speed", Axis.STABILITY, "rpm", "", Limits(), informational=True)
    assert evaluate(info, 3000.0, "rngd").verdict is Outcome.PASS
    assert evaluate(info, 3000.0, "rngd").reason == "informational criterion: recorded, not judged"


def test_zero_bound_has_no_marginal_band() -> None:
    limits = Limits(maximum=0.0, marginal=0.5)
    assert judge(0.0, limits).verdict is Outcome.PASS
    assert judge(0.0, limits).margin_relative is None
    assert judge(1.0, limits).verdict is Outcome.FAIL


# --- properties ------------------------------------------------------------------------

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
fraction = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def range_limits(draw: st.DrawFn) -> Limits:
    low = draw(st.none() | finite)
    high = draw(st.none() | finite)
    assume(low is not None or high is not None)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return Limits(minimum=low, maximum=high, marginal=draw(fraction))


@given(finite, range_limits())
def test_fail_exactly_when_outside_the_range(value: float, limits: Limits) -> None:
    outside = (limits.minimum is not None and value < limits.minimum) or (
        limits.maximum is not None and value > limits.maximum
    )
    verdict = judge(value, limits).verdict
    assert (verdict is Outcome.FAIL) == outside
    assert verdict in (Outcome.PASS, Outcome.MARGINAL, Outcome.FAIL)


@given(finite, range_limits())
def test_margin_sign_matches_verdict(value: float, limits: Limits) -> None:
    judgement = judge(value, limits)
    assert judgement.margin is not None
    if judgement.verdict is Outcome.FAIL:
        assert judgement.margin < 0
    else:
        assert judgement.margin >= 0


@given(finite, range_limits())
def test_marginal_only_within_the_band_of_some_bound(value: float, limits: Limits) -> None:
    verdict = judge(value, limits).verdict
    assume(verdict is not Outcome.FAIL)
    bands = []
    if limits.minimum is not None:
        bands.append(value - limits.minimum < limits.marginal * abs(limits.minimum))
    if limits.maximum is not None:
        bands.append(limits.maximum - value < limits.marginal * abs(limits.maximum))
    assert (verdict is Outcome.MARGINAL) == any(bands)


@given(finite, range_limits())
def test_no_band_means_never_marginal(value: float, limits: Limits) -> None:
    strict = Limits(minimum=limits.minimum, maximum=limits.maximum, marginal=0.0)
    assert judge(value, strict).verdict is not Outcome.MARGINAL


@given(finite, range_limits(), fraction)
def test_a_wider_band_never_improves_the_verdict(value: float, limits: Limits, extra: float) -> None:
    wider = Limits(minimum=limits.minimum, maximum=limits.maximum, marginal=limits.marginal + extra)
    assert judge(value, wider).verdict.severity >= judge(value, limits).verdict.severity


@given(st.integers(min_value=-(10**6), max_value=10**6), range_limits())
def test_integers_are_judged_like_floats(value: int, limits: Limits) -> None:
    assert judge(value, limits).verdict is judge(float(value), limits).verdict


@given(st.text(), st.text())
def test_text_equality_is_exact(value: str, expected: str) -> None:
    assume(expected != "")
    verdict = judge(value, Limits(expected=expected)).verdict
    assert (verdict is Outcome.PASS) == (value == expected)

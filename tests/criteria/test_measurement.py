"""Measurements survive a JSON round trip exactly, and bad stored data is a clear error."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.criteria import DataFormatError, Measurement, Outcome, judge, measurement
from lab.inventory.model import Axis, Limits

values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats()  # NaN and ±infinity included: they must survive too
    | st.text()
)
limits = st.builds(
    Limits,
    minimum=st.none() | st.floats(allow_nan=False),
    maximum=st.none() | st.floats(allow_nan=False),
    expected=st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=20),
    marginal=st.floats(min_value=0, max_value=1),
)


@given(
    st.text(min_size=1),
    values,
    st.text(),
    limits,
    st.sampled_from(list(Axis)),
    st.lists(st.text(), max_size=3),
)
def test_json_round_trip(
    name: str, value: object, unit: str, lim: Limits, axis: Axis, evidence: list[str]
) -> None:
    original = measurement(name, value, lim, unit=unit, axis=axis, description="d", evidence=evidence)  # type: ignore[arg-type]
    text = json.dumps(original.to_dict())
    restored = Measurement.from_dict(json.loads(text))
    assert restored == original
    assert type(restored.value) is type(original.value)  # True must not come back as 1


def test_nan_reading_equals_its_round_trip_but_not_another_value() -> None:
    nan = measurement("t", math.nan, Limits(maximum=1.0), unit="", axis=Axis.STABILITY)
    assert Measurement.from_dict(json.loads(json.dumps(nan.to_dict()))) == nan
    other = measurement("t", 0.5, Limits(maximum=1.0), unit="", axis=Axis.STABILITY)
    assert nan != other


def test_true_and_one_are_different_values() -> None:
    flag = measurement("ecc", True, Limits(expected=True), unit="", axis=Axis.STABILITY)
    one = measurement("ecc", 1, Limits(expected=True), unit="", axis=Axis.STABILITY)
    assert flag != one


def _stored() -> dict[str, object]:
    m = measurement("pcie_gen", 4, Limits(minimum=5), unit="", axis=Axis.COMPATIBILITY)
    assert m.verdict is Outcome.FAIL
    return m.to_dict()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"axis": "speed"}, "field 'axis' is 'speed', expected one of compatibility"),
        ({"verdict": "BROKEN"}, "field 'verdict' is 'BROKEN'"),
        ({"value": [1, 2]}, "field 'value' must be a number, text, boolean or null"),
        ({"margin": "big"}, "field 'margin' must be a number or null"),
        ({"limits": {"minimum": "five"}}, "limits: field 'minimum' must be a number or null"),
        ({"evidence": "file.txt"}, "field 'evidence' must be a list of text"),
    ],
)
def test_bad_stored_fields_are_named(change: dict[str, object], message: str) -> None:
    data = {**_stored(), **change}
    with pytest.raises(DataFormatError, match="pcie_gen") as caught:
        Measurement.from_dict(data, where="records-gw0.jsonl:3")
    assert message in str(caught.value)
    assert str(caught.value).startswith("records-gw0.jsonl:3")


def test_missing_name_and_non_object_are_clear_errors() -> None:
    with pytest.raises(DataFormatError, match="missing field 'name'"):
        Measurement.from_dict({"value": 1})
    with pytest.raises(DataFormatError, match="expected a JSON object, got a list"):
        Measurement.from_dict([1, 2])


def test_judge_and_measurement_agree() -> None:
    m = measurement("t", 84.0, Limits(maximum=85.0, marginal=0.05), unit="°C", axis=Axis.STABILITY)
    j = judge(84.0, Limits(maximum=85.0, marginal=0.05), unit="°C")
    assert (
        (m.verdict, m.margin, m.reason)
        == (j.verdict, j.margin, j.reason)
        == (
            Outcome.MARGINAL,
            1.0,
            "within the 5% marginal band of maximum 85 °C (1 °C to spare)",
        )
    )

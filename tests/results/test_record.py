"""TestRecord: exact JSON round trip with every field type, and clear errors on bad data."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from lab.criteria import DataFormatError, Outcome, measurement
from lab.errors import CommandTimeout
from lab.inventory.model import Axis, Limits
from lab.results import ErrorInfo, TestRecord

START = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


def full_record() -> TestRecord:
    return TestRecord(
        test_id="testsuites/functional/test_pcie.py::test_link[kt-rbln-07:rbln2]",
        outcome=Outcome.ERROR,
        node="kt-rbln-07",
        device="rbln2",
        axis=Axis.COMPATIBILITY,
        measurements=(
            measurement("pcie_gen", 4, Limits(minimum=5), unit="", axis=Axis.COMPATIBILITY),
            measurement("firmware", "1.2.3", Limits(expected="1.2.3"), unit="", axis=Axis.COMPATIBILITY),
            measurement("ecc", True, Limits(expected=True), unit="", axis=Axis.STABILITY),
            measurement(
                "temp", math.nan, Limits(maximum=85.0, marginal=0.05), unit="°C", axis=Axis.STABILITY
            ),
            measurement("power", None, Limits(maximum=350.0), unit="W", axis=Axis.PERFORMANCE),
            measurement(
                "tops", 512.25, Limits(minimum=500.0, marginal=0.1), unit="TOPS", axis=Axis.PERFORMANCE
            ),
        ),
        started=START,
        finished=START + timedelta(seconds=1.5),
        duration=1.5,
        error=ErrorInfo("lab.errors.CommandTimeout", "kt-rbln-07: rbln-smi ran past 30 s", "stdout tail\n…"),
        reason="",
        evidence=("evidence/x/transcript.txt", "evidence/x/rbln-smi.json"),
        worker="gw3",
        properties={
            "trust_mode": "strict",
            "host_key": "SHA256:abc",
            "versions": {"driver": "1.2.3", "firmware": ["a", "b"], "count": 4, "ok": True, "none": None},
        },
    )


def test_round_trip_with_every_field_type() -> None:
    original = full_record()
    text = json.dumps(original.to_dict(), ensure_ascii=False)
    restored = TestRecord.from_dict(json.loads(text))
    assert restored == original
    assert restored.started == START and restored.started.tzinfo is not None
    assert restored.measurements[2].value is True
    assert restored.properties["versions"] == {
        "driver": "1.2.3",
        "firmware": ["a", "b"],
        "count": 4,
        "ok": True,
        "none": None,
    }


def test_minimal_record_round_trip_and_defaults() -> None:
    record = TestRecord(test_id="t.py::test_a", outcome=Outcome.INCOMPLETE)
    assert TestRecord.from_dict(record.to_dict()) == record
    assert (record.started, record.error, record.measurements, record.worker) == (None, None, (), "main")


def test_non_utc_offsets_are_kept_as_the_same_instant() -> None:
    seoul = timezone(timedelta(hours=9))
    record = TestRecord(test_id="t", outcome=Outcome.PASS, started=START.astimezone(seoul))
    data = record.to_dict()
    assert data["started"] == "2026-11-25T12:00:00.123456+00:00"
    assert TestRecord.from_dict(data).started == START


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TestRecord(test_id="t", outcome=Outcome.PASS, started=datetime(2026, 1, 1))


def test_properties_are_read_only() -> None:
    record = TestRecord(test_id="t", outcome=Outcome.PASS, properties={"a": 1})
    with pytest.raises(TypeError):
        record.properties["a"] = 2  # type: ignore[index]


def test_axes_union_of_test_and_measurements() -> None:
    assert full_record().axes == {Axis.COMPATIBILITY, Axis.STABILITY, Axis.PERFORMANCE}
    assert TestRecord(test_id="t", outcome=Outcome.SKIP).axes == frozenset()


def test_unknown_keys_from_newer_writers_are_ignored() -> None:
    data = {**full_record().to_dict(), "signature": "abc", "schema": 2}
    assert TestRecord.from_dict(data) == full_record()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome": "BROKEN"}, "field 'outcome' is 'BROKEN'"),
        ({"started": "yesterday"}, "field 'started' is not an ISO 8601 timestamp"),
        ({"started": "2026-11-25T12:00:00"}, "field 'started' has no time zone"),
        ({"duration": -1}, "field 'duration' must be a number >= 0"),
        ({"error": {"message": "no type"}}, "missing field 'type'"),
        ({"measurements": [{"name": "m", "axis": "speed", "verdict": "PASS"}]}, "measurements[0]"),
        ({"properties": [1]}, "field 'properties' must be an object"),
    ],
)
def test_bad_fields_raise_data_format_error_naming_the_record(
    change: dict[str, object], message: str
) -> None:
    data = {**full_record().to_dict(), **change}
    with pytest.raises(DataFormatError) as caught:
        TestRecord.from_dict(data, where="records-gw3.jsonl:7")
    assert message in str(caught.value)
    assert "records-gw3.jsonl:7 (testsuites/functional/test_pcie.py::test_link[kt-rbln-07:rbln2])" in str(
        caught.value
    )


def test_error_info_from_exception_names_the_class() -> None:
    info = ErrorInfo.from_exception(CommandTimeout("ran past 30 s", node="n1"))
    assert (info.type, info.message) == ("lab.errors.CommandTimeout", "n1: ran past 30 s")
    assert str(ErrorInfo.from_exception(KeyError("x"))) == "KeyError: 'x'"

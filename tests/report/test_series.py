"""The series evidence format: round trips, crash tolerance of the JSON-lines variant, strict reading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lab.criteria import DataFormatError
from lab.results.series import (
    SERIES_FORMAT,
    Series,
    SeriesAppender,
    Violation,
    is_series_path,
    read_series,
    with_violation,
    write_series,
)

TEST_ID = "testsuites/stability/test_soak.py::test_power[n1:npu0]"


def test_written_series_reads_back_equal_and_is_referenced_by_its_ending(tmp_path: Path) -> None:
    series = Series(
        "전력 power", "W", t=(0.0, 1.0, 2.0), values=(150.0, 151.5, 149.0), minimum=100.0, maximum=400.0
    )
    path = write_series(tmp_path, TEST_ID, series)
    assert path.startswith("evidence/") and path.endswith(".series.json") and is_series_path(path)
    assert read_series(tmp_path / path) == series


def test_first_violation_is_found_from_the_limits_when_not_stored() -> None:
    series = Series(
        "temperature", "°C", t=(0.0, 10.0, 20.0, 30.0), values=(80.0, 86.0, 90.0, 84.0), maximum=85.0
    )
    violation = series.violation()
    assert violation == Violation(10.0, 86.0, "86 °C above maximum 85 °C")
    assert with_violation(series).first_violation == violation
    below = Series("throughput", "/s", t=(0.0, 5.0), values=(1000.0, 900.0), minimum=950.0)
    assert below.violation() is not None and below.violation().t == 5.0  # type: ignore[union-attr]
    assert Series("x", "", t=(0.0,), values=(1.0,), maximum=2.0).violation() is None


def test_appended_series_survives_a_torn_last_line(tmp_path: Path) -> None:
    with SeriesAppender.create(tmp_path, TEST_ID, "power", unit="W", maximum=160.0, sync_every=2) as soak:
        for second in range(5):
            soak.append(float(second), 150.0 + second * 3)
        relative = soak.relative
    file = tmp_path / relative
    with file.open("ab") as stream:  # the writer was killed in the middle of a line
        stream.write(b'{"t": 5.0, "v": 16')
    series = read_series(file)
    assert series.values == (150.0, 153.0, 156.0, 159.0, 162.0)
    assert series.t == (0.0, 1.0, 2.0, 3.0, 4.0)
    assert series.violation() == Violation(4.0, 162.0, "162 W above maximum 160 W")


def test_appender_refuses_non_finite_samples_and_an_existing_series(tmp_path: Path) -> None:
    with (
        SeriesAppender.create(tmp_path, TEST_ID, "power", unit="W") as soak,
        pytest.raises(ValueError, match="finite"),
    ):
        soak.append(1.0, float("nan"))
    with pytest.raises(FileExistsError):
        SeriesAppender.create(tmp_path, TEST_ID, "power", unit="W")


def test_a_bad_line_in_the_middle_is_an_error_not_silently_dropped(tmp_path: Path) -> None:
    file = tmp_path / "x.series.jsonl"
    header = json.dumps({"format": SERIES_FORMAT, "name": "p", "unit": "W"})
    file.write_text(f'{header}\n{{"t": 0, "v": 1}}\nnot json\n{{"t": 2, "v": 3}}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"x.series.jsonl:3: bad sample line"):
        read_series(file)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"format": "other/9", "name": "a"}), "format is 'other/9'"),
        (
            json.dumps({"format": SERIES_FORMAT, "name": "a", "t": [0, 1], "values": [1]}),
            "2 times but 1 values",
        ),
        (
            json.dumps({"format": SERIES_FORMAT, "name": "a", "t": [0], "values": ["hot"]}),
            r"values\[0\] must be",
        ),
        (json.dumps({"format": SERIES_FORMAT, "name": "a", "kind": "pie", "values": []}), "field 'kind'"),
        (json.dumps({"format": SERIES_FORMAT, "values": []}), "missing field 'name'"),
        (
            json.dumps({"format": SERIES_FORMAT, "name": "a", "t": [], "values": [], "limits": {"max": "9"}}),
            "'max'",
        ),
    ],
)
def test_malformed_series_files_raise_data_format_errors(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "bad.series.json"
    file.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        read_series(file)


def test_missing_and_unreadable_files_are_data_format_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such series file"):
        read_series(tmp_path / "none.series.json")
    binary = tmp_path / "b.series.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataFormatError, match="unreadable"):
        read_series(binary)
    empty = tmp_path / "e.series.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataFormatError, match="no header"):
        read_series(empty)
    if os.geteuid() != 0:  # root reads anything: the permission case only means something otherwise
        locked = tmp_path / "l.series.json"
        locked.write_text("{}", encoding="utf-8")
        locked.chmod(0)
        with pytest.raises(DataFormatError):
            read_series(locked)


def test_samples_series_needs_no_times(tmp_path: Path) -> None:
    series = Series("latency", "ms", values=(1.0, 2.0, 3.5), kind="samples", maximum=15.0)
    assert read_series(tmp_path / write_series(tmp_path, None, series)) == series


def _lines_file(tmp_path: Path, samples: list[str], *, name: str = "s.series.jsonl") -> Path:
    file = tmp_path / name
    header = json.dumps({"format": SERIES_FORMAT, "name": "power", "unit": "W", "limits": {"max": 200}})
    file.write_text("\n".join([header, *samples]) + "\n", encoding="utf-8")
    return file


def test_long_soak_files_read_the_same_with_or_without_a_torn_tail(tmp_path: Path) -> None:
    samples = [json.dumps({"t": i * 1.0, "v": 150.0 + (i % 50)}) for i in range(20_000)]
    whole = read_series(_lines_file(tmp_path, samples, name="a.series.jsonl"))
    torn_file = _lines_file(tmp_path, samples, name="b.series.jsonl")
    with torn_file.open("a", encoding="utf-8") as stream:
        stream.write('{"t": 20000.0, "v"')  # forces the line-by-line reader
    torn = read_series(torn_file)
    assert whole.values == torn.values and whole.t == torn.t and len(whole.values) == 20_000
    assert whole.values[49] == 199.0 and whole.violation() is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"t": 1, "v": 2}, {"t": 2, "v": 3}', "bad sample line"),
        ('{"t": 1, "v": NaN}', "must be finite"),
        ('{"t": true, "v": 2}', "field 't' must be a number"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_sample_lines_are_named(tmp_path: Path, bad: str, message: str) -> None:
    file = _lines_file(tmp_path, ['{"t": 0, "v": 1}', bad, '{"t": 3, "v": 4}'])
    with pytest.raises(DataFormatError, match=message):
        read_series(file)


def test_non_finite_values_are_refused_when_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        write_series(tmp_path, TEST_ID, Series("p", "W", t=(0.0, 1.0), values=(1.0, float("inf"))))
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").rglob("*.series.json"))

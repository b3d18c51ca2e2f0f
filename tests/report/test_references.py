"""Published reference figures beside ours: only numeric references, paired by criterion name."""

from __future__ import annotations

from lab.criteria import Measurement, Outcome
from lab.inventory.model import Axis, Limits
from lab.report.references import reference_rows
from lab.results import TestRecord


def _m(name: str, value: object, unit: str = "s") -> Measurement:
    return Measurement(name, value, unit, Limits(), Axis.PERFORMANCE, Outcome.PASS)  # type: ignore[arg-type]


def test_rows_pair_our_measurement_with_the_published_figure() -> None:
    record = TestRecord(
        test_id="t.py::test_k[n1]", outcome=Outcome.PASS, node="n1",
        measurements=(_m("tt100t", 1.5), _m("tps", None, "tok/s"), _m("other", 3.0), _m("flag", True)),
        properties={"reference:tt100t": 1.2, "reference:tps": 73.02, "reference:flag": True,
                    "reference:other": "n/a", "reference_source": "their report"},
    )  # fmt: skip
    rows = {row.criterion: row for row in reference_rows([record])}
    assert set(rows) == {"tt100t", "tps"}  # text and boolean references are not figures
    assert (rows["tt100t"].ours, rows["tt100t"].theirs, rows["tt100t"].deviation) == ("1.5", "1.2", "+25.0 %")
    assert (rows["tps"].ours, rows["tps"].deviation, rows["tps"].source) == ("—", "", "their report")
    assert (
        reference_rows([TestRecord(test_id="x", outcome=Outcome.PASS, measurements=(_m("tt100t", 1.0),))])
        == ()
    )

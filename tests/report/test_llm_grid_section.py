"""The certificate's LLM grid table: one row per cell with its figures and limits, escaped.

A run written with the real results store holds four grid cells of one node (a PASS with only
recorded figures, a FAIL against the cell's own TPOT limit, a precision SKIP with its reason, an
ERROR whose message carries hostile text); the section lists each, never merges the cells into
one figure row, and the rendered page shows the limit beside the failing figure and escapes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from lab.criteria import Measurement, Outcome, combine, evaluate
from lab.inventory.model import Axis, Criterion, Limits
from lab.report.llm import llm_section
from lab.report.render import render_report
from lab.results import (
    CollectedTest,
    ErrorInfo,
    Manifest,
    ProfileRef,
    RunWriter,
    TestRecord,
    load_run,
    write_manifest,
)

XSS = "<script>alert(1)</script>"
TTFT = Criterion("llm-grid-ttft-p99", Axis.PERFORMANCE, "ms", "", Limits(), informational=True)
TPOT = Criterion("llm-grid-tpot-p99", Axis.PERFORMANCE, "ms", "", Limits(), informational=True)
TPOT_LONG = Criterion("llm-grid-tpot-p99.128x1024", Axis.PERFORMANCE, "ms", "", Limits(maximum=200.0))
TOKENS = Criterion(
    "llm-grid-tokens-per-second", Axis.PERFORMANCE, "tokens/s", "", Limits(), informational=True
)


def _test(cell: str) -> str:
    return f"testsuites/llm/test_llm_grid.py::test_llm_grid[{cell}-rngd-01]"


def _write(run_dir: Path) -> None:
    manifest = Manifest.start(
        run_id=run_dir.name, command_line=["pytest"], inventory_files=[], inventory_sha256="ab" * 32,
        profile=ProfileRef("kcloud-npu-v1", "1.0", "cd" * 32), selected_nodes=["rngd-01"],
        trust_mode="strict",
    )  # fmt: skip
    write_manifest(run_dir, manifest)
    passed = (evaluate(TTFT, 41.5), evaluate(TPOT, 11.2), evaluate(TOKENS, 310.0))
    failed = (evaluate(TTFT, 40.0), evaluate(TPOT_LONG, 250.0), evaluate(TOKENS, 15.0))
    not_served = "the node serves no int8 model: serving.models names bf16, fp8"
    cells = {
        "128x128-bf16": (Outcome.PASS, passed, None, ""),
        "128x1024-bf16": (Outcome.FAIL, failed, None, ""),
        "128x128-int8": (Outcome.SKIP, (), None, not_served),
        "1024x128-fp8": (Outcome.ERROR, (), ErrorInfo("InvalidRun", f"2 stream(s) cut {XSS}", ""), ""),
    }
    start = manifest.started
    with RunWriter(run_dir, worker="gw0") as writer:
        writer.collected([CollectedTest(_test(cell), node="rngd-01") for cell in cells])
        for cell, (outcome, measurements, error, reason) in cells.items():
            shape, precision = cell.split("-")
            writer.started(_test(cell), node="rngd-01")
            measured: tuple[Measurement, ...] = measurements
            writer.record(
                TestRecord(
                    test_id=_test(cell), outcome=outcome, node="rngd-01", axis=Axis.PERFORMANCE,
                    started=start, finished=start + timedelta(seconds=3), duration=3.0,
                    measurements=measured, error=error, reason=reason,
                    properties={
                        "llm_endpoint": "127.0.0.1:8000",
                        "llm_grid_cell": f"{shape.replace('x', '/')} {precision}",
                        "llm_grid_lengths": "8 words in / 64 tokens out (short run), 4 streams",
                    },
                )
            )  # fmt: skip
            assert combine([m.verdict for m in measured]) in (Outcome.PASS, Outcome.FAIL, Outcome.SKIP)
    write_manifest(run_dir, manifest.finish(exit_status=1))


def test_every_cell_is_a_row_with_its_figures_limits_and_verdict(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _write(run_dir)
    section = llm_section(load_run(run_dir).records, [])
    assert section is not None
    assert section.figures == ()  # the cells are not merged into one worst-of figure row
    rows = {row.cell: row for row in section.grid}
    assert set(rows) == {"128/128 bf16", "128/1024 bf16", "128/128 int8", "1024/128 fp8"}
    long = rows["128/1024 bf16"]
    assert long.verdict is Outcome.FAIL
    assert (long.figures[1].value, long.figures[1].limit, long.figures[1].verdict) == (
        "250",
        "≤ 200",
        Outcome.FAIL,
    )
    assert rows["128/128 bf16"].figures[0].limit == ""  # recorded only: the profile gives the cell none
    assert "serves no int8 model" in rows["128/128 int8"].note
    assert rows["1024/128 fp8"].verdict is Outcome.ERROR and "cut" in rows["1024/128 fp8"].note


def test_the_grid_table_is_rendered_escaped_with_its_limits(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _write(run_dir)
    page = render_report(run_dir, lang="en")
    assert "Grid of input/output lengths × precisions" in page
    assert "128/1024 bf16" in page and "(≤ 200)" in page and "(recorded)" in page
    assert "serves no int8 model" in page
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page

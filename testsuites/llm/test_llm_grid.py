"""LLM serving across the profile's grid (성능): input/output lengths × precisions, one LoadGen run per cell.

Each cell (``lab.llm.grid``) is its own test, ``test_llm_grid[NODE-128x1024-fp8]``: an Offline
run at ``llm_grid_concurrency`` streams of prompts of the cell's input length, each asked for
exactly the cell's output length (``ignore_eos``), against the model ``serving.models`` names
for the cell's precision (or ``serving.model`` where its endpoint reports that precision). It
gives p99 TTFT and p99 TPOT (the agent's client, timed per token on the node, at that
concurrency) and output tokens/s (LoadGen), judged by the cell's own criteria where the profile
has them (``llm-grid-tpot-p99.128x1024``) and otherwise recorded (``llm-grid-*``, informational).
A precision the node does not serve is SKIP with the reason; an endpoint that stops at EOS,
cuts a stream or reports another precision than the inventory declares is ERROR (the cell's
figures would not be of the shape or precision asked for). A short run
(``--lab-perf-duration``) divides the lengths by ``llm_grid_short_scale``, said in the record.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from lab.criteria import Measurement, Outcome, evaluate
from lab.errors import CriterionFailed
from lab.llm.grid import (
    GridCell,
    cell_criterion,
    grid_cells,
    grid_concurrency,
    grid_prompt,
    model_for,
    short_duration_s,
)
from lab.llm.session import LlmFigures, LlmSession
from lab.performance.validity import InvalidRun
from lab.pytest_plugin.figure_runs import RULE_RUNS_KEY
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, CriteriaView
from lab.pytest_plugin.session import LabSession

TTFT, TPOT, TOKENS = "llm-grid-ttft-p99", "llm-grid-tpot-p99", "llm-grid-tokens-per-second"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per cell of the selected nodes' profiles' grids (a node whose profile lacks a
    cell SKIPs it, saying so)."""
    if "grid_cell" not in metafunc.fixturenames:
        return
    session = LabSession.of(metafunc.config)
    cells: dict[str, GridCell] = {}
    for node in session.nodes:
        for cell in grid_cells(session.profile_for(node).settings):
            cells.setdefault(cell.id, cell)
    metafunc.parametrize("grid_cell", list(cells.values()), ids=list(cells))


_ENTRIES: dict[tuple[str, str, str], Mapping[str, object]] = {}
"""GET /v1/models entries per endpoint and model, asked once per test session (xdist keeps a
node's tests in one process)."""


def _entry(request: pytest.FixtureRequest, llm: LlmSession, model: str) -> Mapping[str, object]:
    key = (str(request.config.rootpath), llm.serving.address, model)
    if key not in _ENTRIES:
        _ENTRIES[key] = llm.endpoint_entry(model)
    return _ENTRIES[key]


def test_llm_grid(
    request: pytest.FixtureRequest, llm: LlmSession, criteria: CriteriaView, grid_cell: GridCell
) -> None:
    """p99 TTFT, p99 TPOT and output tokens/s of one grid cell, within the cell's limits where given."""
    settings = criteria.profile.settings
    if grid_cell not in grid_cells(settings):
        pytest.skip(f"profile {criteria.profile.name} has no grid cell {grid_cell.id}")
    cell = model_for(llm.serving, grid_cell.precision, lambda model: _entry(request, llm, model))
    record = request.node.user_properties.append
    record(("llm_grid_cell", f"{grid_cell.input_tokens}/{grid_cell.output_tokens} {grid_cell.precision}"))
    if cell.problem is not None:
        raise InvalidRun(cell.problem)
    if cell.skip is not None or cell.model is None:
        record(("llm_grid_skip", cell.skip))
        pytest.skip(str(cell.skip))
    names = [cell_criterion(criteria.profile.criteria, base, grid_cell) for base in (TTFT, TPOT, TOKENS)]
    why_not = [criteria[name].not_applicable.get(criteria.model or "") for name in names]
    if all(why_not):  # nothing of the cell would be judged or recorded: no run
        pytest.skip(f"not applicable to {criteria.model}: {why_not[0]}")
    duration = LabSession.of(request.config).options.perf_duration
    short = duration is not None
    words, tokens = grid_cell.run_lengths(short, settings)
    extra: dict[str, object] = {"model": cell.model, "max_tokens": tokens, "ignore_eos": True}
    if duration is not None:
        extra["min_duration_s"] = short_duration_s(settings, duration)
    concurrency = grid_concurrency(settings)
    record(("llm_grid_model", cell.said))
    record(
        (
            "llm_grid_lengths",
            f"{words} words in / {tokens} tokens out"
            + (f" (short run: {grid_cell.shape} scaled down)" if short else "")
            + f", {concurrency} streams",
        )
    )
    figures = llm.offline(
        # one round of streams at least (LoadGen issues more to fill its min duration)
        [grid_prompt(words, index) for index in range(concurrency)],
        concurrency=concurrency,
        expected_qps=1.0,
        label=f"llm-grid-{grid_cell.id}",
        extra=extra,
    )
    request.node.stash[RULE_RUNS_KEY] = [figures.result]  # for the rule checker (conftest)
    record(("loadgen_validity", figures.validity))
    if figures.validity != "VALID":
        raise InvalidRun(f"LoadGen run {figures.validity}: {figures.invalid_reason or 'no reason given'}")
    ttft, tpot = _delivered(figures, tokens)
    if figures.tokens_per_s is None:
        raise InvalidRun("LoadGen reported no tokens/s")
    _judge(request, criteria, grid_cell, ((TTFT, ttft), (TPOT, tpot), (TOKENS, figures.tokens_per_s)))


def _delivered(figures: LlmFigures, tokens: int) -> tuple[float, float]:
    """The client's p99 TTFT and TPOT (ms), once every response was the length asked for."""
    client = figures.result.data.get("client")
    if not isinstance(client, Mapping):
        raise InvalidRun("the agent returned no client figures")
    cut, stopped, shortest = client.get("cut"), client.get("stopped"), client.get("shortest")
    if cut:
        raise InvalidRun(
            f"{cut} stream(s) cut without a finish reason: the cell's output length was not delivered"
        )
    if stopped or (isinstance(shortest, int) and shortest < tokens):
        raise InvalidRun(
            f"asked for {tokens} tokens with ignore_eos, the shortest response had {shortest} "
            f"({stopped or 0} stopped at EOS): the endpoint does not honour ignore_eos"
        )
    ttft, tpot = client.get("ttft_p99_s"), client.get("tpot_p99_s")
    if not isinstance(ttft, int | float) or not isinstance(tpot, int | float):
        raise InvalidRun("the client timed no first token or no per-token latency")
    return float(ttft) * 1e3, float(tpot) * 1e3


def _judge(
    request: pytest.FixtureRequest,
    criteria: CriteriaView,
    cell: GridCell,
    values: tuple[tuple[str, float], ...],
) -> None:
    """Judge every figure of the cell (each recorded) before failing on any."""
    stash: list[Measurement] = request.node.stash.setdefault(MEASUREMENTS_KEY, [])
    failed: list[str] = []
    unjudged: list[str] = []
    for base, value in values:
        name = cell_criterion(criteria.profile.criteria, base, cell)
        measured = evaluate(criteria[name], value, criteria.model)
        stash.append(measured)
        if measured.verdict is Outcome.FAIL:
            failed.append(f"{name}: {measured.reason}")
        elif measured.verdict is Outcome.SKIP:  # no limit for this model: uncertified, never a PASS
            unjudged.append(f"{name}: {measured.reason}")
    if failed:
        raise CriterionFailed("; ".join(failed))
    if unjudged:
        pytest.skip("; ".join(unjudged))

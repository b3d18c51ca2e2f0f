"""The LLM grid: input/output lengths × precisions from the profile, one LoadGen run per cell.

Korea's LLM inference metric and MLPerf both judge serving across request shapes and
precisions, not one shape. The profile's settings name the grid::

    llm_grid_lengths: "128/128,1024/128,128/1024"   # input/output tokens per request
    llm_grid_precisions: "bf16,fp8,int8"
    llm_grid_concurrency: 4                          # streams in flight per cell (Offline)
    llm_grid_short_scale: 32                         # --lab-perf-duration: lengths ÷ 32
    llm_grid_short_duration_seconds: 1               # ... and LoadGen runs of at most 1 s per cell

and optional limits per cell are criteria named ``BASE.INxOUT`` or ``BASE.INxOUT.PRECISION``
(``llm-grid-tpot-p99.128x1024``); a cell without one is judged by ``BASE`` (informational:
recorded)::

    cells = grid_cells(profile.settings)          # (GridCell(128, 128, "bf16"), ...)
    cells[0].id                                   # "128x128-bf16"
    cells[0].run_lengths(short=True, settings)    # (4, 4): a short run's scaled-down shape
    short_duration_s(settings, 2.0)               # 1.0: a short run's LoadGen duration per cell
    cell_criterion(profile.criteria, "llm-grid-tpot-p99", cells[0])   # the most specific name
    grid_prompt(128, 3)                            # a prompt of exactly 128 words

Output lengths are delivered with ``ignore_eos`` (decode past EOS to ``max_tokens``). Input
lengths are words: the emulated model counts a word as a token; a real tokenizer makes about
1.3 tokens of an English word, so on a real engine a cell's input is that much longer (said in
the record, ``llm_grid_lengths``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from lab.inventory.formats import PRECISION
from lab.inventory.model import Serving

LENGTHS_SETTING = "llm_grid_lengths"
PRECISIONS_SETTING = "llm_grid_precisions"
CONCURRENCY_SETTING = "llm_grid_concurrency"
SCALE_SETTING = "llm_grid_short_scale"
SHORT_DURATION_SETTING = "llm_grid_short_duration_seconds"
DEFAULT_SHORT_DURATION_S = 1.0
DEFAULT_CONCURRENCY = 4
DEFAULT_SCALE = 16
MIN_RUN_TOKENS = 4  # a scaled cell still has a first token and a few decode steps
PRECISIONS = tuple(PRECISION.strip("^$()").split("|"))
# fmt: off
WORDS = (
    "report", "server", "memory", "token", "cluster", "model", "answer", "region", "engine", "signal",
    "layer", "window", "vector", "tensor", "budget", "network", "policy", "driver", "device", "module",
)
# fmt: on


class GridError(ValueError):
    """A grid setting of the profile is not in the documented form (ERROR: the suite's input)."""


@dataclass(frozen=True)
class GridCell:
    """One request shape at one precision."""

    input_tokens: int
    output_tokens: int
    precision: str

    @property
    def shape(self) -> str:
        return f"{self.input_tokens}x{self.output_tokens}"

    @property
    def id(self) -> str:
        return f"{self.shape}-{self.precision}"

    def run_lengths(self, short: bool, settings: Mapping[str, object]) -> tuple[int, int]:
        """(input, output) tokens of the requests run: as named, or ÷ the short-run scale."""
        if not short:
            return self.input_tokens, self.output_tokens
        scale = settings.get(SCALE_SETTING, DEFAULT_SCALE)
        if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
            raise GridError(f"profile setting {SCALE_SETTING} {scale!r} is not an integer ≥ 1, e.g. 16")
        return (
            max(MIN_RUN_TOKENS, self.input_tokens // scale),
            max(MIN_RUN_TOKENS, self.output_tokens // scale),
        )


def grid_cells(settings: Mapping[str, object]) -> tuple[GridCell, ...]:
    """The profile's grid, precision by precision, lengths in the order given (``()``: no grid)."""
    lengths_text = settings.get(LENGTHS_SETTING)
    if lengths_text is None:
        return ()
    lengths: list[tuple[int, int]] = []
    for part in str(lengths_text).split(","):
        pieces = part.strip().split("/")
        if len(pieces) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in pieces):
            raise GridError(
                f"profile setting {LENGTHS_SETTING}: {part.strip()!r} is not INPUT/OUTPUT tokens "
                "(write e.g. '128/128,1024/128,128/1024')"
            )
        lengths.append((int(pieces[0]), int(pieces[1])))
    precisions = [p.strip() for p in str(settings.get(PRECISIONS_SETTING, "bf16")).split(",") if p.strip()]
    for precision in precisions:
        if precision not in PRECISIONS:
            raise GridError(
                f"profile setting {PRECISIONS_SETTING}: {precision!r} is not one of {', '.join(PRECISIONS)}"
            )
    cells = [GridCell(i, o, p) for p in precisions for i, o in lengths]
    return tuple(dict.fromkeys(cells))  # a repeated entry is one cell


def grid_concurrency(settings: Mapping[str, object]) -> int:
    value = settings.get(CONCURRENCY_SETTING, DEFAULT_CONCURRENCY)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GridError(f"profile setting {CONCURRENCY_SETTING} {value!r} is not an integer ≥ 1, e.g. 4")
    return value


def short_duration_s(settings: Mapping[str, object], run_duration_s: float) -> float:
    """A short run's LoadGen min duration per cell: the run's, at most the profile's grid setting
    (the grid has a run per cell, so the campaign keeps it small)."""
    value = settings.get(SHORT_DURATION_SETTING, DEFAULT_SHORT_DURATION_S)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise GridError(
            f"profile setting {SHORT_DURATION_SETTING} {value!r} is not a number of seconds > 0, e.g. 1"
        )
    return min(run_duration_s, float(value))


def cell_criterion(criteria: Collection[str], base: str, cell: GridCell) -> str:
    """The most specific criterion for ``cell``: ``BASE.INxOUT.PRECISION``, ``BASE.INxOUT``, ``BASE``."""
    for name in (f"{base}.{cell.shape}.{cell.precision}", f"{base}.{cell.shape}"):
        if name in criteria:
            return name
    return base


def grid_prompt(words: int, index: int) -> str:
    """A prompt of exactly ``words`` words, different for each ``index`` (its first word)."""
    body = [WORDS[(index + 3 * position) % len(WORDS)] for position in range(max(words, 1) - 1)]
    return " ".join([f"request{index}", *body])


@dataclass(frozen=True)
class CellModel:
    """Which model serves a cell's precision: ``model`` to run, else ``skip`` (not served) or
    ``problem`` (ERROR: the inventory and the endpoint disagree); ``said`` is how it was decided."""

    model: str | None
    said: str
    skip: str | None = None
    problem: str | None = None


def model_for(serving: Serving, precision: str, entry: Callable[[str], Mapping[str, object]]) -> CellModel:
    """The model of ``serving`` for ``precision``; ``entry(model)`` is its ``GET /v1/models`` entry.

    ``serving.models`` names the model per precision; the endpoint must list it and, where it
    reports a precision, report that one. Without a name for ``precision``, ``serving.model``
    serves it when its endpoint reports that precision; otherwise the precision is not served.
    """
    declared = serving.models.get(precision)
    if declared is not None:
        listed = entry(declared)
        reported = listed.get("precision")
        if not listed:
            return CellModel(
                None, "", problem=f"the endpoint lists no model {declared!r} (serving.models.{precision})"
            )
        if reported is not None and str(reported).lower() != precision:
            return CellModel(
                None,
                "",
                problem=f"model {declared!r} is declared {precision} (serving.models.{precision}) but its "
                f"endpoint reports precision {reported!r}",
            )
        said = "reported by the endpoint" if reported is not None else "declared (the endpoint reports none)"
        return CellModel(declared, f"{declared}: {precision} {said}")
    reported = entry(serving.model).get("precision")
    if reported is not None and str(reported).lower() == precision:
        return CellModel(serving.model, f"{serving.model}: {precision} reported by the endpoint")
    named = (
        f"serving.models names {', '.join(sorted(serving.models))}" if serving.models else "no serving.models"
    )
    return CellModel(
        None,
        "",
        skip=f"the node serves no {precision} model: {named}, and its model {serving.model!r} reports "
        f"{'precision ' + repr(reported) if reported is not None else 'no precision'}",
    )

"""Whether a LoadGen run can back a figure, and if not, why in LoadGen's own words.

A figure (throughput, a latency percentile, efficiency, % of peak, scaling, a Server trial)
is only a figure when its run is VALID and LoadGen's detail log holds no error entry::

    problem = run_problem(result)        # None, or e.g.
    # "LoadGen result is INVALID: Min duration satisfied : NO; Recommendations: ..."
    if problem:
        raise InvalidRun(f"offline-throughput: {problem}")    # ERROR, never FAIL

A Server trial passes only when its run is VALID (``server_trial_passed``): the latency
constraint alone is not enough, min duration, min query count and early stopping count too.
"""

from __future__ import annotations

from lab.errors import InfrastructureError
from lab.performance.result import AgentResult


class InvalidRun(InfrastructureError):
    """A figure's LoadGen run was not VALID or its detail log reported errors (outcome ERROR):
    the lab has no figure, which says nothing about the device."""


def detail_errors(result: AgentResult) -> list[str]:
    """The ``is_error`` entries of LoadGen's detail log (``"key: value"``), in log order."""
    detail = result.data.get("detail")
    errors = detail.get("errors") if isinstance(detail, dict) else None
    return [str(error) for error in errors] if isinstance(errors, list) else []


def loadgen_words(result: AgentResult) -> str:
    """Why LoadGen called the run what it did: the summary's unmet conditions and its
    recommendations, verbatim (lines ending in ": Yes" left out), and the detail log's
    ``result_invalid_reason``."""
    lines: list[str] = []
    inside = False
    for raw in result.summary_text.splitlines():
        line = raw.strip()
        if line.startswith("Result is"):
            inside = True
            continue
        if inside and line.startswith("====="):
            break
        if inside and line and not line.lower().endswith(": yes"):
            lines.append(line)
    detail = result.data.get("detail")
    reason = detail.get("result_invalid_reason") if isinstance(detail, dict) else None
    if reason and str(reason).strip() not in " ".join(lines):
        lines.append(str(reason).strip())
    return " ".join(lines) if lines else "LoadGen gave no reason"


def run_problem(result: AgentResult) -> str | None:
    """None when ``result`` can back a figure; else LoadGen's own words for why not."""
    errors = detail_errors(result)
    if errors:
        return "LoadGen's detail log reports errors: " + "; ".join(errors)
    if not result.valid:
        return f"LoadGen result is {result.validity}: {loadgen_words(result)}"
    return None


def server_trial_passed(result: AgentResult) -> bool:
    """A Server trial passes when LoadGen calls the run VALID (latency, min duration, min query
    count and early stopping all met) and its detail log has no error."""
    return result.valid and not detail_errors(result)

"""Their GPU jobs' LoadGen summaries as runs of our history, validity kept: INVALID is never a figure.

Their server keeps each GPU job's LoadGen output as ``mnt/result/mlperf-<exam id>/<repeat>/
mlperf_log_summary.txt`` (openkcloud/kcloud-mlperf ``app/server/src/mp-exam-result/
mp-exam-result.service.ts`` at d86f5339b779f720ff64af5ae732d2d983e8b532, ``extractSummaryData``). A
summary says which scenario ran and what LoadGen measured, but not on which card, which model, when:
their server takes that from the job's row (``mp_exam``), which their normalised CSV carries as run
``mlperf-<exam id>-mp_exam``. So a directory of summaries is imported *with* their CSV::

    found = summaries_in(Path("mnt/result"))          # [(exam id, repeat, path), ...]
    runs, skipped = runs_of_summaries(found, read_csv(their_csv), source="mnt/result")

Each summary block (their jobs concatenate Offline and Server) becomes one history run
``kcloud-mlperf-<exam>-<repeat>-<scenario>``, one record whose test id is the series of its
configuration — the job row's fingerprint fields with the *summary's* scenario (the file that
measured; a job row saying another scenario is noted in ``kcloud_scenario_conflict``), so a
LoadGen Offline run never shares a series with their request loop or their Server runs.

- VALID: measurements ``kcloud-loadgen-tokens-per-second``, ``…-samples-per-second`` and, for
  Server, ``kcloud-loadgen-ttft``/``…-tpot`` (ms), recorded not judged (SKIP), as every import;
- INVALID: the record is ERROR, "LoadGen INVALID … not a figure", with why (each "satisfied : NO"
  line their dashboard drops) and **no measurement**: their dashboard shows its tokens/s, we do not;
- a summary whose job has no row in the CSV, or whose block is an accuracy run, is skipped and
  said so (``skipped``), never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lab.criteria import Measurement, Outcome
from lab.inventory.model import Axis, Limits
from lab.kcloud.fingerprint import decoding_of, fingerprint
from lab.kcloud.history_import import runs_of_rows
from lab.kcloud.loadgen_summary import read_summaries
from lab.kcloud.results import read_text
from lab.results import Run

SUMMARY = "mlperf_log_summary.txt"
_JOB = re.compile(r"^mlperf-(\d+)$")
# summary field → (our measurement name, unit, scale)
LOADGEN_MEASURES: Mapping[str, tuple[str, str, float]] = {
    "result_perf_tps": ("kcloud-loadgen-tokens-per-second", "tok/s", 1.0),
    "result_perf_sps": ("kcloud-loadgen-samples-per-second", "samples/s", 1.0),
    "result_perf_serv_ttft": ("kcloud-loadgen-ttft", "ms", 1e-6),  # ns → ms
    "result_perf_serv_tpot": ("kcloud-loadgen-tpot", "ms", 1e-6),
}
_CONFIG = ("benchmark", "model", "dataset", "dataset_version", "precision", "batch_size", "data_number",
           "scenario", "max_output_tokens")  # fmt: skip


def summaries_in(directory: Path) -> list[tuple[int, int, Path]]:
    """``(exam id, repeat, path)`` of every ``mlperf-<id>/<repeat>/mlperf_log_summary.txt`` below
    ``directory`` (their ``mnt/result`` or a copy of it), in exam and repeat order."""
    found = []
    for path in directory.rglob(SUMMARY):
        job, repeat = path.parent.parent.name, path.parent.name
        match = _JOB.match(job)
        if match and repeat.isdigit():
            found.append((int(match.group(1)), int(repeat), path))
    return sorted(found)


def runs_of_summaries(
    found: Iterable[tuple[int, int, Path]], exam_rows: Sequence[Mapping[str, Any]], *, source: str
) -> tuple[list[Run], list[str]]:
    """History runs of the summaries, and why each summary or block left out was left out."""
    jobs = {str(row.get("run_id")): row for row in exam_rows}
    runs: list[Run] = []
    skipped: list[str] = []
    for exam, repeat, path in found:
        job = jobs.get(f"mlperf-{exam}-mp_exam")
        if job is None:
            skipped.append(
                f"{path}: no row mlperf-{exam}-mp_exam in their CSV: a summary names no card, model or time"
            )
            continue
        for block in read_summaries(read_text(path), source=str(path)):
            if block.get("mode") != "PerformanceOnly":
                skipped.append(f"{path}: a {block.get('mode')} block: no performance figure")
                continue
            runs.append(_run(job, block, exam, repeat, f"{path}"))
    return runs, skipped


def _run(job: Mapping[str, Any], block: Mapping[str, object], exam: int, repeat: int, where: str) -> Run:
    scenario = str(block["scenario"]).lower()
    valid = block.get("result_perf_valid") == "VALID"
    row: dict[str, Any] = {key: job.get(key) for key in job}
    row |= {
        "run_id": f"mlperf-{exam}-{repeat}-{scenario}",
        "scenario": scenario,
        "status": "completed" if valid else "failed",
        "failure_reason": None if valid else _why_invalid(block),
        "tt100t_seconds": None,  # a LoadGen run has no TT100T; their job row's figures are the job's
        "tps": None,
        "accuracy_pct": None,
        "source": where,
    }
    row["config_fingerprint"] = fingerprint(
        {key: row.get(key) for key in _CONFIG} | decoding_of(str(row.get("benchmark")))
    )
    (run,) = runs_of_rows([row], source=where)
    (record,) = run.records
    properties = dict(record.properties)
    properties |= {"result_perf_valid": str(block.get("result_perf_valid")), "kcloud_exam": f"mlperf-{exam}"}
    if job.get("scenario") and str(job["scenario"]).lower() != scenario:
        properties["kcloud_scenario_conflict"] = (
            f"their job row says {job['scenario']}; the summary (what LoadGen ran) says {block['scenario']}"
        )
    measurements: list[Measurement] = []
    if valid:
        for field, (name, unit, scale) in LOADGEN_MEASURES.items():
            value = block.get(field)
            if isinstance(value, int | float):
                measurements.append(
                    Measurement(
                        name=name, value=float(value) * scale, unit=unit, limits=Limits(),
                        axis=Axis.PERFORMANCE, verdict=Outcome.SKIP,
                        reason=f"imported from {where}: LoadGen VALID, recorded, not judged",
                        description=f"their {field} ({block['scenario']})",
                    )
                )  # fmt: skip
        reason = f"K-Cloud GPU job mlperf-{exam} repeat {repeat}: LoadGen {block['scenario']} VALID"
    else:
        reason = (
            f"K-Cloud GPU job mlperf-{exam} repeat {repeat}: LoadGen {block['scenario']} INVALID "
            f"({row['failure_reason']}): not a figure"
        )
    record = replace(
        record,
        outcome=Outcome.SKIP if valid else Outcome.ERROR,
        measurements=tuple(measurements),
        reason=reason,
        properties=MappingProxyType(properties),
    )
    return Run(directory=run.directory, manifest=run.manifest, records=(record,))


def _why_invalid(block: Mapping[str, object]) -> str:
    unsatisfied = block.get("unsatisfied")
    said = ", ".join(f"{item}: NO" for item in unsatisfied) if isinstance(unsatisfied, list) else ""
    return said or "LoadGen said INVALID without naming a rule"

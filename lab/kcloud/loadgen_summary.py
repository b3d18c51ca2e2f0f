"""LoadGen's ``mlperf_log_summary.txt`` from their GPU jobs → their record fields, validity kept.

Their server (openkcloud/kcloud-mlperf ``app/server/src/mp-exam-result/mp-exam-result.service.ts`` at
d86f5339b779f720ff64af5ae732d2d983e8b532) reads these fields, with these units:

=========================  ==========================================================  ======
result_perf_sps            ``Samples per second`` (Offline) / ``Completed samples per second`` (Server)
result_perf_tps            ``Tokens per second`` (Offline) / ``Completed tokens per second`` (Server)
result_perf_valid          ``Result is`` (VALID / INVALID)
result_perf_latency        ``Mean latency (ns)``                                          ns
result_perf_serv_ttft      ``Mean First Token latency (ns)``, Server only                  ns
result_perf_serv_tpot      ``Mean Time per Output Token (ns)``, Server only                ns
result_perf_pNN_latency_s  ``NN.00 percentile latency (ns)`` / 1e9                         s
result_acc_rg_*            the accuracy script's ``{'rouge1': '27.66', ...}`` dict
=========================  ==========================================================  ======

Their jobs concatenate several summaries (accuracy dict, Offline, Server) into one file; each
summary block is read on its own here (their regexes take the first match in the whole file, so
a Server block after an Offline one lost its own figures). What their dashboard drops is kept:
why a run is INVALID (each "satisfied : NO" line) and the p99 first-token / per-token latencies.

::

    blocks = read_summaries(text)        # [{"scenario": "Server", "result_perf_valid": "INVALID", ...}]
    accuracy = read_accuracy(text)       # {"result_acc_rg_1": 27.6659, ...} or {}
"""

from __future__ import annotations

import ast
import re

from lab.criteria import DataFormatError

_BLOCK = re.compile(r"MLPerf Results Summary\s*\n=+\n", re.MULTILINE)
_LINE = re.compile(
    r"^\s*([^:\n]+?)\s*:\s*(\S[^\n]*?)\s*(?:->.*)?$", re.MULTILINE
)  # "-> column" notes dropped
_ACCURACY = re.compile(r"\{[^{}]*'rouge1'[^{}]*\}", re.DOTALL)
_NOTES = re.compile(r"[ \t]*->[ \t]*\w+")  # their "value -> db_column" annotations
_SATISFIED = re.compile(r"^\s*(.+? satisfied)\s*:\s*(Yes|NO|No)\s*$", re.MULTILINE | re.IGNORECASE)


def read_summaries(text: str, *, source: str = "mlperf_log_summary.txt") -> list[dict[str, object]]:
    """One record per LoadGen summary block in ``text``, in file order."""
    starts = [match.end() for match in _BLOCK.finditer(text)]
    if not starts:
        raise DataFormatError(f"{source}: no 'MLPerf Results Summary' block: not a LoadGen summary")
    ends = [match.start() for match in _BLOCK.finditer(text)][1:]
    ends.append(len(text))
    return [_block(text[start:end], source) for start, end in zip(starts, ends, strict=True)]


def _block(text: str, source: str) -> dict[str, object]:
    values: dict[str, str] = {}
    for label, value in _LINE.findall(text):
        values.setdefault(label.strip(), value.strip())
    scenario = values.get("Scenario")
    if scenario is None or "Result is" not in values:
        raise DataFormatError(f"{source}: a summary block without 'Scenario' or 'Result is'")
    server = scenario == "Server"
    sps = "Completed samples per second" if server else "Samples per second"
    tps = "Completed tokens per second" if server else "Tokens per second"
    record: dict[str, object] = {
        "scenario": scenario,
        "mode": values.get("Mode"),
        "result_perf_sps": _number(values.get(sps)),
        "result_perf_tps": _number(values.get(tps)),
        "result_perf_valid": values["Result is"].split()[0],
        "result_perf_latency": _number(values.get("Mean latency (ns)")),
        "result_perf_serv_ttft": _number(values.get("Mean First Token latency (ns)")) if server else None,
        "result_perf_serv_tpot": _number(values.get("Mean Time per Output Token (ns)")) if server else None,
    }  # fmt: skip
    for percentile in ("50", "90", "99"):
        ns = _number(values.get(f"{percentile}.00 percentile latency (ns)"))
        record[f"result_perf_p{percentile}_latency_s"] = ns / 1e9 if ns is not None else None
    record["first_token_p99_ns"] = _number(values.get("99.00 percentile first token latency (ns)"))
    record["time_per_output_token_p99_ns"] = _number(values.get("99.00 percentile time to output token (ns)"))
    record["unsatisfied"] = [label for label, answer in _SATISFIED.findall(text) if answer.lower() == "no"]
    return record


def read_accuracy(text: str) -> dict[str, float]:
    """The ROUGE dict their accuracy step prints, as their ``result_acc_*`` fields (empty if absent)."""
    match = _ACCURACY.search(_NOTES.sub("", text))
    if match is None:
        return {}
    try:
        scores = ast.literal_eval(match.group(0))  # a Python dict literal: no code is run
    except (ValueError, SyntaxError):
        return {}
    keys = {"rouge1": "result_acc_rg_1", "rouge2": "result_acc_rg_2", "rougeL": "result_acc_rg_l",
            "rougeLsum": "result_acc_rg_lsum"}  # fmt: skip
    return {ours: float(scores[theirs]) for theirs, ours in keys.items() if theirs in scores}


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.split()[0])
    except (ValueError, IndexError):
        return None

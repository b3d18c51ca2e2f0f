"""Their result files, both ways: per-run ``result.json`` and the normalised CSV row.

Formats followed (openkcloud/kcloud-mlperf):

- ``result.json``: ``benchmarks/benchmarks/mlperf_cnndm100_fp8.py`` at HEAD
  eb881eb35fd1a57cfe839fd54511717c01e0359b (``compute_metrics`` and the ``result`` dict: same keys,
  same rounding, same derivations);
- CSV: ``CSV_COLUMNS`` and ``convert_result_json``/``build_canonical_row`` of
  ``app/scripts/normalize-benchmark-results.py`` at d86f5339b779f720ff64af5ae732d2d983e8b532.

Where we deliberately differ, it is said here and in docs/kcloud.md: their converter writes
``data_number`` 0 ("full dataset") for every result.json; we write the real sample count, so a
100-sample run never shares a fingerprint with a full-dataset run (their server's own fingerprint
comment asks for exactly that). Our measured figures ride along in ``raw_metrics`` under ``lab_*``
keys; their derived ``tt100t_seconds`` stays their derivation. ``scenario`` is the file's own value
(their converter forces "offline"; a plain request loop is no LoadGen scenario, so ours writes none).

::

    samples = [SampleTiming(elapsed_s=1.6, output_tokens=128), ...]
    document = result_json(RunInfo(run_id=..., hw="rngd", model=..., ...), samples)
    row = csv_row(document)                  # their CSV_COLUMNS, fingerprint included
    write_csv([row], path); rows = read_csv(path)
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.criteria import DataFormatError
from lab.kcloud.fingerprint import decoding_of, fingerprint, run_descriptor

CSV_COLUMNS = (
    "run_id", "source_table", "hardware", "hardware_type", "vendor",
    "benchmark", "model", "model_canonical_violation", "precision", "dataset", "dataset_version",
    "scenario", "batch_size", "data_number", "max_output_tokens",
    "is_full_dataset", "is_canonical_comparable", "precision_mismatch",
    "non_canonical", "exclusion_reason",
    "config_fingerprint", "drift_flag",
    "started_at", "completed_at", "elapsed_seconds",
    "status", "failure_reason",
    "tt100t_seconds", "tt100t_seconds_null_reason",
    "tps", "tps_null_reason",
    "accuracy_pct", "accuracy_pct_null_reason",
)  # fmt: skip
_INTEGERS = {"batch_size", "data_number", "max_output_tokens"}
_FLOATS = {"tt100t_seconds", "tps", "accuracy_pct", "elapsed_seconds"}  # result.json: 9.0 s
_FLAGS = {
    "model_canonical_violation", "is_full_dataset", "is_canonical_comparable", "precision_mismatch",
    "non_canonical", "drift_flag",
}  # fmt: skip
FULL_DATASET = 13368  # CNN/DailyMail 3.0.0 validation samples MLPerf's llama3.1-8b uses

# their --hw keys → (result.json "hardware", vendor, framework, CSV "hardware" as their dashboards name it)
HARDWARE: Mapping[str, tuple[str, str, str, str]] = {
    "l40": ("NVIDIA-L40", "nvidia", "vllm", "L40"),
    "a40": ("NVIDIA-A40", "nvidia", "vllm", "A40"),
    "rngd": ("FuriosaAI-RNGD", "furiosa", "furiosa-llm", "RNGD"),
    "atomplus": ("Rebellions-Atom+", "rebellions", "optimum-rbln", "Atom+"),
}
# our catalog's vendor names → theirs
VENDOR_OF_CATALOG: Mapping[str, str] = {
    "furiosaai": "furiosa",
    "rebellions": "rebellions",
    "nvidia": "nvidia",
}
# our catalog model → their --hw key
HW_OF_MODEL: Mapping[str, str] = {"l40": "l40", "a40": "a40", "rngd": "rngd", "atom-plus": "atomplus"}
_CANONICAL_HARDWARE = {long: short for long, _, _, short in HARDWARE.values()} | {
    "Rebellions-AtomPlus": "Atom+"  # their one published result.json spells it so
}
_MODEL_ALIASES = {  # normalize_model of their normaliser
    "Llama-3.1-8B-Instruct": "meta-llama/Llama-3.1-8B-Instruct",
    "Llama-3.1-8B-Instruct-FP8": "meta-llama/Llama-3.1-8B-Instruct-FP8",
    "furiosa-ai/Llama-3.1-8B-Instruct": "meta-llama/Llama-3.1-8B-Instruct",
    "furiosa-ai/Llama-3.1-8B-Instruct-FP8": "meta-llama/Llama-3.1-8B-Instruct-FP8",
    "RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8": "meta-llama/Llama-3.1-8B-Instruct-FP8",
    "redhatai/meta-llama-3.1-8b-instruct-fp8": "meta-llama/Llama-3.1-8B-Instruct-FP8",
}
_PRECISIONS = {"bfloat16": "BF16", "bf16": "BF16", "fp8": "FP8", "fp16": "FP16", "float16": "FP16"}


@dataclass(frozen=True)
class SampleTiming:
    """One request of their loop: wall time of the whole completion and the tokens it returned."""

    elapsed_s: float
    output_tokens: int
    error: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """What their result.json says about a run besides its timings."""

    run_id: str
    hw: str  # their --hw key: l40, a40, rngd, atomplus
    model: str
    n_samples: int
    max_tokens: int
    started_at: str  # ISO 8601, UTC
    completed_at: str
    elapsed_wall_s: float
    precision: str = "FP8"
    # Their harness writes "offline" for its plain request loop; that loop is no LoadGen scenario, and
    # their NPU dashboard rows say so (scenario empty). None unless LoadGen really ran the scenario.
    scenario: str | None = None
    dataset: str = "CNN-DailyMail"
    dataset_version: str = "3.0.0"
    # a card they have no --hw key for, or an emulated one: say what served (never borrow their name)
    hardware: str | None = None
    vendor: str | None = None
    logs_path: str = ""
    artifact_path: str = ""


def their_metrics(samples: Sequence[SampleTiming], max_tokens: int) -> dict[str, Any] | None:
    """``compute_metrics`` of mlperf_cnndm100_fp8.py: TT100T = mean request time × 100 / max_tokens.

    That is a derivation, not a measurement of the 100th token (see :mod:`lab.kcloud.tt100t`).
    """
    good = [s for s in samples if s.error is None and s.elapsed_s > 0]
    if not good:
        return None
    times = [s.elapsed_s for s in good]
    tps_values = [round(s.output_tokens / s.elapsed_s, 3) for s in good]
    total_tokens = sum(s.output_tokens for s in good)
    elapsed_total = sum(times)
    mean_s = statistics.mean(times)
    ordered = sorted(times)
    return {
        "tt100t_s": round(mean_s * (100 / max_tokens), 6),
        "throughput_tps": round(total_tokens / elapsed_total, 3) if elapsed_total > 0 else 0,
        "mean_latency_s": round(mean_s, 6),
        "p50_latency_s": round(ordered[len(ordered) // 2], 6),
        "p90_latency_s": round(ordered[int(len(ordered) * 0.9)], 6),
        "p99_latency_s": round(ordered[int(len(ordered) * 0.99)] if len(ordered) >= 100 else ordered[-1], 6),
        "total_output_tokens": total_tokens,
        "tps_best": round(max(tps_values), 3),
        "n_valid": len(good),
        "elapsed_total_s": round(elapsed_total, 3),
    }


def result_json(
    info: RunInfo, samples: Sequence[SampleTiming], *, lab_figures: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """Their per-run result.json for ``samples``; ``lab_figures`` (ours, measured) go to ``raw_metrics``."""
    if info.hw not in HARDWARE and info.hardware is None:
        raise DataFormatError(f"unknown hardware key {info.hw!r}: one of {', '.join(HARDWARE)}")
    hardware, vendor, framework, _ = HARDWARE.get(info.hw, ("", "unknown", "unknown", ""))
    hardware, vendor = info.hardware or hardware, info.vendor or vendor
    metrics = their_metrics(samples, info.max_tokens)
    errors = sum(1 for s in samples if s.error is not None)
    document: dict[str, Any] = {
        "run_id": info.run_id,
        "hardware": hardware,
        "vendor": vendor,
        "benchmark": "mlperf",
        "model": info.model,
        "precision": info.precision,
        "dataset": info.dataset,
        "dataset_version": info.dataset_version,
        "scenario": info.scenario,
        "max_output_tokens": info.max_tokens,
        "started_at": info.started_at,
        "completed_at": info.completed_at,
    }
    if metrics is None:  # their write_result(): failed, no figures
        document |= {
            "status": "failed",
            "failure_reason": f"All {len(samples)} samples failed (errors={errors})",
            "tt100t_seconds": None,
            "elapsed_seconds": round(info.elapsed_wall_s, 1),
            "throughput_tokens_per_sec": None,
            "raw_metrics": {"errors": errors},
        }
    else:
        elapsed_total = metrics["elapsed_total_s"]
        raw: dict[str, Any] = {
            "result_perf_tps": metrics["throughput_tps"],
            "result_perf_sps": round(metrics["n_valid"] / elapsed_total, 6) if elapsed_total > 0 else 0,
            "result_perf_tps_best": metrics["tps_best"],
            "result_perf_sps_best": None,
            "result_perf_valid": "VALID" if errors == 0 else "PARTIAL",
            "result_perf_latency": metrics["mean_latency_s"],
            "result_perf_serv_ttft": None,
            "result_perf_serv_tpot": None,
            "result_acc_rg_1": None,
            "result_acc_rg_2": None,
            "result_acc_rg_l": None,
            "result_acc_rg_lsum": None,
            "result_acc_total": None,
            "result_vram_peak": None,
            "result_gpu_util": None,
            "data_number": len(samples),
            "errors": errors,
            "mean_latency_s": metrics["mean_latency_s"],
            "p50_latency_s": metrics["p50_latency_s"],
            "p90_latency_s": metrics["p90_latency_s"],
            "p99_latency_s": metrics["p99_latency_s"],
            "total_output_tokens": metrics["total_output_tokens"],
            "framework": framework,
        }
        raw |= {f"lab_{key}": value for key, value in (lab_figures or {}).items()}
        document |= {
            "status": "completed",
            "failure_reason": None,
            "tt100t_seconds": metrics["tt100t_s"],
            "elapsed_seconds": round(info.elapsed_wall_s, 1),
            "throughput_tokens_per_sec": metrics["throughput_tps"],
            "raw_metrics": raw,
        }
    document |= {
        "logs_path": info.logs_path,
        "artifact_path": info.artifact_path,
        "config_fingerprint": run_descriptor(info.model, info.n_samples, info.max_tokens, info.precision),
    }
    return document


def normalize_model(raw: str) -> str:
    """Their model aliases → one Hugging Face id (their W7 contract)."""
    return _MODEL_ALIASES.get(raw.strip(), raw.strip())


def normalize_precision(raw: object) -> str | None:
    if raw is None:
        return None
    return _PRECISIONS.get(str(raw).lower(), str(raw).upper())


def csv_row(document: Mapping[str, Any], *, source: str = "kcloud-lab") -> dict[str, Any]:
    """Their normalised CSV row of a result.json, with their fingerprint over the same 12 fields."""
    benchmark = str(document.get("benchmark", "unknown"))
    model = normalize_model(str(document.get("model", "unknown")))
    precision = normalize_precision(document.get("precision"))
    hardware = _CANONICAL_HARDWARE.get(
        str(document.get("hardware")), str(document.get("hardware", "Unknown"))
    )
    vendor = str(document.get("vendor", "unknown"))
    raw = document.get("raw_metrics") or {}
    mlperf = benchmark == "mlperf"
    data_number = raw.get("data_number", 0) if isinstance(raw, Mapping) else 0
    max_output_tokens = document.get("max_output_tokens") if mlperf else None
    scenario = document.get("scenario")  # theirs forces "offline" for MLPerf; the file's own value here
    fields = {
        "benchmark": benchmark,
        "model": model,
        # theirs forces CNN-DailyMail 3.0.0 for MLPerf; a file naming another data set keeps it
        "dataset": document.get("dataset") or ("CNN-DailyMail" if mlperf else "TIGER-Lab/MMLU-Pro"),
        "dataset_version": document.get("dataset_version") or ("3.0.0" if mlperf else "main"),
        "precision": precision,
        "batch_size": 1,
        "data_number": data_number,
        **decoding_of(benchmark),
        "scenario": scenario,
        "max_output_tokens": max_output_tokens or None,
    }
    full = (mlperf and data_number in (0, FULL_DATASET)) or (benchmark == "mmlu" and data_number == 0)
    canonical_tokens = not mlperf or max_output_tokens in (128, None, 0)
    non_canonical, exclusion = False, None
    if hardware == "RNGD" and precision == "FP8":  # their rule 1, applied as they apply it
        non_canonical = True
        exclusion = (
            "precision=fp8 for RNGD (canonical=bf16 per furiosa-llm native format; "
            "FP8-tagged rows are data-entry errors)"
        )
    tt100t = document.get("tt100t_seconds")
    unused = "not applicable" if not mlperf else "not recorded"
    tps = document.get("throughput_tokens_per_sec")
    accuracy = raw.get("result_acc_total") if isinstance(raw, Mapping) else None
    return {
        "run_id": document.get("run_id", "unknown"),
        "source_table": "logs_file",
        "source": source,
        "hardware": hardware,
        "hardware_type": _hardware_type(vendor),
        "vendor": vendor,
        "benchmark": benchmark,
        "model": model,
        "model_raw": document.get("model", "unknown"),
        "model_canonical_violation": not model.lower().startswith("meta-llama/llama-3.1-8b"),
        "precision": precision,
        "dataset": fields["dataset"],
        "dataset_version": fields["dataset_version"],
        "scenario": scenario,
        "batch_size": 1,
        "data_number": data_number,
        "max_output_tokens": fields["max_output_tokens"],
        "is_full_dataset": full,
        "is_canonical_comparable": full and canonical_tokens,
        "precision_mismatch": mlperf and hardware in {"Atom+", "RNGD", "A40"} and precision == "BF16",
        "non_canonical": non_canonical,
        "exclusion_reason": exclusion,
        "config_fingerprint": fingerprint(fields),
        "drift_flag": False,
        "started_at": document.get("started_at"),
        "completed_at": document.get("completed_at"),
        "elapsed_seconds": document.get("elapsed_seconds"),
        "status": document.get("status", "failed"),
        "failure_reason": document.get("failure_reason"),
        "tt100t_seconds": tt100t,
        "tt100t_seconds_null_reason": None if tt100t is not None else unused,
        "tps": tps,
        "tps_null_reason": None if tps is not None else "not recorded",
        "accuracy_pct": accuracy,
        "accuracy_pct_null_reason": None if accuracy is not None else (
            "not applicable" if mlperf else "not recorded"
        ),
    }  # fmt: skip


def _hardware_type(vendor: str) -> str:
    """Their normaliser's npu/gpu split, plus "cpu" for our CPU reference nodes (catalog vendor
    ``cpu``): their rule would call a llama.cpp run on a host CPU a GPU row."""
    if vendor in ("furiosa", "rebellions"):
        return "npu"
    return "cpu" if vendor == "cpu" else "gpu"


def csv_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as their CSV (header + rows; Python's csv module, booleans as True/False like theirs)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def read_text(path: Path) -> str:
    """A file's text, or ``DataFormatError`` naming it (missing, unreadable, not UTF-8): never a traceback."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise DataFormatError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise DataFormatError(
            f"{path}: not UTF-8 text (byte {error.start}): not one of their files"
        ) from None


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Their CSV rows with types back (numbers, booleans, None for empty); errors name file:line."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise DataFormatError(
            f"{path}:1: not their normalised CSV: missing columns {', '.join(missing)} "
            "(written by normalize-benchmark-results.py)"
        )
    rows: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        typed: dict[str, Any] = {}
        for key in CSV_COLUMNS:
            typed[key] = _typed(key, row.get(key), f"{path}:{line}")
        rows.append(typed)
    return rows


def _typed(key: str, value: str | None, where: str) -> object:
    if value is None or value == "":
        return None
    try:
        if key in _INTEGERS:
            return int(value)
        if key in _FLOATS:  # their JSON numbers: 80 stays an int, as their writer printed it
            return int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        raise DataFormatError(f"{where}: {key}: expected a number, got {value!r}") from None
    if key in _FLAGS:
        if value not in ("True", "False"):
            raise DataFormatError(f"{where}: {key}: expected True or False, got {value!r}")
        return value == "True"
    return value


def read_result_json(path: Path) -> dict[str, Any]:
    """One of their result.json files, checked for the keys a CSV row needs."""
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise DataFormatError(f"{path}:{error.lineno}: not JSON: {error.msg}") from None
    if not isinstance(document, dict):
        raise DataFormatError(f"{path}:1: expected their result.json object")
    missing = [key for key in ("run_id", "benchmark", "model", "hardware", "status") if key not in document]
    if missing:
        raise DataFormatError(f"{path}:1: not their result.json: missing {', '.join(missing)}")
    return document

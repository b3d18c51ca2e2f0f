"""Their result files, checked field by field against what they published (data/SOURCE.md).

- the configuration fingerprint of all 116 rows of their published CSV is reproduced from the
  rows' own fields;
- their CSV reads and writes back byte for byte;
- a result.json written from per-sample timings has their keys and their derivations;
- their one published result.json converts to the CSV row their normaliser writes, except for the
  differences docs/kcloud.md lists;
- LoadGen summaries from their GPU jobs give the fields their server stores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.criteria import DataFormatError
from lab.kcloud.fingerprint import FINGERPRINT_FIELDS, decoding_of, fingerprint, run_descriptor
from lab.kcloud.loadgen_summary import read_accuracy, read_summaries
from lab.kcloud.results import (
    CSV_COLUMNS,
    RunInfo,
    SampleTiming,
    csv_row,
    csv_text,
    read_csv,
    read_result_json,
    result_json,
    their_metrics,
)

DATA = Path(__file__).parent / "data"
PUBLISHED_CSV = DATA / "benchmark_results_real.csv"


def _fields(row: dict[str, object]) -> dict[str, object]:
    keys = ("benchmark", "model", "dataset", "dataset_version", "precision", "batch_size", "data_number",
            "scenario", "max_output_tokens")  # fmt: skip
    return {key: row[key] for key in keys} | decoding_of(str(row["benchmark"]))


def test_their_fingerprint_is_reproduced_for_every_published_row() -> None:
    rows = read_csv(PUBLISHED_CSV)
    assert len(rows) == 116 and len(FINGERPRINT_FIELDS) == 12
    mismatched = [row["run_id"] for row in rows if fingerprint(_fields(row)) != row["config_fingerprint"]]
    assert mismatched == []
    assert len({row["config_fingerprint"] for row in rows}) > 30  # the rows are not all one configuration


def test_fingerprint_follows_their_normalisation() -> None:
    base = {"benchmark": "mlperf", "model": "meta-llama/Llama-3.1-8B-Instruct-FP8",
            "dataset": "CNN-DailyMail", "dataset_version": "3.0.0", "precision": "FP8", "batch_size": 1,
            "data_number": 100,
            "scenario": None, "max_output_tokens": None, **decoding_of("mlperf")}  # fmt: skip
    # their published RNGD canonical-run rows (mlperf-49…) carry exactly this configuration
    assert fingerprint(base) == "a26fefa19bebce11c1643b6813dede7c5f702bfd350253c82bbac3ff623ea379"
    assert fingerprint(base | {"model": "  META-LLAMA/llama-3.1-8b-instruct-fp8 "}) == fingerprint(base)
    assert fingerprint(base | {"scenario": ""}) == fingerprint(base)  # absent ≡ empty
    assert fingerprint(base | {"data_number": 13368}) != fingerprint(base)
    assert fingerprint(base | {"decoding_temperature": 0}) != fingerprint(base)  # Python's 0 ≠ 0.0, as theirs
    assert fingerprint(base | {"hardware": "L40", "node": "node2"}) == fingerprint(
        base
    )  # hardware is no config
    assert run_descriptor("m", 100, 128) == "mlperf|m|cnn_dailymail|3.0.0|FP8|100|128"


def test_their_csv_reads_and_writes_back_byte_for_byte() -> None:
    rows = read_csv(PUBLISHED_CSV)
    first = rows[0]
    assert first["run_id"] == "mlperf-135-mp_exam" and first["data_number"] == 13368
    assert first["is_full_dataset"] is True and first["max_output_tokens"] is None
    assert csv_text(rows) == PUBLISHED_CSV.read_text(encoding="utf-8")


def test_a_broken_csv_names_file_and_line(tmp_path: Path) -> None:
    lines = PUBLISHED_CSV.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "rows.csv"
    broken.write_text("\n".join([lines[0], lines[1], lines[2].replace(",1,5,100,", ",1,five,100,")]) + "\n")
    with pytest.raises(DataFormatError, match=rf"{broken}:3: data_number: expected a number, got 'five'"):
        read_csv(broken)
    headless = tmp_path / "other.csv"
    headless.write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match=rf"{headless}:1: not their normalised CSV"):
        read_csv(headless)


def test_their_metrics_are_derived_their_way() -> None:
    samples = [
        SampleTiming(1.0, 128),
        SampleTiming(2.0, 100),
        SampleTiming(3.0, 64),
        SampleTiming(0.0, 0, "x"),
    ]
    metrics = their_metrics(samples, 128)
    assert metrics is not None
    assert metrics["tt100t_s"] == round(2.0 * 100 / 128, 6)  # mean request time × 100 / max_tokens
    assert metrics["throughput_tps"] == round(292 / 6.0, 3)  # all tokens / summed request time
    assert metrics["p50_latency_s"] == 2.0 and metrics["p99_latency_s"] == 3.0  # < 100 samples: the max
    assert metrics["tps_best"] == 128.0 and metrics["n_valid"] == 3
    assert their_metrics([SampleTiming(0.0, 0, "refused")], 128) is None


def _info(**changes: object) -> RunInfo:
    values: dict[str, object] = dict(
        run_id="lab-r1-emu-rngd", hw="rngd", model="furiosa-ai/Llama-3.1-8B-Instruct-FP8", n_samples=3,
        max_tokens=128, started_at="2026-12-04T00:00:00+00:00", completed_at="2026-12-04T00:00:09+00:00",
        elapsed_wall_s=9.04,
    )  # fmt: skip
    return RunInfo(**(values | changes))  # type: ignore[arg-type]


def test_result_json_has_their_keys_and_values() -> None:
    published = json.loads((DATA / "result-mmlu-atomplus.json").read_text(encoding="utf-8"))
    samples = [SampleTiming(1.0, 128), SampleTiming(2.0, 100), SampleTiming(3.0, 64)]
    document = result_json(_info(), samples, lab_figures={"ttft_mean_s": 0.05})
    # their harness adds the MLPerf configuration keys to what their MMLU result.json carries
    assert set(document) == set(published) | {"dataset", "dataset_version", "scenario", "max_output_tokens"}
    assert document["hardware"] == "FuriosaAI-RNGD" and document["vendor"] == "furiosa"
    assert document["tt100t_seconds"] == round(2.0 * 100 / 128, 6) and document["elapsed_seconds"] == 9.0
    raw = document["raw_metrics"]
    assert (
        raw["framework"] == "furiosa-llm" and raw["result_perf_valid"] == "VALID" and raw["data_number"] == 3
    )
    assert raw["result_perf_sps"] == round(3 / 6.0, 6) and raw["lab_ttft_mean_s"] == 0.05
    assert (
        document["config_fingerprint"]
        == "mlperf|furiosa-ai/Llama-3.1-8B-Instruct-FP8|cnn_dailymail|3.0.0|FP8|3|128"
    )
    failed = result_json(_info(), [SampleTiming(0.0, 0, "refused")] * 2)
    assert failed["status"] == "failed" and failed["failure_reason"] == "All 2 samples failed (errors=2)"
    assert failed["tt100t_seconds"] is None and failed["raw_metrics"] == {"errors": 2}


def test_their_published_result_json_converts_to_their_csv_row() -> None:
    row = csv_row(read_result_json(DATA / "result-mmlu-atomplus.json"), source="published")
    assert set(CSV_COLUMNS) <= set(row)
    # what their normaliser's convert_result_json (d86f533) writes for this file, field by field
    expected = {
        "run_id": "mmlu-pro-atomplus-20260506-020458", "source_table": "logs_file", "hardware_type": "npu",
        "vendor": "rebellions", "benchmark": "mmlu", "model": "meta-llama/Llama-3.1-8B-Instruct",
        "precision": "BF16", "dataset": "TIGER-Lab/MMLU-Pro", "dataset_version": "main", "scenario": None,
        "batch_size": 1, "data_number": 0, "max_output_tokens": None, "is_full_dataset": True,
        "config_fingerprint": "77ced3e61b00e59a2a2934484871f2aa3c9b9110ebae6a7ebabc32a8ce696557",
        "drift_flag": False, "started_at": "2026-05-06T02:08:48Z", "completed_at": "2026-05-06T02:08:50Z",
        "elapsed_seconds": 2, "status": "failed", "tt100t_seconds": None,
        "tt100t_seconds_null_reason": "not applicable", "tps": None, "tps_null_reason": "not recorded",
        "accuracy_pct": None, "accuracy_pct_null_reason": "not recorded",
    }  # fmt: skip
    assert {key: row[key] for key in expected} == expected
    assert str(row["failure_reason"]).startswith("SSH auth failure")
    # deliberate differences (docs/kcloud.md): their dashboards' card name and the flags their API rows carry
    assert row["hardware"] == "Atom+" and row["non_canonical"] is False and row["precision_mismatch"] is False


def test_our_result_row_keeps_the_real_sample_count_in_the_fingerprint() -> None:
    short = csv_row(result_json(_info(n_samples=100), [SampleTiming(1.0, 128)] * 100))
    full = csv_row(result_json(_info(n_samples=13368), [SampleTiming(1.0, 128)] * 2))
    assert short["data_number"] == 100 and short["is_full_dataset"] is False
    assert short["config_fingerprint"] != full["config_fingerprint"]
    assert short["hardware"] == "RNGD" and short["non_canonical"] is True  # their rule 1, applied as theirs
    text = csv_text([short])
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)


def test_loadgen_server_summary_gives_their_fields() -> None:
    (summary,) = read_summaries((DATA / "mlperf-49-server-summary.txt").read_text(encoding="utf-8"))
    assert summary["scenario"] == "Server" and summary["result_perf_valid"] == "INVALID"
    assert summary["result_perf_sps"] == 0.52 and summary["result_perf_tps"] == 67.71
    assert summary["result_perf_latency"] == 2211474158 and summary["result_perf_serv_ttft"] == 145424232
    assert summary["result_perf_serv_tpot"] == 16268109
    assert summary["result_perf_p90_latency_s"] == pytest.approx(2.452098154)
    assert summary["first_token_p99_ns"] == 337048787
    assert summary["unsatisfied"] == ["Early stopping satisfied"]  # why INVALID: their dashboard drops it


def test_their_concatenated_summary_is_read_block_by_block() -> None:
    text = (DATA / "mlperf-124-accuracy-offline-server-summary.txt").read_text(encoding="utf-8")
    offline, server = read_summaries(text)
    assert (offline["scenario"], offline["result_perf_valid"]) == ("Offline", "VALID")
    assert offline["result_perf_tps"] == 20.0916 and offline["result_perf_serv_ttft"] is None
    # the Server block's own figures (their first-match regexes returned the Offline block's)
    assert (server["scenario"], server["result_perf_valid"]) == ("Server", "INVALID")
    assert server["result_perf_sps"] == 0.30 and server["result_perf_tps"] == 39.43
    assert server["result_perf_latency"] == 45470497981 and server["result_perf_serv_tpot"] == 23931549
    assert server["unsatisfied"] == ["Performance constraints satisfied", "Early stopping satisfied"]
    assert read_accuracy(text) == {
        "result_acc_rg_1": 27.6659, "result_acc_rg_2": 10.7239, "result_acc_rg_l": 18.9398,
        "result_acc_rg_lsum": 25.0973,
    }  # fmt: skip


def test_garbage_is_not_a_summary() -> None:
    with pytest.raises(DataFormatError, match="no 'MLPerf Results Summary' block"):
        read_summaries("Traceback (most recent call last):\n  oops\n", source="job.log")
    assert read_accuracy("{'rouge1': __import__('os')}") == {}

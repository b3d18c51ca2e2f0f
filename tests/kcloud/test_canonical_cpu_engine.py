"""Their canonical run on a real serving engine: llama.cpp's server (xllamacpp) on a CPU reference node.

The node is a real sshd on 127.0.0.1 (the agent is pushed over SSH and streams from the
endpoint next to it); the endpoint is llama.cpp's OpenAI-compatible server serving the tiny Llama
the project writes (lab/llm/tiny_model.py), started by the test and stopped by pid. ``pytest
testsuites/llm`` runs their smoke step, their canonical run (short form: 10 + 10 samples), and
LoadGen's Offline and Server runs on the same endpoint. The ``result.json`` and CSV row it writes
are checked field by field against their published examples' fields (tests/kcloud/data; values ours).

"100 output tokens" on this model: the tiny Llama's vocabulary is not Llama-3's (360 tokens: word
pieces, letters, byte fallbacks), so a token here is one of *its* tokens, as the engine counts them
in ``usage.completion_tokens``. The test checks that llama.cpp streams one event per such token
(128 events = ``usage`` 128), so the 100th streamed event is the 100th token the engine counted.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lab.criteria import Outcome
from lab.kcloud.canonical import CanonicalSettings
from lab.kcloud.fingerprint import decoding_of, fingerprint
from lab.kcloud.results import CSV_COLUMNS, read_csv
from lab.llm.cpu_engine import cpu_engine
from lab.llm.tiny_model import TinyLlama, write_tiny_llama
from lab.results import load_run
from lab.transport.sshd import SshdServer
from tests.testbed_inventory import sshd_cpu_node, suite_command, write_real_inventory

pytest.importorskip("gguf", reason="the tiny model is written with the [cpu-reference] extra")
pytest.importorskip("xllamacpp", reason="the CPU engine comes with the [cpu-reference] extra")
REPOSITORY = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
ARTICLES = REPOSITORY / "testsuites" / "llm" / "data" / "kcloud_articles.json"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.usefixtures("quiet_cpu"),  # a whole pytest run: the timing tests must not measure it
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the catalog's CPU reference entry is x86-64"),
]
MODEL = "tiny-llama"
# their prompt over a 2,000-character article is ~560 of the tiny model's tokens, + 128 out:
# the model's trained context (llama.cpp's cap per slot) must hold it
CONTEXT = 2048
# the top-level keys of their one published result.json (data/result-mmlu-atomplus.json) plus the
# MLPerf configuration keys their canonical-run writer adds (mlperf_cnndm100_fp8.py @ eb881eb)
MLPERF_KEYS = {"dataset", "dataset_version", "scenario", "max_output_tokens"}
# their canonical-run writer's raw_metrics keys (mlperf_cnndm100_fp8.py @ eb881eb, ``raw_metrics``)
THEIR_RAW_KEYS = {
    "result_perf_tps", "result_perf_sps", "result_perf_tps_best", "result_perf_sps_best",
    "result_perf_valid", "result_perf_latency", "result_perf_serv_ttft", "result_perf_serv_tpot",
    "result_acc_rg_1", "result_acc_rg_2", "result_acc_rg_l", "result_acc_rg_lsum", "result_acc_total",
    "result_vram_peak", "result_gpu_util",
    "data_number", "errors", "mean_latency_s", "p50_latency_s", "p90_latency_s", "p99_latency_s",
    "total_output_tokens", "framework",
}  # fmt: skip
# their published RNGD canonical-run rows' fingerprint (tests/kcloud/test_results_files.py)
THEIR_RNGD_CANONICAL = "a26fefa19bebce11c1643b6813dede7c5f702bfd350253c82bbac3ff623ea379"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    model = write_tiny_llama(tmp_path / "tiny.gguf", TinyLlama(context=CONTEXT))
    with cpu_engine(model, alias=MODEL, parallel=4, context=CONTEXT) as address:
        yield address


def _usage(address: str, prompt: str, max_tokens: int) -> tuple[int, int]:
    """(text events streamed, usage.completion_tokens) of one greedy streamed request."""
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    body = {"model": MODEL, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    try:
        connection.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
        events = [
            json.loads(line[5:]) for line in connection.getresponse() if line.startswith(b"data: {")
        ]  # bounded: the response ends
    finally:
        connection.close()
    texts = sum(1 for event in events if event["choices"] and event["choices"][0].get("text"))
    usage = [event["usage"]["completion_tokens"] for event in events if event.get("usage")]
    return texts, usage[-1]


def test_the_canonical_run_on_llama_cpp_writes_their_files(engine: str, tmp_path: Path) -> None:
    profile = (REPOSITORY / "inventory" / "profiles" / "kcloud-npu-v1.yaml").read_text(encoding="utf-8")
    settings = CanonicalSettings.from_profile(_settings(profile))
    articles = [item["article"] for item in json.loads(ARTICLES.read_text(encoding="utf-8"))["articles"]]
    # what "100 output tokens" counts on this engine: one streamed event per token of the model's own
    # vocabulary, as usage counts them (the random-weight model never stops early: 128 of 128)
    assert _usage(engine, settings.prompts(articles, 1)[0], settings.max_tokens) == (128, 128)
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(SshdServer(tmp_path / "sshd"))
        node = sshd_cpu_node(
            "kc-cpu", server, {"address": engine, "model": MODEL},
            labels={"kcloud-precision": "F32"}, command_timeout=180,
        )  # fmt: skip
        inventory = write_real_inventory(tmp_path / "inventory.yaml", "kcloud-cpu-engine", node)
        command = suite_command(
            REPOSITORY / "testsuites" / "llm", inventory, tmp_path / "run",
            "-k", "kcloud or offline_tokens_per_second or server_token_latencies",
        )  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=400, check=False
        )
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-2000:]
    run = load_run(tmp_path / "run")
    by = {record.test_id.split("::")[-1].split("[")[0]: record for record in run.records}
    record = by["test_kcloud_canonical_run"]
    measured = {m.name: m for m in record.measurements}
    assert measured["kcloud-smoke"].value == 0 and measured["kcloud-smoke"].verdict is Outcome.PASS
    derived, tps = measured["kcloud-tt100t-derived"], measured["kcloud-tokens-per-second"]
    assert derived.verdict is Outcome.PASS and "informational" in derived.reason
    # every response ran to 128 tokens: the 100th token is measured, not derived; it came after the
    # first and before the last (their derivation scales the mean last-token time by 100/128)
    hundredth = measured["kcloud-time-to-100-tokens"]
    assert hundredth.verdict is Outcome.PASS, hundredth.reason
    ttft_s = float(measured["kcloud-ttft"].value) / 1000  # type: ignore[arg-type]
    mean_request_s = float(derived.value) * 128 / 100  # type: ignore[arg-type]
    assert ttft_s < float(hundredth.value) < mean_request_s  # type: ignore[arg-type]
    tpot_s = float(measured["kcloud-tpot"].value) / 1000  # type: ignore[arg-type]
    assert float(hundredth.value) == pytest.approx(ttft_s + 99 * tpot_s, rel=0.25)  # type: ignore[arg-type]
    # no exporter their monitor reads serves a host CPU; they published no CPU figure
    assert measured["kcloud-power"].verdict is Outcome.SKIP and "lscpu" in measured["kcloud-power"].reason
    vs = measured["kcloud-vs-published"]
    assert vs.verdict is Outcome.SKIP and "published no figure for cpu-x86-64" in vs.reason
    assert record.properties["llm_served_by"] == "not proved: a CPU reference node has no card"

    files = {Path(path).name: run.directory / path for path in derived.evidence}
    document = json.loads(files["kcloud-result.json"].read_text(encoding="utf-8"))
    published = json.loads((DATA / "result-mmlu-atomplus.json").read_text(encoding="utf-8"))
    assert set(document) == set(published) | MLPERF_KEYS
    assert set(published["raw_metrics"]) - {"dataset", "n_train", "batch_size"} <= THEIR_RAW_KEYS
    expected = {
        "hardware": "cpu-x86-64", "vendor": "cpu", "benchmark": "mlperf", "model": MODEL, "precision": "F32",
        "dataset": "kcloud-lab-docs", "dataset_version": "2026-12-04", "scenario": None,
        "max_output_tokens": 128, "status": "completed", "failure_reason": None,
        "config_fingerprint": f"mlperf|{MODEL}|cnn_dailymail|3.0.0|F32|10|128",
    }  # fmt: skip
    assert {key: document[key] for key in expected} == expected
    assert run.manifest is not None and document["run_id"] == f"lab-{run.manifest.run_id}-kc-cpu"
    raw = document["raw_metrics"]
    assert set(raw) >= THEIR_RAW_KEYS
    assert all(key in THEIR_RAW_KEYS or key.startswith("lab_") for key in raw)
    assert raw["data_number"] == 10 and raw["errors"] == 0 and raw["result_perf_valid"] == "VALID"
    assert raw["total_output_tokens"] == 10 * 128 and raw["framework"] == "unknown"
    # their derivations, between their own fields: TT100T = mean request × 100 / 128, tokens/s over the sum
    assert document["tt100t_seconds"] == pytest.approx(raw["mean_latency_s"] * 100 / 128, abs=2e-6)
    assert document["throughput_tokens_per_sec"] == pytest.approx(
        1280 / (raw["mean_latency_s"] * 10), rel=1e-3
    )
    assert raw["p50_latency_s"] <= raw["p90_latency_s"] <= raw["p99_latency_s"]
    # …and the same figures as the record's (the report's) measurements
    assert document["tt100t_seconds"] == pytest.approx(float(derived.value), abs=1e-6)  # type: ignore[arg-type]
    assert document["throughput_tokens_per_sec"] == pytest.approx(float(tps.value), rel=1e-3)  # type: ignore[arg-type]
    assert raw["lab_time_to_100_tokens_s"] == pytest.approx(float(hundredth.value))  # type: ignore[arg-type]
    assert raw["lab_reached_100_tokens"] == 10 and raw["lab_short_run"] is True

    text = files["kcloud-row.csv"].read_text(encoding="utf-8")
    assert (
        text.splitlines()[0]
        == (DATA / "benchmark_results_real.csv").read_text(encoding="utf-8").splitlines()[0]
    )
    assert text.splitlines()[0].split(",") == list(CSV_COLUMNS)
    (row,) = read_csv(files["kcloud-row.csv"])
    expected_row = {
        "hardware": "cpu-x86-64", "hardware_type": "cpu", "vendor": "cpu", "benchmark": "mlperf",
        "model": MODEL,
        "model_canonical_violation": True, "precision": "F32", "dataset": "kcloud-lab-docs",
        "dataset_version": "2026-12-04", "scenario": None, "batch_size": 1, "data_number": 10,
        "max_output_tokens": 128, "is_full_dataset": False, "is_canonical_comparable": False,
        "precision_mismatch": False, "non_canonical": False, "status": "completed",
        "tt100t_seconds": document["tt100t_seconds"], "tps": document["throughput_tokens_per_sec"],
        "tt100t_seconds_null_reason": None, "accuracy_pct": None,
        "accuracy_pct_null_reason": "not applicable",
    }  # fmt: skip
    assert {key: row[key] for key in expected_row} == expected_row
    # their fingerprint over their 12 fields, recomputed from the row: not their RNGD runs' configuration
    keys = ("benchmark", "model", "dataset", "dataset_version", "precision", "batch_size", "data_number",
            "scenario", "max_output_tokens")  # fmt: skip
    fields = {key: row[key] for key in keys}
    assert row["config_fingerprint"] == fingerprint(fields | decoding_of("mlperf"))
    assert row["config_fingerprint"] != THEIR_RNGD_CANONICAL

    # the LoadGen runs beside it, on the same engine: what their NPU path lacks
    offline = by["test_llm_offline_tokens_per_second"]
    assert offline.properties.get("loadgen_validity") == "VALID", offline.properties
    assert offline.outcome is Outcome.PASS
    server = {m.name: m for m in by["test_llm_server_token_latencies"].measurements}
    assert server and all(m.value is not None for m in server.values()), server


def _settings(profile_text: str) -> dict[str, object]:
    settings: dict[str, object] = yaml.safe_load(profile_text)["settings"]
    return settings

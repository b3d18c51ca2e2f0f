"""TEST04's verdict on hand-made Offline results, and LoadGen settings from mlperf.conf + the
lab's user.conf through LoadGen's own ``TestSettings.FromConfig`` (a real LoadGen, in a
subprocess: LoadGen loads mlperf.conf once per process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lab.agent.protocol import Request
from lab.agent.userconf import user_conf
from lab.performance.cache_audit import cache_audit
from lab.performance.result import AgentResult
from lab.performance.rules import MLPERF_CONF_SEEDS

REPOSITORY = Path(__file__).resolve().parents[2]


def _offline(samples_per_second: float, result: str = "VALID") -> AgentResult:
    data = {
        "status": "ok",
        "summary": {"scenario": "Offline", "result": result, "samples_per_second": samples_per_second},
        "detail": {},
        "telemetry": {},
        "settings": {},
        "window": {},
    }
    return AgentResult.parse(json.dumps(data), node="n1")


def test_an_honest_card_is_as_fast_on_one_sample() -> None:
    audit = cache_audit(_offline(1000.0), _offline(1080.0))
    assert audit.passed
    assert "× 1.080, limit × 1.10" in audit.detail


def test_a_card_faster_on_one_repeated_sample_serves_a_cache() -> None:
    audit = cache_audit(_offline(1000.0), _offline(1100.0))
    assert not audit.passed and "a cache, not the device" in audit.detail
    assert not cache_audit(_offline(1000.0), _offline(5000.0)).passed


def test_an_invalid_run_fails_the_audit() -> None:
    assert not cache_audit(_offline(1000.0), _offline(900.0, "INVALID")).passed
    assert cache_audit(_offline(1000.0, "INVALID"), _offline(900.0)).detail == "the reference run is INVALID"


def _request(**changes: object) -> Request:
    data: dict[str, object] = {
        "scenario": "Offline",
        "backend": {"name": "emulated", "options": {"model": "resnet50"}},
        "min_duration_s": 2.0,
        "min_query_count": 1,
        "sample_count": 1024,
        "output_dir": "/tmp/unused",
    }
    data.update(changes)
    return Request(data)


def test_user_conf_holds_the_labs_choices_under_mlperf_confs_names() -> None:
    text, direct = user_conf(_request(), "resnet50", 1500.0)
    assert "resnet50.Offline.min_duration = 2000\n" in text
    assert "resnet50.Offline.target_qps = 1500.0\n" in text
    assert direct == {}
    same, _ = user_conf(_request(issue_same_sample=3), "resnet50", 1500.0)
    assert "resnet50.Offline.performance_issue_same = 1\n" in same
    assert "resnet50.Offline.performance_issue_same_index = 3\n" in same
    ss, direct = user_conf(
        _request(scenario="SingleStream", expected_latency_ms=0.35), "resnet50", None
    )  # LoadGen's parser reads target_latency as whole ms: a fraction is set directly
    assert "target_latency" not in ss.replace("# single_stream_expected_latency_ns", "")
    assert direct == {"single_stream_expected_latency_ns": 350000.0}


SCRIPT = """
import json, sys
import mlperf_loadgen as lg
from lab.agent.protocol import Request
from lab.agent.userconf import from_config, mlperf_conf_seeds, user_conf
request = Request(json.loads(sys.argv[1]))
path = sys.argv[2]
text, _ = user_conf(request, request.mlperf_model, 1500.0)
open(path, "w").write(text)
first = from_config(lg, path, request.mlperf_model, request.scenario)
again = from_config(lg, path, request.mlperf_model, request.scenario)
print(json.dumps({
    "seeds": [first.qsl_rng_seed, first.sample_index_rng_seed, first.schedule_rng_seed],
    "again_seeds": [again.qsl_rng_seed, again.sample_index_rng_seed, again.schedule_rng_seed],
    "reported": mlperf_conf_seeds(request.mlperf_model, request.scenario),
    "min_duration_ms": first.min_duration_ms, "min_query_count": first.min_query_count,
    "expected_qps": first.offline_expected_qps, "psc": first.performance_sample_count_override,
    "issue_same": first.performance_issue_same,
}))
"""


def _loadgen_settings(tmp_path: Path, **changes: object) -> dict[str, object]:
    request = _request(**changes).data
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(request), str(tmp_path / "user.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPOSITORY,
        check=True,
    )
    data = json.loads(out.stdout.splitlines()[-1])
    assert isinstance(data, dict)
    return data


def test_loadgen_applies_mlperf_conf_then_the_labs_user_conf(tmp_path: Path) -> None:
    short = _loadgen_settings(tmp_path)
    seeds = list(MLPERF_CONF_SEEDS["6.0"])
    assert short["seeds"] == seeds and short["again_seeds"] == seeds  # not LoadGen's defaults (0)
    assert short["reported"] == seeds
    assert short["min_duration_ms"] == 2000 and short["min_query_count"] == 1  # user.conf wins
    assert short["expected_qps"] == 1500.0 and short["psc"] == 1024
    same = _loadgen_settings(tmp_path, issue_same_sample=3)
    assert same["issue_same"] is True


def test_a_full_length_run_keeps_mlperf_confs_minimums(tmp_path: Path) -> None:
    full = _loadgen_settings(tmp_path, min_duration_s=600.0, min_query_count=24576)
    assert full["min_duration_ms"] == 600000 and full["min_query_count"] == 24576

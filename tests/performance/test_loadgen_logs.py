"""Reading LoadGen 6.0.17's own logs (the files in data/ are real outputs of that version)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.agent.summary import parse_detail, parse_summary
from lab.performance.result import AgentError, AgentResult

DATA = Path(__file__).parent / "data"


def test_singlestream_summary_fields() -> None:
    summary = parse_summary((DATA / "singlestream_valid_summary.txt").read_text())
    assert summary["scenario"] == "SingleStream"
    assert summary["result"] == "VALID"
    assert summary["singlestream_p90_ns"] == 2131048
    latencies = summary["latency_ns"]
    assert isinstance(latencies, dict)
    assert latencies["90.00"] == 2131048 and latencies["99.90"] == 3318496
    assert summary["min_duration_satisfied"] is True
    assert summary["min_duration_ms"] == 1000


def test_offline_invalid_summary_keeps_why() -> None:
    summary = parse_summary((DATA / "offline_invalid_summary.txt").read_text())
    assert summary["result"] == "INVALID"
    assert summary["samples_per_second"] == pytest.approx(1724.7)
    assert summary["min_duration_satisfied"] is False
    assert summary["early_stopping_satisfied"] is True


def test_server_summary_has_completed_and_scheduled_rates() -> None:
    summary = parse_summary((DATA / "server_summary.txt").read_text())
    assert summary["completed_samples_per_second"] == pytest.approx(467.05)
    assert summary["scheduled_samples_per_second"] == pytest.approx(467.84)
    assert summary["performance_constraints_satisfied"] is True
    assert summary["target_latency_ns"] == 15000000


def test_detail_log_key_values() -> None:
    detail = parse_detail(
        (DATA / "offline_detail_excerpt.txt").read_text() + "not a log line\n:::MLLOG {broken\n"
    )
    assert detail["loadgen_version"] == "6.0.17 @ d6147c7eb7"
    assert detail["result_validity"] == "INVALID"
    assert detail["result_samples_per_second"] == 1724.7
    assert str(detail["result_invalid_reason"]).startswith("Increase expected QPS")
    assert detail["errors"] == [] and detail["warnings"] == []


def _result(summary_file: str, **changes: object) -> str:
    data: dict[str, object] = {
        "status": "ok",
        "summary": parse_summary((DATA / summary_file).read_text()),
        "detail": {"loadgen_version": "6.0.17 @ d6147c7eb7"},
        "telemetry": {"samples": []},
        "settings": {"min_duration_s": 1.0},
        "window": {"start": 0.1, "end": 1.2},
        "short_run": True,
    }
    data.update(changes)
    return "some noise\n" + json.dumps(data) + "\n"


def test_agent_result_names_the_figures() -> None:
    result = AgentResult.parse(_result("singlestream_valid_summary.txt"), node="n1")
    assert result.valid and result.short_run
    assert result.latency_ms("90.00") == pytest.approx(2.131048)
    assert result.latency_ms("12.34") is None
    assert result.window == (0.1, 1.2)
    assert result.loadgen_version == "6.0.17 @ d6147c7eb7"
    server = AgentResult.parse(_result("server_summary.txt"), node="n1")
    assert server.samples_per_second == pytest.approx(467.05)
    assert server.performance_constraints_met is True


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        ("", "printed no result"),
        ("{not json\n", "not JSON"),
        ("[1, 2]\n", "not a JSON object"),
        ('{"status": "error", "error": "device busy: npu0"}\n', "device busy: npu0"),
        ('{"status": "ok", "summary": {}}\n', "no 'detail' object"),
    ],
)
def test_unusable_agent_output_is_an_agent_error(stdout: str, message: str) -> None:
    with pytest.raises(AgentError, match=message):
        AgentResult.parse(stdout, node="n1", stderr="trace")

"""The MLPerf rule checker, rule by rule, on LoadGen 6.0.17 summaries (data/) and hand-made
variants of them: a full-length run with mlperf.conf's seeds, a short run, wrong seeds, too few
queries, early stopping not met, an INVALID result, accuracy and audits missing or failed."""

from __future__ import annotations

from pathlib import Path

from lab.performance.rules import (
    HELD,
    MLPERF_CONF_SEEDS,
    NOT_APPLICABLE,
    NOT_HELD,
    NOT_RUN,
    check_rules,
    parameters_used,
)

DATA = Path(__file__).parent / "data"
VERSION = "6.0.17 @ d6147c7eb7"
SEEDS = MLPERF_CONF_SEEDS["6.0"]
ACCURACY = {
    "task": "digits",
    "metric": "top1",
    "value": 0.972,
    "reference": 0.975,
    "target_fraction": 0.99,
    "passed": True,
    "log": "mlperf_log_accuracy.json",
}
AUDITS = {
    "TEST01": {"passed": True, "detail": "64 outputs match"},
    "TEST04": {"passed": True, "detail": "× 1.01"},
}


def _full_length(name: str, **parameters: str) -> str:
    """A real summary turned into what a full-length MLPerf run prints: 600 s, mlperf.conf's seeds."""
    text = (DATA / name).read_text()
    values = {
        "min_duration (ms)": "600000",
        "qsl_rng_seed": str(SEEDS[0]),
        "sample_index_rng_seed": str(SEEDS[1]),
        "schedule_rng_seed": str(SEEDS[2]),
        **parameters,
    }
    lines = []
    for line in text.splitlines():
        key = line.partition(":")[0].strip()
        lines.append(f"{key} : {values[key]}" if key in values and ":" in line else line)
    return "\n".join(lines) + "\n"


def _rules(texts: list[str], **kwargs: object) -> dict[str, tuple[str, str]]:
    report = check_rules(texts, loadgen_version=VERSION, **kwargs)  # type: ignore[arg-type]
    return {rule.name: (rule.status, rule.detail) for rule in report.rules}


def test_a_full_length_run_with_accuracy_and_audits_holds_every_rule() -> None:
    text = _full_length("singlestream_valid_summary.txt", min_query_count="1024")
    report = check_rules([text], loadgen_version=VERSION, accuracy=ACCURACY, audits=AUDITS)
    assert report.summary == "MLPerf rules: all held" and report.held
    statuses = {rule.name: rule.status for rule in report.rules}
    assert set(statuses.values()) == {HELD}
    assert list(statuses) == [
        "result VALID",
        "duration ≥ 600 s",
        "query count",
        "seeds",
        "early stopping",
        "accuracy",
        "TEST01",
        "TEST04",
    ]
    assert report.to_json()["held"] is True


def test_a_short_run_says_so_through_the_duration_rule() -> None:
    text = _full_length("singlestream_valid_summary.txt", **{"min_duration (ms)": "2000"})
    report = check_rules([text], loadgen_version=VERSION, accuracy=ACCURACY, audits=AUDITS)
    assert not report.held
    assert report.summary == "MLPerf rules: did not hold: duration ≥ 600 s (2 s)"


def test_duration_met_in_settings_but_not_by_the_run() -> None:
    text = _full_length("offline_invalid_summary.txt", samples_per_query="24576")
    status, detail = _rules([text], settings={"sample_count": 1024})["duration ≥ 600 s"]
    assert status == NOT_HELD and "min duration not satisfied" in detail


def test_seeds_other_than_mlperf_conf_do_not_hold() -> None:
    text = (DATA / "singlestream_valid_summary.txt").read_text()  # LoadGen's defaults: 0
    status, detail = _rules([text])["seeds"]
    assert status == NOT_HELD
    assert f"qsl_rng_seed 0, mlperf.conf {SEEDS[0]}" in detail
    assert f"schedule_rng_seed 0, mlperf.conf {SEEDS[2]}" in detail


def test_seeds_of_an_unknown_loadgen_come_from_what_the_agent_read() -> None:
    text = _full_length("singlestream_valid_summary.txt")
    unknown = check_rules([text], loadgen_version="9.9.1")
    assert {r.name: r.status for r in unknown.rules}["seeds"] == NOT_RUN
    reported = check_rules([text], loadgen_version="9.9.1", settings={"mlperf_conf_seeds": list(SEEDS)})
    assert {r.name: r.status for r in reported.rules}["seeds"] == HELD
    other = check_rules([text], loadgen_version="9.9.1", settings={"mlperf_conf_seeds": [1, 2, 3]})
    assert {r.name: r.status for r in other.rules}["seeds"] == NOT_HELD


def test_offline_needs_mlperf_confs_sample_count() -> None:
    few = _full_length("offline_invalid_summary.txt")  # 550 samples in its one query
    status, detail = _rules([few], settings={"sample_count": 1024})["query count"]
    assert (status, detail) == (NOT_HELD, "550 samples, mlperf.conf asks ≥ 1024")
    status, detail = _rules([few], settings={"sample_count": 100_000})["query count"]
    assert detail == "550 samples, mlperf.conf asks ≥ 24576"
    enough = _full_length("offline_invalid_summary.txt", samples_per_query="24576")
    assert _rules([enough], settings={"sample_count": 100_000})["query count"] == (HELD, "24576 samples")


def test_multistream_needs_662_queries() -> None:
    text = _full_length("singlestream_valid_summary.txt").replace(
        "Scenario : SingleStream", "Scenario : MultiStream"
    )
    status, detail = _rules([text])["query count"]
    assert (status, detail) == (NOT_HELD, "100 queries, mlperf.conf asks ≥ 662")
    more = text.replace("min_query_count : 100", "min_query_count : 662")
    assert _rules([more])["query count"][0] == HELD


def test_early_stopping_not_met_says_loadgens_words() -> None:
    text = _full_length("server_summary.txt")
    status, detail = _rules([text])["early stopping"]
    assert status == NOT_HELD
    assert "Would need to run at least 224 more queries" in detail


def test_early_stopping_does_not_apply_to_offline() -> None:
    text = _full_length("offline_invalid_summary.txt")
    assert _rules([text])["early stopping"][0] == NOT_APPLICABLE


def test_every_run_behind_a_figure_must_hold() -> None:
    good = _full_length("singlestream_valid_summary.txt")
    invalid = _full_length("offline_invalid_summary.txt")
    rules = _rules([good, invalid])
    assert rules["result VALID"] == (NOT_HELD, "INVALID")
    assert _rules([good])["result VALID"][0] == HELD
    assert _rules([])["result VALID"][0] == NOT_HELD  # no run, no figure


def test_missing_accuracy_and_audits_are_not_run_never_held() -> None:
    text = _full_length("singlestream_valid_summary.txt", min_query_count="1024")
    report = check_rules([text], loadgen_version=VERSION)
    assert not report.held
    assert report.summary == "MLPerf rules: not run: accuracy, TEST01, TEST04"


def test_failed_accuracy_and_audits_are_named() -> None:
    text = _full_length("singlestream_valid_summary.txt", min_query_count="1024")
    accuracy = {**ACCURACY, "value": 0.41, "passed": False}
    audits = {**AUDITS, "TEST04": {"passed": False, "detail": "one sample repeated × 3.2: a cache"}}
    report = check_rules([text], loadgen_version=VERSION, accuracy=accuracy, audits=audits)
    assert report.summary == (
        "MLPerf rules: did not hold: accuracy (top1 0.41, target 0.99 × 0.975); "
        "TEST04 (one sample repeated × 3.2: a cache)"
    )
    assert [r.name for r in report.failed()] == ["accuracy", "TEST04"]


def test_malformed_accuracy_is_not_run() -> None:
    text = _full_length("singlestream_valid_summary.txt")
    assert _rules([text], accuracy={"passed": "yes"})["accuracy"][0] == NOT_RUN
    assert _rules([text], audits={"TEST01": "passed"})["TEST01"][0] == NOT_RUN


def test_test_parameters_section() -> None:
    values = parameters_used((DATA / "server_summary.txt").read_text())
    assert values["target_latency (ns)"] == "15000000"
    assert values["qsl_rng_seed"] == "0" and values["min_duration (ms)"] == "500"

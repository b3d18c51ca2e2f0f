"""``pytest testsuites/llm`` against two nodes behind a real sshd, each with an emulated card's endpoint.

The agent is pushed over SSH and runs LoadGen next to the endpoint (here both on 127.0.0.1).
A healthy endpoint passes every LLM criterion from a VALID Offline run; an endpoint whose card
corrupts tokens FAILs accuracy (ROUGE-L) while its speed still passes; one that cuts its
streams FAILs TEST06.
"""

from __future__ import annotations

import contextlib
import platform
import subprocess
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.results import load_run
from lab.transport.sshd import SshdServer
from tests.testbed_inventory import sshd_cpu_node, suite_command, write_real_inventory

from .conftest import MODEL, EndpointFactory

REPOSITORY = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.usefixtures("quiet_cpu"),  # a whole pytest run: the timing tests must not measure it
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the catalog's CPU reference entry is x86-64"),
]
CARD = {"prefill_s_per_token": 0.001, "decode_base_s": 0.01, "decode_s_per_running": 0.001}


def test_the_llm_suite_certifies_a_healthy_endpoint_and_fails_the_faulty_ones(
    llm_endpoint: EndpointFactory, tmp_path: Path
) -> None:
    endpoints = {
        "llm-ok": llm_endpoint(card=CARD),
        "llm-wrong": llm_endpoint(card=CARD, faults={"wrong_tokens": True}),
        "llm-cut": llm_endpoint(card=CARD, faults={"cut_after_tokens": 3}),
    }
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(SshdServer(tmp_path / f"sshd-{name}")) for name in endpoints}
        nodes = "".join(
            sshd_cpu_node(name, servers[name], {"address": endpoint.address, "model": MODEL})
            for name, endpoint in endpoints.items()
        )
        inventory = write_real_inventory(tmp_path / "inventory.yaml", "llm-test", nodes)
        command = suite_command(
            REPOSITORY / "testsuites" / "llm", inventory, tmp_path / "run",
            "-k", "not max_rate and not sweep and not grid",  # searched and swept in test_llm_testbed.py,
            # the grid in test_llm_grid.py
        )  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=False
        )
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-2000:]
    run = load_run(tmp_path / "run")
    by = {(record.node, record.test_id.split("::")[-1].split("[")[0]): record for record in run.records}
    verdicts = {
        key: (record.outcome, {m.name: (m.verdict, m.value) for m in record.measurements})
        for key, record in by.items()
    }
    outcome, measured = verdicts[("llm-ok", "test_llm_offline_tokens_per_second")]
    assert outcome is Outcome.PASS, (outcome, measured)
    assert by[("llm-ok", "test_llm_offline_tokens_per_second")].properties.get("loadgen_validity") == "VALID"
    # MLPerf's rules on the LLM figures too: a short run, its LoadGen settings not mlperf.conf's
    rules = by[("llm-ok", "test_llm_offline_tokens_per_second")].properties.get("mlperf_rules")
    assert isinstance(rules, dict) and str(rules["summary"]).startswith("MLPerf rules: did not hold: ")
    statuses = {rule["name"]: rule["status"] for rule in rules["rules"]}  # type: ignore[index, union-attr]
    assert statuses["result VALID"] == "held" and statuses["duration ≥ 600 s"] == "did not hold"
    assert statuses["seeds"] == "did not hold"
    assert verdicts[("llm-ok", "test_llm_server_token_latencies")][0] in (Outcome.PASS, Outcome.MARGINAL)
    assert verdicts[("llm-ok", "test_llm_accuracy")][0] is Outcome.PASS
    outcome, measured = verdicts[("llm-wrong", "test_llm_accuracy")]
    assert outcome is Outcome.FAIL and measured["llm-accuracy-rouge-l"][0] is Outcome.FAIL, measured
    assert verdicts[("llm-wrong", "test_llm_offline_tokens_per_second")][0] is Outcome.PASS
    outcome, measured = verdicts[("llm-cut", "test_llm_accuracy")]
    assert outcome is Outcome.FAIL and measured["llm-test06"][0] is Outcome.FAIL, measured

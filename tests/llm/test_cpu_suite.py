"""``pytest testsuites/llm`` end to end on a real engine: a CPU reference node whose ``serving.launch``
starts llama.cpp's server (lab/llm/cpu_engine.py) serving the tiny Llama, behind a real sshd.

The suite launches the engine over SSH, waits from the node until it answers, runs every LLM
test (short durations; the K-Cloud canonical run's smoke step included) and stops it by pid.
Accuracy is judged against the numpy reference set (``serving.references``,
lab/llm/tiny_reference.py), so a tiny model of another seed served under the same name FAILs
it; a launch that exits is ERROR with its log's tail.
"""

from __future__ import annotations

import contextlib
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.llm.cpu_engine import free_port
from lab.llm.tiny_model import TinyLlama, write_tiny_llama
from lab.results import load_run
from lab.transport.sshd import SshdServer
from tests.testbed_inventory import sshd_cpu_node, suite_command, write_real_inventory

from .conftest import process_gone

pytest.importorskip("gguf", reason="the tiny model is written with the [cpu-reference] extra")
pytest.importorskip("xllamacpp", reason="the CPU engine comes with the [cpu-reference] extra")
REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCES = REPOSITORY / "testsuites" / "llm" / "data" / "tiny-llama-references.json"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.usefixtures("quiet_cpu"),  # a whole pytest run: the timing tests must not measure it
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the catalog's CPU reference entry is x86-64"),
]
ALIAS = "tiny-llama"
TESTS = (
    "test_llm_grid",
    "test_llm_offline_tokens_per_second",
    "test_llm_tokens_per_watt",
    "test_llm_server_token_latencies",
    "test_llm_server_max_rate",
    "test_llm_concurrency_sweep",
    "test_llm_accuracy",
    "test_kcloud_canonical_run",
)


def _engine(model: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "lab.llm.cpu_engine", "--model", str(model), "--alias", ALIAS,
        "--port", str(port), "--parallel", "4",
    ]  # fmt: skip


def test_the_llm_suite_runs_end_to_end_on_llama_cpp_launched_by_the_suite(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("cpu-llm", "cpu-other-seed", "cpu-broken")}
    launches = {
        "cpu-llm": _engine(write_tiny_llama(tmp_path / "tiny.gguf"), ports["cpu-llm"]),
        # another seed, the same name: a model whose answers are not the references
        "cpu-other-seed": _engine(
            write_tiny_llama(tmp_path / "other.gguf", TinyLlama(seed=7)), ports["cpu-other-seed"]
        ),
        "cpu-broken": [
            sys.executable,
            "-c",
            "print('cpu_engine: no model file at /srv/missing.gguf'); exit(2)",
        ],
    }
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(SshdServer(tmp_path / f"sshd-{name}")) for name in launches}
        nodes = "".join(
            sshd_cpu_node(
                name, servers[name], {
                    "address": f"127.0.0.1:{ports[name]}", "model": ALIAS, "launch": argv,
                    "references": str(REFERENCES),
                },
                command_timeout=60,
            )
            for name, argv in launches.items()
        )  # fmt: skip
        inventory = write_real_inventory(tmp_path / "inventory.yaml", "llm-cpu", nodes)
        command = suite_command(
            REPOSITORY / "testsuites" / "llm", inventory, tmp_path / "run",
            "-k", "cpu-llm or test_llm_accuracy",  # the other two nodes: their accuracy only
        )  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=400, check=False
        )
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-2000:]
    run = load_run(tmp_path / "run")
    by = {(r.node, r.test_id.split("::")[-1].split("[")[0]): r for r in run.records}
    assert {test for node, test in by if node == "cpu-llm"} == set(TESTS), sorted(by)
    # the grid's precisions (bf16, fp8, int8) are not the tiny model's f32: each cell SKIPs, saying so
    grid = [r for r in run.records if r.node == "cpu-llm" and "test_llm_grid" in r.test_id]
    assert grid and all(r.outcome is Outcome.SKIP and "serves no" in r.reason for r in grid), grid

    def outcome(node: str, test: str) -> tuple[Outcome, dict[str, tuple[Outcome, object]]]:
        record = by[(node, test)]
        return record.outcome, {m.name: (m.verdict, m.value) for m in record.measurements}

    ok = "cpu-llm"
    for test in (
        "test_llm_offline_tokens_per_second",
        "test_llm_server_max_rate",
        "test_llm_concurrency_sweep",
    ):
        assert outcome(ok, test)[0] is Outcome.PASS, (test, outcome(ok, test), by[(ok, test)].error)
    assert by[(ok, "test_llm_offline_tokens_per_second")].properties.get("loadgen_validity") == "VALID"
    assert by[(ok, "test_llm_concurrency_sweep")].properties.get("loadgen_validity") == "VALID"
    assert outcome(ok, "test_llm_server_token_latencies")[0] in (Outcome.PASS, Outcome.MARGINAL)
    # board watts have no meaning on a CPU node: a SKIP that says why
    skipped = by[(ok, "test_llm_tokens_per_watt")]
    assert skipped.outcome is Outcome.SKIP and "CPU reference node" in skipped.reason, skipped.reason
    # accuracy against the numpy references: every greedy token equal, TEST06 (length rule too) held
    verdict, measured = outcome(ok, "test_llm_accuracy")
    assert verdict is Outcome.PASS, (measured, by[(ok, "test_llm_accuracy")].error)
    assert measured["llm-accuracy-rouge-l"] == (Outcome.PASS, 1.0) and measured["llm-test06"][1] == 0
    assert by[(ok, "test_llm_accuracy")].properties.get("llm_exact_match") == 1.0
    assert by[(ok, "test_llm_accuracy")].properties.get("llm_references") == str(REFERENCES)

    # the K-Cloud team's canonical run (their smoke step in a short run): a verdict, not an ERROR
    assert outcome(ok, "test_kcloud_canonical_run")[0] in (Outcome.PASS, Outcome.MARGINAL, Outcome.FAIL), by[
        (ok, "test_kcloud_canonical_run")
    ].error

    verdict, measured = outcome("cpu-other-seed", "test_llm_accuracy")
    assert verdict is Outcome.FAIL and measured["llm-accuracy-rouge-l"][0] is Outcome.FAIL, measured
    assert measured["llm-test06"][1] == 0  # well-formed answers, just not the model's

    broken = by[("cpu-broken", "test_llm_accuracy")]
    assert broken.outcome is Outcome.ERROR and broken.error is not None, broken.outcome
    assert broken.error.type.endswith(".LaunchError"), broken.error
    assert "exited before it answered" in broken.error.message
    assert "no model file at /srv/missing.gguf" in broken.error.message, broken.error.message

    # nothing of the engines survives: the pids the suite recorded are gone
    launched = {
        str(record.properties["llm_launch"]) for record in run.records if "llm_launch" in record.properties
    }
    pids = {int(match.group(1)) for text in launched if (match := re.match(r"pid (\d+):", text))}
    assert len(pids) == 2, launched  # one engine per healthy node, started once for all its tests
    assert all(process_gone(pid) for pid in pids), pids

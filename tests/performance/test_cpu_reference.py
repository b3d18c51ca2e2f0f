"""The real backend: onnxruntime on the CPU, behind a real sshd, certified end to end.

The model is the project's own (built with ``onnx``, nothing downloaded); the agent is
pushed over SFTP and LoadGen runs on the "node" (this machine, through SSH).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from lab.criteria import Outcome, evaluate
from lab.inventory import load_inventory
from lab.inventory.model import Node
from lab.performance.node_session import PerformanceSession
from lab.transport.ssh import SSHTransport
from lab.transport.sshd import SshdServer

from .conftest import REPOSITORY

pytest.importorskip("onnxruntime", reason="the CPU reference backend needs the [cpu-reference] extra")
pytest.importorskip("onnx", reason="the CPU reference model is built with the [cpu-reference] extra")
pytestmark = pytest.mark.integration


def test_cpu_reference_node_gives_valid_loadgen_runs_and_verdicts(
    sshd: SshdServer, ssh_node: Callable[..., Node]
) -> None:
    labels: dict[str, Any] = {"perf-backend": "onnxruntime-cpu", "perf-python": sys.executable}
    node = ssh_node(sshd, labels=labels, emulated=False, command_timeout=120.0)
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    profile = inventory.profiles["kcloud-npu-v1"]
    transport = SSHTransport(node)
    with PerformanceSession(transport, node, inventory.catalog, profile, duration_override=1.0) as perf:
        plan = perf.plan(None)
        assert plan.backend.options["model_path"].startswith("/tmp/kcloud-agent.")  # pushed over SFTP
        offline = perf.run(plan.offline([0]), "offline")
        single = perf.run(plan.singlestream(0), "singlestream")
    assert offline.valid, offline.summary_text
    assert single.valid, single.summary_text
    assert offline.backends[0]["name"] == "onnxruntime-cpu" and offline.backends[0]["exercised"] is True
    assert offline.loadgen_version is not None and offline.loadgen_version.startswith("6.0.17")
    assert offline.samples_per_second is not None and offline.samples_per_second > 100
    assert offline.ops_per_sample == pytest.approx(2 * (64 * 256 + 256 * 256 + 256 * 10))  # the digits MLP
    # summary and detail logs fetched back, and the outputs the run sampled for the TEST01 audit
    assert [path.rsplit("-", 1)[-1] for path in offline.evidence] == [
        "mlperf_log_summary.txt",
        "mlperf_log_detail.txt",
        "mlperf_log_accuracy.json",
    ]
    p90 = single.latency_ms("90.00")
    verdict = evaluate(profile.criteria["singlestream-p90-latency"], p90)
    assert verdict.verdict is Outcome.PASS, verdict.reason  # a small MLP on a CPU: far below 10 ms
    assert offline.short_run and single.short_run

"""``pytest testsuites/llm -k grid`` against a node behind a real sshd whose endpoint serves two precisions.

The agent is pushed over SSH and runs LoadGen next to the emulated endpoint, which serves a bf16
and an fp8 build of the model (``serving.models``), each timed by its own card model. The
profile's grid (kcloud-npu-v1, scaled down by the short run) gives a verdict per cell for bf16 and
fp8, SKIPs int8 with the reason, and the fp8 cells decode faster, as their model says; a node
whose endpoint cuts its streams has no figure for a cell (ERROR), never a short one.
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
    pytest.mark.usefixtures("quiet_cpu"),
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the catalog's CPU reference entry is x86-64"),
]
BF16 = {"prefill_s_per_token": 0.0005, "decode_base_s": 0.008, "decode_s_per_running": 0.0005}
FP8 = {"prefill_s_per_token": 0.00025, "decode_base_s": 0.004, "decode_s_per_running": 0.0005}


def test_the_grid_judges_each_cell_per_precision_and_skips_a_precision_not_served(
    llm_endpoint: EndpointFactory, tmp_path: Path
) -> None:
    fp8 = {f"{MODEL}-fp8": {"precision": "fp8", "card": FP8}}
    endpoints = {
        "grid-ok": llm_endpoint(card=BF16, models=fp8),
        "grid-cut": llm_endpoint(card=BF16, models=fp8, faults={"cut_after_tokens": 3}),
    }
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(SshdServer(tmp_path / f"sshd-{name}")) for name in endpoints}
        serving = {"model": MODEL, "models": {"bf16": MODEL, "fp8": f"{MODEL}-fp8"}}
        nodes = "".join(
            sshd_cpu_node(name, servers[name], {"address": endpoint.address, **serving})
            for name, endpoint in endpoints.items()
        )
        inventory = write_real_inventory(tmp_path / "inventory.yaml", "llm-grid", nodes)
        command = suite_command(
            REPOSITORY / "testsuites" / "llm" / "test_llm_grid.py", inventory, tmp_path / "run",
            # grid-cut: one cell is enough to show the ERROR
            "-k", "grid-ok or (grid-cut and 128x1024-bf16)",
        )  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=False
        )
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-2000:]
    run = load_run(tmp_path / "run")
    # test ids: test_llm_grid[128x1024-fp8-grid-ok]
    cells = {(r.node, "-".join(r.test_id.split("[")[-1].split("-")[:2])): r for r in run.records}
    for precision in ("bf16", "fp8"):
        for shape in ("128x128", "1024x128", "128x1024"):
            record = cells[("grid-ok", f"{shape}-{precision}")]
            assert record.outcome is Outcome.PASS, (shape, precision, record.reason, record.error)
            names = {m.name.split(".")[0] for m in record.measurements}
            assert names == {"llm-grid-ttft-p99", "llm-grid-tpot-p99", "llm-grid-tokens-per-second"}
            assert "short run" in str(record.properties["llm_grid_lengths"])
    # the long-output cell has a limit of its own (MLPerf's TPOT bound): judged, not only recorded
    long_cell = cells[("grid-ok", "128x1024-bf16")]
    judged = {m.name: m for m in long_cell.measurements}
    assert judged["llm-grid-tpot-p99.128x1024"].limits.maximum == 200
    assert "reported by the endpoint" in str(long_cell.properties["llm_grid_model"])

    def tpot(precision: str) -> float:
        record = cells[("grid-ok", f"128x1024-{precision}")]
        return next(float(m.value) for m in record.measurements if m.name.startswith("llm-grid-tpot"))  # type: ignore[arg-type]

    assert tpot("fp8") < tpot("bf16") * 0.8  # its card model decodes in half the time
    skipped = cells[("grid-ok", "128x128-int8")]
    assert skipped.outcome is Outcome.SKIP and "serves no int8 model" in skipped.reason
    cut = cells[("grid-cut", "128x1024-bf16")]
    assert cut.outcome is Outcome.ERROR and "cut without a finish reason" in f"{cut.reason} {cut.error}"

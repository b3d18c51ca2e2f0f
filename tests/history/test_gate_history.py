"""The health gate's quarantines are ingested into the history, and ``lab history`` flags a
node the gate keeps failing across nights (real SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import main
from lab.health import quarantine, release
from lab.history import open_history
from lab.results import load_run
from tests.history.nightly import nightly_run


def test_a_node_failing_the_gate_two_nights_is_flagged(
    tmp_path: Path, history_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    nights = [nightly_run(tmp_path, night) for night in range(3)]
    quarantine(nights[0], "n1", "kernel-aer-correctable: 812 > max 100")
    quarantine(nights[0], "n2", "kernel-aer-fatal: 1 > max 0")
    release(nights[0], "n2", by="operator")  # released, still a gate failure that night
    quarantine(nights[2], "n1", "kernel-aer-correctable: 950 > max 100")
    with open_history(history_target) as db:
        for night in nights:
            db.ingest(load_run(night))
        db.ingest(load_run(nights[2]))  # re-ingest replaces, never duplicates
        failures = db.gate_failures(limit=10)
    assert {node: [reason for _, reason in held] for node, held in failures.items()} == {
        "n1": ["kernel-aer-correctable: 812 > max 100", "kernel-aer-correctable: 950 > max 100"],
        "n2": ["kernel-aer-fatal: 1 > max 0"],
    }
    assert main(["history", "list", "--db", history_target]) == 0
    lines = capsys.readouterr().out.splitlines()
    flagged = [line for line in lines if line.startswith("FLAG: ")]
    assert len(flagged) == 1 and flagged[0].startswith(
        "FLAG: n1 failed the health gate in 2 of the last 3 runs"
    )
    assert any(line.startswith("n2 failed the health gate in 1 of the last 3 runs") for line in lines)

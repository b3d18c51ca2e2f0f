"""Quarantine files in the run directory: written, read by any worker, released."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.health import quarantine, quarantined, read_quarantines, release


def test_quarantine_and_release(tmp_path: Path) -> None:
    assert quarantined(tmp_path, "n1") is None
    quarantine(tmp_path, "n1", "kernel-aer-correctable: too many", suite="functional")
    held = quarantined(tmp_path, "n1")
    assert (
        held is not None and held.reason == "kernel-aer-correctable: too many" and held.suite == "functional"
    )
    released = release(tmp_path, "n1", by="operator")
    assert released.released_by == "operator"
    assert quarantined(tmp_path, "n1") is None
    # the record stays, marked released, for the report and the history
    assert [(q.node, q.active) for q in read_quarantines(tmp_path)] == [("n1", False)]
    with pytest.raises(LookupError, match="not quarantined"):
        release(tmp_path, "n1", by="operator")


def test_node_names_cannot_escape_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a node name"):
        quarantine(tmp_path, "../x", "r")


def test_lab_node_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lab.cli import main

    quarantine(tmp_path, "n1", "kernel-aer-fatal: 1 errors > max 0")
    assert main(["node", "release", "--run-dir", str(tmp_path), "--by", "kim", "n1"]) == 0
    assert "n1: released" in capsys.readouterr().out
    assert quarantined(tmp_path, "n1") is None and read_quarantines(tmp_path)[0].released_by == "kim"
    assert main(["node", "release", "--run-dir", str(tmp_path), "n1"]) == 1
    assert "not quarantined" in capsys.readouterr().err

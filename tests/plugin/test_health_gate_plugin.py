"""--lab-gate in the plugin on FakeTransport: a node failing the first suite's gate is SKIP
"quarantined: ..." for the rest of the run with ``on``, and let back by ``auto-lift`` when the
next suite's gate passes; ``off`` reads nothing."""

from __future__ import annotations

import json

import pytest

from lab.criteria import Outcome
from lab.health import read_quarantines
from lab.results import load_run
from tests.plugin.conftest import write_fake_conftest

ARGS = (
    "--lab-inventory",
    "inventory.yaml",
    "--lab-no-lease",
    "--lab-run-dir",
    "run",
    "-p",
    "no:cacheprovider",
)
GATE_CRITERION = """\
  kernel-aer-correctable:
    axis: stability
    unit: errors
    max: 100
    description: correctable AER errors
"""
# alpha's first reading is a storm (900 correctable errors), later ones grow by 5: healthy again
PROBE_SCRIPT = """
from lab.transport.fake import ScriptedReply
readings = iter([900, 905, 910, 915])

def probe(_text):
    count = next(readings) if node.name == "alpha" else 0
    path = "/sys/bus/pci/devices/0000:17:00.0/aer_dev_correctable"
    return ScriptedReply(stdout=f"@@dmesg-status 0\\n@@file {path}\\nTOTAL_ERR_COR {count}\\n@@end\\n")

fake.respond_with("dmesg", probe)
"""


def _project(lab_project: pytest.Pytester) -> None:
    profile = lab_project.path / "profiles" / "plugin-test.yaml"
    profile.write_text(profile.read_text(encoding="utf-8") + GATE_CRITERION, encoding="utf-8")
    write_fake_conftest(lab_project, PROBE_SCRIPT)
    for suite in ("suite_a", "suite_b"):
        (lab_project.path / suite).mkdir()
        (lab_project.path / suite / f"test_{suite}.py").write_text(
            "def test_one(node):\n    pass\n", encoding="utf-8"
        )


@pytest.mark.parametrize(("mode", "second_suite"), [("on", Outcome.SKIP), ("auto-lift", Outcome.PASS)])
def test_quarantine_and_auto_lift(lab_project: pytest.Pytester, mode: str, second_suite: Outcome) -> None:
    _project(lab_project)
    lab_project.runpytest("--lab-gate", mode, "--lab-select", "name=alpha or name=beta", *ARGS)
    run = load_run(lab_project.path / "run")
    outcomes = {(r.test_id.split("/")[0], r.node): (r.outcome, r.reason) for r in run.records}
    first, reason = outcomes[("suite_a", "alpha")]
    assert first is Outcome.SKIP and reason.startswith("quarantined: kernel-aer-correctable: "), outcomes
    assert outcomes[("suite_b", "alpha")][0] is second_suite
    assert (
        outcomes[("suite_a", "beta")][0] is Outcome.PASS and outcomes[("suite_b", "beta")][0] is Outcome.PASS
    )
    [held] = read_quarantines(lab_project.path / "run")
    assert held.node == "alpha" and held.suite == "suite_a"
    assert held.active is (mode == "on")
    readings = [
        json.loads(line)
        for line in (lab_project.path / "run" / "health" / "alpha.jsonl").read_text().splitlines()
    ]
    # on: a gate before suite_a, none before suite_b (held), the closing reading; auto-lift gates suite_b
    assert [(r["suite"], r["phase"]) for r in readings][:-1] == (
        [("suite_a", "before")] if mode == "on" else [("suite_a", "before"), ("suite_b", "before")]
    )
    assert readings[-1]["phase"] == "after"


def test_gate_off_reads_nothing(lab_project: pytest.Pytester) -> None:
    _project(lab_project)
    lab_project.runpytest("--lab-select", "name=alpha", *ARGS)
    run = load_run(lab_project.path / "run")
    assert {r.outcome for r in run.records} == {Outcome.PASS}
    assert not (lab_project.path / "run" / "health").exists()

"""``pytest testsuites/llm`` on the emulated test-bed: its endpoints, their cards, the proof of silicon.

Two RNGD nodes whose endpoints the test-bed starts: one serves on its card 0 as declared, the
other's work lands on card 1 (``llm-served-elsewhere``). The healthy node's Offline run PASSes
and its record names card 0 and the precision; the other is ERROR, "not served by the cards
under test", never a FAIL or a PASS of figures that are not its card's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.emulator.testbed.launcher import down, up
from lab.results import load_run

REPOSITORY = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("quiet_cpu")]

INVENTORY = f"""version: 1
name: llm-testbed
catalog: {REPOSITORY}/inventory/devices.yaml
profiles: {REPOSITORY}/inventory/profiles
defaults:
  emulated: true
  user: lab
  operator: naver-cloud
  profile: kcloud-npu-v1
  serving: {{address: "127.0.0.1:0", model: emulated-llama-3.1-8b}}
  accelerators: [{{model: rngd, count: 2}}]
nodes:
  - name: llm-ok
  - name: llm-elsewhere
    emulation: {{faults: [{{kind: llm-served-elsewhere}}]}}
"""


def test_the_suite_proves_which_card_served_on_the_emulated_testbed(tmp_path: Path) -> None:
    source = tmp_path / "inventory.yaml"
    source.write_text(INVENTORY, encoding="utf-8")
    result = up(source, tmp_path / "testbed")
    try:
        command = [
            sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "llm"),
            "-k", "offline", "--lab-inventory", str(result.resolved_inventory),
            "--lab-run-dir", str(tmp_path / "run"), "--lab-perf-duration", "1",
            "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        down(tmp_path / "testbed")
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-2000:]
    records = {record.node: record for record in load_run(tmp_path / "run").records}
    healthy = records["llm-ok"]
    assert healthy.outcome is Outcome.PASS, (healthy.reason, healthy.error)
    assert healthy.properties.get("llm_served_by[llm-offline]") == "card 0"
    assert healthy.properties.get("llm_precision") == "bf16"
    mislabelled = records["llm-elsewhere"]
    assert mislabelled.outcome is Outcome.ERROR
    message = f"{mislabelled.reason} {mislabelled.error}"
    assert "not served by the cards under test" in message and "card(s) [1], not asked for" in message
    assert mislabelled.properties.get("llm_served_by[llm-offline]") == "card 1"

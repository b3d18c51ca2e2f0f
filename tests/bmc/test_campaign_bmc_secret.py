"""The secret drill with BMCs in the test-bed: ``lab campaign`` on an emulated node whose BMC
password the launcher generates (``$LAB_TESTBED_BMC_PASSWORD`` unset), hands to the suites
through their environment only, and that appears in no output.

Real parts: the ``lab campaign`` CLI, real sshd and sushy-tools BMC, the client reading wall
power with that password. A suite test then puts the password in a remote command's output,
its assertion message, its stdout and its log, and fails. Every file the campaign left (run
directory, report, the test-bed folder but its 0600 ``bmc-password``) and the campaign's own
output are searched: zero occurrences, and the mask is seen where it was.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.results import load_run
from lab.results.masking import MASK
from tests.testbed_inventory import emulated_inventory

pytestmark = [pytest.mark.integration, pytest.mark.slow]


INVENTORY = emulated_inventory(
    "campaign-bmc-secret",
    """\
nodes:
  - name: solo
    operator: kt-cloud
    accelerators: [{model: rngd, count: 1}]
    emulation: {seed: 1}
""",
    defaults={"bmc": "{user: lab, password_env: LAB_TESTBED_BMC_PASSWORD, timeout: 5}"},
)

SUITE = """\
import logging
import os

from lab.transport.redfish import RedfishClient


def test_bmc_answers_with_the_generated_password(node):
    with RedfishClient(node.node.bmc, node=node.name) as bmc:
        assert bmc.power().watts > 0


def test_bmc_password_leaks_everywhere(node):
    password = os.environ["LAB_TESTBED_BMC_PASSWORD"]
    result = node.transport.run(["sh", "-c", 'echo "bmc $0"; echo "denied $0" >&2; exit 3', password])
    print("stdout of the test:", password)
    logging.getLogger("suite").warning("log of the test: %s", password)
    assert result.ok, f"BMC login failed with {password}: {result.stdout}"
"""


def test_a_campaign_with_bmcs_shows_their_password_nowhere(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_bmc_secret.py").write_text(SUITE, encoding="utf-8")
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}  # no BMC password
    completed = subprocess.run(
        [sys.executable, "-m", "lab", "campaign", "--inventory", "inventory.yaml", "--suite", "suite",
         "--workers", "1", "--run-dir", "run", "--testbed-dir", "testbed", "--lang", "en"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    password = (tmp_path / "testbed" / "bmc-password").read_text(encoding="utf-8").strip()
    assert len(password) >= 16 and (tmp_path / "testbed" / "bmc-password").stat().st_mode & 0o077 == 0
    run = load_run(tmp_path / "run")
    outcomes = {record.test_id.split("::")[1]: record for record in run.records}
    assert outcomes["test_bmc_answers_with_the_generated_password[solo]"].outcome is Outcome.PASS, output
    leaked = outcomes["test_bmc_password_leaks_everywhere[solo]"]
    assert leaked.outcome is Outcome.FAIL and leaked.error is not None
    assert f"BMC login failed with {MASK}" in leaked.error.message  # the search below is not vacuous
    assert MASK in (tmp_path / "run" / "report.html").read_text(encoding="utf-8")

    files = [
        path
        for path in tmp_path.rglob("*")
        if path.is_file() and path != tmp_path / "testbed" / "bmc-password"
    ]
    assert any(path.name == "htpasswd" for path in files) and any(path.name == "bmc.log" for path in files)
    leaks = [str(path) for path in files if password.encode() in path.read_bytes()]
    assert leaks == [], f"the BMC password leaked into {leaks}"
    assert password not in output

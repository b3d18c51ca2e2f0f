"""A run stopped by SIGTERM (a CI job's timeout) or Ctrl-C ends cleanly: leases released, the
command on the node killed, unfinished tests INCOMPLETE, the run loadable, no plugin traceback."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.results import load_run
from lab.transport.sshd import SshdServer
from tests.conftest import SshdFactory

pytestmark = pytest.mark.integration

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

TESTS = """\
import os
from pathlib import Path

def test_quick(node):
    node.transport.check(["true"])

def test_slow(node):
    Path(os.environ["SLOW_STARTED"], node.name).touch()
    node.transport.run(["sleep", os.environ["SLOW_SECONDS"]], timeout=600)
"""


def _inventory(servers: list[SshdServer]) -> str:
    lines = [
        "version: 1",
        "name: interrupted",
        f"catalog: {REPOSITORY_ROOT}/inventory/devices.yaml",
        f"profiles: {REPOSITORY_ROOT}/inventory/profiles",
        f"defaults: {{user: {getpass.getuser()}, operator: kt-cloud, profile: kcloud-npu-v1}}",
        "nodes:",
    ]
    for index, server in enumerate(servers):
        lines.append(
            f"  - {{name: n{index}, address: 127.0.0.1, port: {server.port},"
            f" auth: {{key_file: '{server.client_key_path}'}},"
            f' host_key: "{server.host_public_key}"}}'
        )
    return "\n".join(lines) + "\n"


def _remote_sleepers(marker: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True, check=False)
    return found.stdout.split()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stopped_xdist_run_ends_cleanly(
    stop: signal.Signals, sshd_factory: SshdFactory, tmp_path: Path, unique_marker: str
) -> None:
    servers = [sshd_factory(), sshd_factory()]
    (tmp_path / "inventory.yaml").write_text(_inventory(servers), encoding="utf-8")
    (tmp_path / "test_slow.py").write_text(TESTS, encoding="utf-8")
    started = tmp_path / "started"
    started.mkdir()
    command = [
        sys.executable, "-m", "pytest", "test_slow.py", "-n", "2", "-p", "no:cacheprovider",
        "-p", "no:randomly", "--lab-inventory", "inventory.yaml", "--lab-run-dir", "run",
    ]  # fmt: skip
    environment = {**os.environ, "SLOW_STARTED": str(started), "SLOW_SECONDS": unique_marker}
    # its own process group, which GNU timeout (and a terminal's Ctrl-C) signals as a whole
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert len(list(started.iterdir())) == 2, "the slow tests never started"
        time.sleep(0.5)  # inside the remote sleep
        os.killpg(process.pid, stop)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    assert process.returncode == 2, output  # pytest's "interrupted", not killed by the signal
    for noise in ("Traceback", "PluggyTeardownRaisedWarning", "OSError", "INTERNALERROR"):
        assert noise not in output, output
    assert "results: run (2 PASS, 2 INCOMPLETE); verdict INCOMPLETE" in output, output

    for server in servers:  # leases released on both nodes
        assert not list(server.directory.rglob(".kcloud-lab/lease/owner.json"))
    deadline = time.monotonic() + 5
    while _remote_sleepers(unique_marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftover = _remote_sleepers(unique_marker)
    for pid in leftover:  # never leave them behind, even when this test fails
        os.kill(int(pid), signal.SIGKILL)
    assert leftover == []  # the command on the node did not outlive the run

    run = load_run(tmp_path / "run")
    outcomes = {record.test_id.split("::")[1]: record.outcome for record in run.records}
    assert outcomes == {
        "test_quick[n0]": Outcome.PASS,
        "test_quick[n1]": Outcome.PASS,
        "test_slow[n0]": Outcome.INCOMPLETE,
        "test_slow[n1]": Outcome.INCOMPLETE,
    }
    assert run.verdict is Outcome.INCOMPLETE


def test_the_sigterm_handler_is_installed_once_and_restored_by_its_installer() -> None:
    from lab.pytest_plugin.interrupt import install_sigterm_as_interrupt, restore_sigterm

    ours = signal.getsignal(signal.SIGTERM)  # this very session installed it
    assert callable(ours) and getattr(ours, "__module__", "") == "lab.pytest_plugin.interrupt"
    assert install_sigterm_as_interrupt() is False  # a nested session leaves it alone
    restore_sigterm()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert install_sigterm_as_interrupt() is True
    assert signal.getsignal(signal.SIGTERM) is ours

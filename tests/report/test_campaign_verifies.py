"""``lab campaign`` ends by verifying its own signed report against its own key (a short form of
``./run.sh campaign``: one emulated node, one tiny suite, the real test-bed and CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.report import fingerprint, generate_key_pair, load_public_key
from tests.testbed_inventory import emulated_inventory

INVENTORY = emulated_inventory(
    "campaign-verify-test",
    """\
nodes:
  - name: solo
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 1}]
    emulation: {seed: 1}
""",
)

SUITE = """\
def test_reachable(node):
    node.transport.check(["true"])
"""


@pytest.mark.integration
@pytest.mark.slow
def test_campaign_ends_verifying_its_report_with_its_own_key(tmp_path: Path) -> None:
    private, public = generate_key_pair(tmp_path / "keys")
    (tmp_path / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_tiny.py").write_text(SUITE, encoding="utf-8")
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LAB_REPORT_KEY": str(private),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "lab", "campaign", "--inventory", "inventory.yaml", "--suite", "suite",
         "--workers", "1", "--run-dir", "run", "--testbed-dir", "testbed", "--lang", "en"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = Path(tmp_path / completed.stdout.strip().splitlines()[-1])
    assert report == tmp_path / "run" / "report.html"
    signer = fingerprint(load_public_key(public))
    assert (
        f"lab campaign: lab verify {report.relative_to(tmp_path)}: valid: signed by the trusted key {signer}"
        in (completed.stderr)
    )
    # and the same answer from `lab verify` with the lab's public key
    verify = subprocess.run(
        [sys.executable, "-m", "lab", "verify", str(report), "--key", str(public)],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr

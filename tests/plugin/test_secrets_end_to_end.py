"""Secrets never leave the controller unmasked — proved end to end against a real sshd.

A node of the inventory authenticates with an encrypted key whose passphrase comes from
``passphrase: !env VAR``; a test registers a second secret with ``lab_secret``; a command
on the node prints both and the test fails with both in its assertion message, its
captured output and its log. Then every file the run produced is searched: the run
directory (records, evidence, manifest), JUnit, the Allure results, the pytest terminal
output, the signed HTML report, the PDF's text (when Chromium is installed), the history
SQLite database and ``lab exec --format json`` output. Zero occurrences, and the mask is
seen where the secrets were (so the search is not vacuous).
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.report.pdf import find_chromium
from lab.results import load_run
from lab.results.masking import MASK
from tests.conftest import SshdFactory

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSPHRASE = "Pass-7f3e-Q9zx"  # the inventory's !env secret
TOKEN = "registry-token-c0ffee42"  # registered by the test with lab_secret
BMC_PASSWORD = "bmc-Secret-5d1a"  # the node's BMC password (bmc.password: !env VAR)

INVENTORY = """\
version: 1
name: secrets-e2e
catalog: {catalog}
profiles: profiles
defaults:
  profile: plugin-test
nodes:
  - name: alpha
    operator: kt-cloud
    address: 127.0.0.1
    port: {port}
    user: {user}
    auth: {{key_file: {key}, passphrase: !env LAB_E2E_PASSPHRASE}}
    host_key: [{host_key}]
    bmc: {{address: 127.0.0.1, port: 9, user: admin, password: !env LAB_E2E_BMC, tls: insecure}}
"""

SUITE = """\
import logging
import os

def test_login(node, lab_secret):
    token = lab_secret("registry-" + "token-c0ffee42")
    passphrase = os.environ["LAB_E2E_PASSPHRASE"]
    bmc = os.environ["LAB_E2E_BMC"]
    result = node.transport.run(
        ["sh", "-c", 'echo "key $0 token $1 bmc $2"; echo "denied $1" >&2; exit 3', passphrase, token, bmc]
    )
    print("stdout of the test:", passphrase, token, bmc)
    logging.getLogger("suite").warning("log of the test: %s %s %s", passphrase, token, bmc)
    assert result.ok, f"login failed with {passphrase} / {token} / {bmc}: {result.stdout} {result.stderr}"
"""


def _lab(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *arguments], cwd=cwd, capture_output=True, text=True, timeout=240
    )


def _pdf_text(path: Path) -> str:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) reads the PDF's text")
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages)


def test_no_secret_in_any_file_a_failing_run_produces(
    lab_project: pytest.Pytester,
    sshd_factory: SshdFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", PASSPHRASE, "-f", str(key)], check=True)
    server = sshd_factory(authorized_keys=[Path(f"{key}.pub").read_text().strip()])
    monkeypatch.setenv("LAB_E2E_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("LAB_E2E_BMC", BMC_PASSWORD)
    project = lab_project.path
    catalog = Path(__file__).resolve().parents[2] / "inventory" / "devices.yaml"
    (project / "inventory.yaml").write_text(
        INVENTORY.format(
            catalog=catalog,
            port=server.port,
            user=getpass.getuser(),
            key=key,
            host_key=json.dumps(server.host_public_key),
        ),
        encoding="utf-8",
    )
    (project / "test_login.py").write_text(SUITE, encoding="utf-8")

    run_dir = project / "run"
    result = lab_project.runpytest_subprocess(
        "--lab-inventory",
        "inventory.yaml",
        "--lab-no-lease",
        "--lab-run-dir",
        str(run_dir),
        "--junitxml=junit.xml",
        "--alluredir=allure-results",
        "-p",
        "no:cacheprovider",
        "-rA",
        "test_login.py",
    )
    terminal = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=1)
    (record,) = load_run(run_dir).records
    assert record.error is not None and f"login failed with {MASK} / {MASK} / {MASK}" in record.error.message
    assert f"key {MASK} token {MASK} bmc {MASK}" in (run_dir / record.evidence[0]).read_text()
    assert f"login failed with {MASK} / {MASK} / {MASK}" in terminal

    keys = _lab("keys", "generate", str(tmp_path / "keys"), cwd=project)
    assert keys.returncode == 0, keys.stderr
    chromium = find_chromium() is not None
    report_args = ["report", str(run_dir), "--lang", "en", "--key", str(tmp_path / "keys/report-signing.key")]
    report = _lab(*report_args, *(["--pdf"] if chromium else []), cwd=project)
    assert report.returncode == 0, report.stderr
    assert MASK in (run_dir / "report.html").read_text(encoding="utf-8")

    database = tmp_path / "history.sqlite"
    ingest = _lab("history", "ingest", str(run_dir), "--db", str(database), cwd=project)
    assert ingest.returncode == 0, ingest.stderr

    exec_json = _lab(
        "exec", "--inventory", "inventory.yaml", "--format", "json", "--",
        "sh", "-c", 'echo "key $0 bmc $1"; exit 4', PASSPHRASE, BMC_PASSWORD,
        cwd=project,
    )  # fmt: skip
    assert exec_json.returncode == 1, exec_json.stderr
    (outcome,) = json.loads(exec_json.stdout)
    assert outcome["stdout"] == f"key {MASK} bmc {MASK}\n"
    outputs = {"terminal": terminal, "lab exec": exec_json.stdout + exec_json.stderr}
    outputs.update({"lab report": report.stdout + report.stderr, "history": ingest.stdout + ingest.stderr})

    files = [path for folder in (project, tmp_path) for path in folder.rglob("*") if path.is_file()]
    searched = {str(path): path.read_bytes() for path in files}
    assert any(name.endswith("history.sqlite") for name in searched)
    assert any(name.endswith("junit.xml") for name in searched)
    assert any("allure-results" in name for name in searched)
    if chromium:
        pdf_text = _pdf_text(run_dir / "report.pdf")
        assert MASK in pdf_text, "the PDF's text holds the masked failure"
        outputs["report.pdf (text)"] = pdf_text
    for secret in (PASSPHRASE, TOKEN, BMC_PASSWORD):
        leaks = [name for name, data in searched.items() if secret.encode() in data]
        leaks += [name for name, text in outputs.items() if secret in text]
        assert leaks == [], f"{secret!r} leaked into {leaks}"
    assert os.environ["LAB_E2E_PASSPHRASE"] == PASSPHRASE  # the variable itself is untouched

"""The plugin masks secrets in pytest's own output (terminal, JUnit, Allure) and under xdist.

FakeTransport stands in for the node (these are tests of the plugin, not of SSH); the real-sshd
proof that nothing leaks anywhere is tests/plugin/test_secrets_end_to_end.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.results import load_run
from lab.results.masking import MASK
from tests.plugin.conftest import write_fake_conftest

PASSWORD = "inv-Passw0rd-93"  # the inventory's password_env value
TOKEN = "tok-5e5e-a1b2"  # registered with lab_secret

SUITE = """\
class Boom(Exception):
    # its message comes from an attribute, not from args
    def __init__(self, token):
        super().__init__()
        self.token = token

    def __str__(self):
        return f"boom with {self.token}"


def test_custom_exception(node, lab_secret):
    raise Boom(lab_secret("tok-" + "5e5e-a1b2"))


def test_assertion(node, lab_secret):
    token = lab_secret("tok-" + "5e5e-a1b2")
    out = node.transport.run(["print-password"]).stdout
    print("captured", out, token)
    assert out == "", f"tool printed {out} for {token}"


def test_short_secret_masks_whole_words_only(node, lab_secret):
    lab_secret("ab")
    assert False, "ab cab abc"
"""


def _project(lab_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLUGIN_MASK_PASSWORD", PASSWORD)
    inventory = lab_project.path / "inventory.yaml"
    inventory.write_text(
        inventory.read_text().replace(
            "  user: lab\n", "  user: lab\n  auth: {password_env: PLUGIN_MASK_PASSWORD}\n"
        )
    )
    printed = 'os.environ["PLUGIN_MASK_PASSWORD"] + "\\n"'  # the conftest file must not hold it
    write_fake_conftest(lab_project, f'import os\nfake.reply(["print-password"], stdout={printed})')
    (lab_project.path / "test_masked.py").write_text(SUITE, encoding="utf-8")
    return lab_project.path


def test_failure_text_is_masked_in_terminal_junit_allure_and_record_under_xdist(
    lab_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(lab_project, monkeypatch)
    result = lab_project.runpytest_subprocess(
        "-n", "2",
        "--lab-inventory", "inventory.yaml", "--lab-no-lease", "--lab-run-dir", "run",
        "--lab-select", "name=alpha or name=beta",
        "--junitxml=junit.xml", "--alluredir=allure", "-p", "no:cacheprovider", "-rA", "test_masked.py",
    )  # fmt: skip
    terminal = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=4, errors=2)  # Boom is not an assertion: ERROR
    assert f"boom with {MASK}" in terminal and f"tool printed {MASK}" in terminal
    assert f"{MASK} cab abc" in terminal  # a 2-character secret: only where it stands alone

    run = load_run(project / "run")
    errors = {record.test_id.split("::")[1]: record.error for record in run.records}
    custom = errors["test_custom_exception[alpha]"]
    assert custom is not None and custom.type == "test_masked.Boom" and custom.message == f"boom with {MASK}"
    assert {record.worker for record in run.records} == {"gw0", "gw1"}  # both workers masked

    allure_text = "".join(path.read_text(errors="replace") for path in (project / "allure").iterdir())
    assert f"boom with {MASK}" in allure_text
    everything = b"".join(path.read_bytes() for path in project.rglob("*") if path.is_file())
    for secret in (PASSWORD, TOKEN):
        assert secret not in terminal
        assert secret.encode() not in everything

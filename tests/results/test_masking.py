"""Secrets are masked where records, evidence and manifests are written (``lab.results.masking``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.inventory.model import Auth
from lab.results import ErrorInfo, Manifest, RunWriter, TestRecord, load_run, write_evidence, write_manifest
from lab.results.masking import MASK, SECRETS, SecretMask, inventory_secrets
from tests.conftest import make_node


def test_long_secrets_are_masked_everywhere_short_ones_only_standing_alone() -> None:
    mask = SecretMask(["hunter22", "ab", "7"])
    assert mask.text("pw=hunter22x") == f"pw={MASK}x"  # a long secret, even inside a word
    assert mask.text("ab cab abc ab.") == f"{MASK} cab abc {MASK}."  # short: only as a whole word
    assert mask.text("version 17.2, 7 cards") == f"version 17.2, {MASK} cards"
    assert mask.text("nothing here") == "nothing here"


def test_quoted_and_escaped_forms_of_a_secret_are_masked() -> None:
    secret = "it's\\a\"pass"
    mask = SecretMask([secret])
    for shown in (secret, repr(secret), json.dumps(secret), f"sh -c {__import__('shlex').quote(secret)}"):
        assert "pass" not in mask.text(shown), shown
    assert mask.bytes(f"log: {secret}\n".encode()) == f"log: {MASK}\n".encode()


def test_a_secret_containing_another_is_masked_whole() -> None:
    mask = SecretMask(["token", "token-9f8e7d"])
    assert mask.text("x token-9f8e7d y") == f"x {MASK} y"


def test_json_keys_and_values_are_masked_and_an_empty_mask_changes_nothing() -> None:
    data = {"hunter22": ["a hunter22", 3, None, {"k": "hunter22"}]}
    assert SecretMask(["hunter22"]).json(data) == {MASK: [f"a {MASK}", 3, None, {"k": MASK}]}
    assert SecretMask().json(data) is data
    assert SecretMask([""]).text("") == ""


def test_the_writer_masks_records_evidence_and_tells_observers_the_masked_record(tmp_path: Path) -> None:
    seen: list[TestRecord] = []

    class Observer:
        def on_record(self, record: TestRecord) -> None:
            seen.append(record)

    mask = SecretMask(["Sup3r-Secret"])
    with RunWriter(tmp_path, worker="gw0", observers=[Observer()], mask=mask) as writer:
        writer.started("t.py::test_x[n1]", node="n1")
        evidence = writer.write_evidence("t.py::test_x[n1]", "log.txt", b"login Sup3r-Secret ok\n")
        writer.record(
            TestRecord(
                test_id="t.py::test_x[n1]",
                outcome=Outcome.FAIL,
                node="n1",
                error=ErrorInfo("AssertionError", "saw Sup3r-Secret", details="E  Sup3r-Secret"),
                reason="Sup3r-Secret",
                properties={"token": "Sup3r-Secret"},
                evidence=(evidence,),
            )
        )
    everything = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    assert b"Sup3r-Secret" not in everything
    assert MASK.encode() in (tmp_path / evidence).read_bytes()
    (record,) = seen
    assert record.error is not None and record.error.message == f"saw {MASK}"
    assert record.properties["token"] == MASK
    write_manifest(tmp_path, Manifest.start(run_id="r1", command_line=["pytest"]))
    assert load_run(tmp_path).records[0].reason == MASK


def test_write_evidence_and_manifest_use_the_process_registry(tmp_path: Path) -> None:
    value = "registry-token-5a5a5a"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SECRETS, "_secrets", set(SECRETS._secrets))  # restored afterwards
        patch.setattr(SECRETS, "_text", SECRETS._text)
        patch.setattr(SECRETS, "_bytes", SECRETS._bytes)
        SECRETS.add(value)
        path = write_evidence(tmp_path, None, "out.txt", f"token={value}")
        write_manifest(tmp_path, Manifest.start(run_id="r2", command_line=["pytest", f"--token={value}"]))
    assert value not in (tmp_path / path).read_text()
    assert value not in (tmp_path / "manifest.json").read_text()


def test_inventory_secrets_come_from_the_variables_auth_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAB_T_PW", "pw-1234")
    monkeypatch.setenv("LAB_T_PASS", "pass-5678")
    monkeypatch.delenv("LAB_T_UNSET", raising=False)
    nodes = [
        make_node("a", auth=Auth(method="password", password_env="LAB_T_PW")),
        make_node("b", auth=Auth(method="key", key_file="k", passphrase_env="LAB_T_PASS")),
        make_node("c", auth=Auth(method="password", password_env="LAB_T_UNSET")),
    ]
    assert inventory_secrets(nodes) == ("pass-5678", "pw-1234")


def test_labels_given_as_env_are_secrets_and_inventory_show_masks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lab.cli import main
    from lab.inventory import load_inventory

    monkeypatch.setenv("LAB_T_BMC", "bmc-Secret-4411")
    monkeypatch.setenv("LAB_T_PASS", "pass-5678")
    monkeypatch.setenv("LAB_T_ADDR", "192.0.2.77")
    inventory = tmp_path / "lab.yaml"
    inventory.write_text(
        "version: 1\nname: t\nnodes:\n"
        "  - name: a\n    address: !env LAB_T_ADDR\n    user: lab\n    operator: kt-cloud\n"
        '    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"\n'
        "    auth: {key_file: id_lab, passphrase: !env LAB_T_PASS}\n"
        "    labels: {bmc_login: !env LAB_T_BMC, rack_unit: 7}\n",
        encoding="utf-8",
    )
    (node,) = load_inventory(inventory).nodes
    assert node.secret_env == ("LAB_T_BMC", "LAB_T_PASS")  # the address is configuration, not a secret
    assert inventory_secrets([node]) == ("bmc-Secret-4411", "pass-5678")
    assert main(["inventory", "show", str(inventory), "--format", "json"]) == 0
    shown = capsys.readouterr().out
    assert "bmc-Secret-4411" not in shown and f'"bmc_login": "{MASK}"' in shown
    assert "192.0.2.77" in shown

"""The inventory's ``bmc`` field: secrets only by variable name, TLS pinned or insecure by name."""

from __future__ import annotations

import pytest

from lab.inventory import load_inventory
from lab.results.masking import inventory_secrets
from tests.inventory.conftest import NODE_HEAD, WriteInventory, problems_of

FP = ":".join(["AB"] * 32)


def test_bmc_with_pinned_fingerprint_and_password_env(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + f"""\
nodes:
  - name: n1
    address: 192.0.2.1
    bmc: {{address: 192.0.2.101, user: admin, password_env: N1_BMC, tls_fingerprint: "sha256:{FP}"}}
"""
    )
    bmc = load_inventory(path).node("n1").bmc
    assert bmc is not None
    assert (bmc.url, bmc.user, bmc.password_env, bmc.tls) == (
        "https://192.0.2.101:443",
        "admin",
        "N1_BMC",
        "pinned",
    )
    assert bmc.fingerprint == "ab" * 32
    assert "N1_BMC" in load_inventory(path).node("n1").secret_env


def test_bmc_password_is_masked_like_the_ssh_password(
    write_inventory: WriteInventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("N1_BMC", "bmc-secret-1234")
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: n1
    address: 192.0.2.1
    bmc: {address: bmc1.example, user: admin, password: !env N1_BMC, tls: insecure}
"""
    )
    inventory = load_inventory(path)
    assert "bmc-secret-1234" in inventory_secrets(inventory.nodes)
    bmc = inventory.node("n1").bmc
    assert bmc is not None and bmc.tls == "insecure" and bmc.fingerprint is None


def test_bmc_mistakes_are_reported_with_line_and_suggestion(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: n1
    address: 192.0.2.1
    bmc: {address: 192.0.2.101, user: admin, password: hunter2}
  - name: n2
    address: 192.0.2.2
    bmc: {address: 192.0.2.102, user: admin, password_env: N2_BMC}
  - name: n3
    address: 192.0.2.3
    bmc: {address: 192.0.2.103, user: admin, password_env: N3, tls_fingerprint: "12:34"}
"""
    )
    problems = problems_of(path)
    assert any(p.startswith("10:56:") and "literal password refused" in p for p in problems), problems
    assert any(
        p.startswith("13:10:") and "no TLS fingerprint" in p and "tls: insecure" in p for p in problems
    )
    assert any(p.startswith("16:") and "SHA-256 fingerprint" in p for p in problems), problems


def test_emulated_node_bmc_defaults_to_loopback(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        """\
version: 1
name: t
nodes:
  - {name: e1, user: lab, operator: kt-cloud, emulated: true, bmc: {user: admin, password_env: E1_BMC}}
"""
    )
    bmc = load_inventory(path).node("e1").bmc
    assert bmc is not None and bmc.address == "127.0.0.1" and bmc.tls == "pinned" and bmc.fingerprint is None

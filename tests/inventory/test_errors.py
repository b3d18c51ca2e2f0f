"""Every validation rule: the exact message, line and column users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import InventoryError
from lab.inventory import load_inventory
from tests.inventory.conftest import KEY_A, NODE_HEAD, WriteInventory, problems_of


def test_yaml_syntax_error_names_line_and_column(write_inventory: WriteInventory) -> None:
    path = write_inventory("version: 1\nname: t\nnodes:\n  - name: a\n   address: [1, 2\n", refs=False)
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith("5:") and "YAML syntax error" in problems[0]


def test_empty_file_and_missing_file(write_inventory: WriteInventory, tmp_path: Path) -> None:
    empty = write_inventory("", refs=False)
    assert problems_of(empty) == ["1:1: the file is empty"]
    missing = tmp_path / "nope.yaml"
    assert problems_of(missing) == ["1:1: cannot read file: No such file or directory"]


def test_duplicate_key_is_caught_not_silently_overwritten(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: a
    address: 192.0.2.1
    address: 192.0.2.2
"""
    )
    assert problems_of(path) == ["10:5: nodes[0].address: duplicate key 'address' (first written at line 9)"]


def test_unknown_keys_everywhere_with_did_you_mean(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
  adress: 192.0.2.9
groups:
  g: {varz: {}}
nodes:
  - name: a
    address: 192.0.2.1
    expected: {firmwre: "1.0"}
    emulation_x: 1
"""
    )
    assert problems_of(path) == [
        "7:3: defaults.adress: unknown key 'adress' (did you mean 'address'?)",
        "9:7: groups.g.varz: unknown key 'varz' (did you mean 'vars'?)",
        "13:16: nodes[0].expected.firmwre: unknown key 'firmwre' (did you mean 'firmware'?)",
        "14:5: nodes[0].emulation_x: unknown key 'emulation_x' (did you mean 'emulation'?)",
    ]


def test_wrong_types(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: a
    address: 192.0.2.1
    port: "22"
    tags: npu
    emulated: yes-please
    accelerators: [{model: rngd, count: 0}]
"""
    )
    assert problems_of(path) == [
        "10:11: nodes[0].port: expected an integer, got a string",
        "11:11: nodes[0].tags: expected a list, got a string",
        "12:15: nodes[0].emulated: expected true or false, got a string",
        "13:41: nodes[0].accelerators[0].count: 0 must be at least 1",
    ]


def test_missing_required_keys(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        """\
name: t
nodes:
  - name: a
    address: 192.0.2.1
    trust: bring-up
  - address: 192.0.2.2
"""
    )
    assert problems_of(path) == [
        "1:1: missing required key 'version'",
        "3:11: nodes.a: missing required key 'user' (set it on the node, a group or defaults)",
        "3:11: nodes.a: missing required key 'operator' (set it on the node, a group or defaults)",
        "6:5: nodes[1]: missing required key 'name'",
    ]


def test_real_node_needs_an_address_but_emulated_node_does_not(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: real
  - name: emu
    emulated: true
"""
    )
    assert problems_of(path) == [
        "8:11: nodes.real: missing required key 'address' (only emulated nodes may omit it)"
    ]


def test_duplicate_node_names_and_addresses(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: 192.0.2.1}
  - {name: b, address: 192.0.2.1}
  - {name: a, address: 192.0.2.3}
  - {name: c, address: 192.0.2.1, port: 2222}
"""
    )
    assert problems_of(path) == [
        f"9:24: nodes.b.address: address 192.0.2.1:22 is also used by node 'a' ({path}:8)",
        f"10:12: nodes.a: duplicate node name 'a' (first defined at {path}:8)",
    ]


def test_unknown_references_group_jump_model_profile_operator(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
groups:
  furiosa: {}
nodes:
  - name: bastion
    address: 192.0.2.1
  - name: rngd-03
    address: 192.0.2.2
    groups: [furiossa]
    jump: bastoin
    operator: kt-clod
    accelerators: [{model: rngd2, count: 8}]
    profile: kcloud-npu-v2
"""
    )
    assert problems_of(path) == [
        "14:14: nodes.rngd-03.groups[0]: unknown group 'furiossa' (did you mean 'furiosa'?)",
        "15:11: nodes.rngd-03.jump: unknown jump host 'bastoin' (did you mean 'bastion'?)",
        "16:15: nodes.rngd-03.operator: unknown operator 'kt-clod' (did you mean 'kt-cloud'?); known: "
        "kt-cloud, naver-cloud, nhn-cloud (declare others under 'operators:')",
        "17:28: nodes.rngd-03.accelerators[0].model: unknown device model 'rngd2' (did you mean 'rngd'?)",
        "18:14: nodes.rngd-03.profile: unknown profile 'kcloud-npu-v2' (did you mean 'kcloud-npu-v1'?)",
    ]


def test_declared_operator_is_accepted(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
operators: [university-lab]
nodes:
  - {name: a, address: 192.0.2.1, operator: university-lab}
"""
    )
    assert load_inventory(path).node("a").operator == "university-lab"


def test_jump_host_cycle_reported_once(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: 192.0.2.1, jump: b}
  - {name: b, address: 192.0.2.2, jump: c}
  - {name: c, address: 192.0.2.3, jump: a}
  - {name: d, address: 192.0.2.4, jump: d}
  - {name: e, address: 192.0.2.5, jump: a}
"""
    )
    assert problems_of(path) == [
        "8:41: nodes.a.jump: jump-host cycle: a → b → c → a",
        "11:41: nodes.d.jump: a node cannot be its own jump host",
    ]


def test_literal_password_refused_anywhere_and_never_echoed(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: a
    address: 192.0.2.1
    auth: {password: hunter2}
    labels: {Password: swordfish}
"""
    )
    problems = problems_of(path)
    assert problems == [
        "10:22: nodes[0].auth.password: literal password refused: secrets come only from an environment "
        "variable (write 'password: !env VAR' or 'password_env: VAR')",
        "11:24: nodes[0].labels.Password: literal password refused: secrets come only from an environment "
        "variable (write 'Password: !env VAR' or 'Password_env: VAR')",
    ]
    assert not any("hunter2" in text or "swordfish" in text for text in problems)


def test_password_from_env_names_the_variable_only(
    write_inventory: WriteInventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_TEST_PASSWORD", "s3cret-value")
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: 192.0.2.1, auth: {password: !env LAB_TEST_PASSWORD}}
  - {name: b, address: 192.0.2.2, auth: {password_env: NOT_SET_AT_LOAD_TIME}}
"""
    )
    inventory = load_inventory(path)
    assert inventory.node("a").auth.method == "password"
    assert inventory.node("a").auth.password_env == "LAB_TEST_PASSWORD"
    assert inventory.node("b").auth.password_env == "NOT_SET_AT_LOAD_TIME"
    assert "s3cret-value" not in repr(inventory)


def test_unset_env_variable(write_inventory: WriteInventory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAB_TEST_UNSET", raising=False)
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: 192.0.2.1, auth: {password: !env LAB_TEST_UNSET}}
  - {name: b, address: !env LAB_TEST_UNSET}
"""
    )
    assert problems_of(path) == [
        "8:52: nodes[0].auth.password: environment variable $LAB_TEST_UNSET (from !env) is not set",
        "9:24: nodes[1].address: environment variable $LAB_TEST_UNSET (from !env) is not set",
    ]


def test_env_value_is_typed_like_yaml(
    write_inventory: WriteInventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_TEST_PORT", "2202")
    path = write_inventory(
        NODE_HEAD + "nodes:\n  - {name: a, address: 192.0.2.1, port: !env LAB_TEST_PORT}\n"
    )
    assert load_inventory(path).node("a").port == 2202


def test_auth_needs_exactly_one_method(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: 192.0.2.1, auth: {key_file: k, agent: true}}
  - {name: b, address: 192.0.2.2, auth: {agent: true, passphrase_env: P}}
"""
    )
    assert problems_of(path) == [
        "8:41: nodes.a.auth: auth needs exactly one of key_file, agent, password, password_env "
        "(given: key_file and agent)",
        "9:71: nodes.b.auth: a passphrase applies only to auth.key_file",
    ]


def test_host_key_that_does_not_parse(write_inventory: WriteInventory) -> None:
    type_only = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"  # valid base64 holding only the key type
    path = write_inventory(
        f"""\
version: 1
name: t
defaults: {{user: lab, operator: kt-cloud}}
nodes:
  - {{name: a, address: 192.0.2.1, host_key: "ssh-ed25519 not*base64"}}
  - {{name: b, address: 192.0.2.2, host_key: "ssh-dss AAAA"}}
  - {{name: c, address: 192.0.2.3, host_key: "{type_only}"}}
  - {{name: d, address: 192.0.2.4, host_key: [{KEY_A}, garbage]}}
  - {{name: e, address: 192.0.2.5}}
host_keys:
  f: {KEY_A}
"""
    )
    assert problems_of(path) == [
        "5:45: nodes.a.host_key[0]: host key does not parse: the key data is not valid base64",
        "6:45: nodes.b.host_key[0]: host key does not parse: unsupported host key type 'ssh-dss' (use one of "
        "ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa)",
        "7:45: nodes.c.host_key[0]: host key does not parse: the key data does not parse as ssh-ed25519",
        "8:128: nodes.d.host_key[1]: host key does not parse: expected an OpenSSH public key line: "
        "'<type> <base64 data> [comment]'",
        "9:12: nodes.e: no host key: pin one with host_key (or the host_keys section), name a known_hosts "
        "file, or set trust: bring-up",
        "11:3: host_keys.f: unknown node 'f'",
    ]


def test_name_and_address_ranges_must_agree(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: "a-[01:03]", address: "192.0.2.[1:2]"}
  - {name: "b-[5:1]", address: 192.0.2.9}
  - {name: "c-[1:2]-[1:2]", address: 192.0.2.10}
  - {name: "d-[1:2]", address: 192.0.2.11}
"""
    )
    assert problems_of(path) == [
        "8:34: nodes.a-[01:03].address: the address range gives 2 addresses for 3 node names",
        "9:12: nodes.b-[5:1].name: range [5:1] counts down; write the smaller number first",
        "10:12: nodes[2].name: 'c-[1:2]-[1:2]' is not a word of letters, digits, '.', '_' or '-' (starting "
        "with a letter or digit), optionally with one range such as [01:16]",
        f"11:32: nodes.d-2.address: address 192.0.2.11:22 is also used by node 'd-1' ({path}:11)",
    ]


def test_bad_address_and_pcie(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: "not an address!", expected: {pcie: Gen7 x16}}
"""
    )
    assert problems_of(path) == [
        "8:24: nodes.a.address: 'not an address!' is not an IP address or host name",
        "8:60: nodes[0].expected.pcie: 'Gen7 x16' is not a PCIe link such as 'Gen5 x16' (generation 1-6, "
        "width 1/2/4/8/12/16/32)",
    ]


def test_emulation_rules(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: real
    address: 192.0.2.1
    emulation: {seed: 1}
  - name: emu
    emulated: true
    accelerators: [{model: rngd, count: 2}]
    emulation:
      faults:
        - {kind: thermal-runaway, device: 2, after_seconds: 20}
        - {kind: pcie-degraded, device: 0, parameters: {link: Gen4 x9}}
        - {kind: hang, after_seconds: 1, after_queries: 5}
        - {kind: meltdown}
"""
    )
    assert problems_of(path) == [
        "10:16: nodes.real.emulation: emulation settings need emulated: true on the node",
        "16:43: nodes.emu.emulation.faults[0].device: device 2 does not exist: the node has 2 cards "
        "(indexes 0-1)",
        "17:63: nodes.emu.emulation.faults[1].parameters.link: 'Gen4 x9' is not a PCIe link such as "
        "'Gen4 x8'",
        "18:57: nodes.emu.emulation.faults[2]: give after_seconds or after_queries, not both",
        "19:18: nodes[1].emulation.faults[3].kind: 'meltdown' is not one of thermal-runaway, "
        "ecc-correctable, ecc-uncorrectable, pcie-degraded, fell-off-bus, hang, perf-degradation, "
        "wrong-firmware, wrong-output, aer-storm, xid, exporter-scale, bmc-timeout, bmc-frozen-power, "
        "llm-decode-slowdown, llm-stream-cut, llm-wrong-tokens, llm-served-elsewhere, "
        "accuracy-drift",
    ]


def test_unsupported_tags_and_recursive_aliases(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
labels: !!python/object:os.system {}
nodes: &loop
  - *loop
"""
    )
    assert problems_of(path) == [
        "7:1: labels: unknown key 'labels'",
        "7:9: labels: unsupported tag 'tag:yaml.org,2002:python/object:os.system'",
        "8:8: nodes[0]: recursive alias or nesting deeper than 64 levels",  # at the anchor that loops
    ]


def test_every_problem_reported_at_once_and_sorted(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: 192.0.2.1, accelerators: [{model: rngd2, count: 1}]}
  - {name: b, address: 192.0.2.2, trust: strct}
"""
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    lines = [problem.line for problem in caught.value.problems]
    assert lines == [8, 9]
    assert str(caught.value).startswith("2 problems in the inventory:\n")


def test_numbers_must_be_finite(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        """\
version: 1
name: t
defaults: {user: lab, operator: kt-cloud, emulated: true}
nodes:
  - {name: e, emulation: {time_scale: .inf, ambient_celsius: .nan}}
"""
    )
    assert problems_of(path) == [
        "5:39: nodes[0].emulation.time_scale: .inf is not a finite number",
        "5:62: nodes[0].emulation.ambient_celsius: .nan is not a finite number",
    ]

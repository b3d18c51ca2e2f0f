"""Loading valid inventories: inheritance, ranges, sites, defaults, the repository's own files."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import pytest

from lab.errors import InventoryError
from lab.inventory import load_inventory
from lab.inventory.model import PcieLink
from tests.inventory.conftest import CATALOG, KEY_A, KEY_B, NODE_HEAD, PROFILES, REPO, WriteInventory

INHERITANCE = f"""\
version: 1
name: t
defaults:
  user: lab
  operator: kt-cloud
  port: 2200
  host_key: {KEY_A}
  auth: {{key_file: keys/lab}}
  tags: [all]
  labels: {{room: a, row: 1}}
  expected: {{driver: "1.0", firmware: "1.0"}}
  timeouts: {{connect: 5}}
groups:
  first:
    vars:
      tags: [first]
      labels: {{row: 2, owner: first}}
      accelerators: [{{model: rngd, count: 8}}]
      expected: {{driver: "2.0"}}
  second:
    vars:
      tags: [second]
      labels: {{owner: second}}
      accelerators: [{{model: warboy, count: 4}}]
      auth: {{agent: true}}
sites:
  hall:
    operator: nhn-cloud
    racks:
      r1:
        vars: {{labels: {{rack_unit: 7}}}}
        nodes:
          - name: n1
            address: 192.0.2.1
            groups: [first, second]
            tags: [own]
            labels: {{owner: node}}
            expected: {{runtime: 2024.1}}
          - name: n2
            address: 192.0.2.2
            groups: [second, first]
"""


def test_inheritance_order_and_merge_rules(write_inventory: WriteInventory) -> None:
    path = write_inventory(INHERITANCE)
    inventory = load_inventory(path)
    n1, n2 = inventory.node("n1"), inventory.node("n2")
    # tags accumulate over defaults → groups → node
    assert n1.tags == frozenset({"all", "first", "second", "own"})
    # maps merge key by key; later levels win per key (defaults → site → rack → groups → node)
    assert dict(n1.labels) == {"room": "a", "row": 2, "owner": "node", "rack_unit": 7}
    assert dict(n2.labels) == {"room": "a", "row": 2, "owner": "first", "rack_unit": 7}
    # lists are replaced by the later level: the last group listed wins
    assert [(spec.model, spec.count) for spec in n1.accelerators] == [("warboy", 4)]
    assert [(spec.model, spec.count) for spec in n2.accelerators] == [("rngd", 8)]
    # auth is replaced as a whole (no key_file left over next to agent)
    assert n1.auth.method == "agent" and n1.auth.key_file is None
    # nested maps merge; numbers written unquoted keep their text ("2024.1")
    assert (n1.expected.driver, n1.expected.firmware, n1.expected.runtime) == ("2.0", "1.0", "2024.1")
    # the site's operator overrides defaults; site and rack are recorded
    assert (n1.operator, n1.site, n1.rack, n1.groups) == ("nhn-cloud", "hall", "r1", ("first", "second"))
    assert (n1.port, n1.connect_timeout, n1.command_timeout) == (2200, 5.0, 300.0)


def test_key_file_relative_to_inventory_and_tilde_expanded(
    write_inventory: WriteInventory, tmp_path: Path
) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: a, address: 192.0.2.1, auth: {key_file: keys/id}, known_hosts: kh}
  - {name: b, address: 192.0.2.2, auth: {key_file: ~/id, passphrase_env: KEY_PASS}}
"""
    )
    inventory = load_inventory(path)
    a, b = inventory.node("a"), inventory.node("b")
    assert a.auth.key_file == str(tmp_path / "keys" / "id")
    assert a.host_key.known_hosts == str(tmp_path / "kh")
    assert a.host_key.pinned == (KEY_A,)
    assert b.auth.key_file == os.path.expanduser("~/id")
    assert (b.auth.method, b.auth.passphrase_env) == ("key", "KEY_PASS")


def test_ranges_expand_names_and_addresses(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - {name: "kt-rbln-[08:11]", address: "192.0.2.[11:14]", accelerators: [{model: atom-plus, count: 8}]}
"""
    )
    nodes = load_inventory(path).nodes
    assert [(node.name, node.address) for node in nodes] == [
        ("kt-rbln-08", "192.0.2.11"),
        ("kt-rbln-09", "192.0.2.12"),
        ("kt-rbln-10", "192.0.2.13"),
        ("kt-rbln-11", "192.0.2.14"),
    ]
    assert nodes[2].location is not None and nodes[2].location.line == 8


def test_host_keys_section_pins_by_node_name(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        f"""\
version: 1
name: t
defaults: {{user: lab, operator: kt-cloud}}
nodes:
  - {{name: "n-[1:2]", address: "192.0.2.[1:2]"}}
host_keys:
  n-1: {KEY_A}
  n-2: ["{KEY_B} comment", "{KEY_A}"]
"""
    )
    inventory = load_inventory(path)
    assert inventory.node("n-1").host_key.pinned == (KEY_A,)
    assert inventory.node("n-2").host_key.pinned == (f"{KEY_B} comment", KEY_A)


def test_emulated_node_defaults(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        """\
version: 1
name: t
nodes:
  - {name: e1, user: lab, operator: kt-cloud, emulated: true}
  - {name: e2, user: lab, operator: kt-cloud, emulated: true}
  - {name: e3, user: lab, operator: kt-cloud, emulated: true, emulation: {seed: 7, time_scale: 10}}
"""
    )
    inventory = load_inventory(path)
    e1, e3 = inventory.node("e1"), inventory.node("e3")
    assert (e1.address, e1.port, e1.host_key.pinned, e1.host_key.mode) == ("127.0.0.1", 22, (), "strict")
    assert e1.emulation is not None and e1.emulation.seed == zlib.crc32(b"e1") & 0x7FFFFFFF
    assert e3.emulation is not None and (e3.emulation.seed, e3.emulation.time_scale) == (7, 10.0)


def test_resolved_launcher_file_with_absolute_paths_loads(tmp_path: Path) -> None:
    """The test-bed launcher writes this: emulated nodes with ports, pinned keys, absolute paths."""
    folder = tmp_path / "run"
    folder.mkdir()
    path = folder / "resolved.yaml"
    path.write_text(
        f"""\
version: 1
name: gwangju-emulated (resolved)
catalog: {CATALOG}
profiles: {PROFILES}
nodes:
  - name: emu-1
    site: gwangju-kt
    emulated: true
    address: 127.0.0.1
    port: 40101
    user: lab
    operator: kt-cloud
    auth: {{key_file: {tmp_path / "client_key"}}}
    host_key: {KEY_A}
    accelerators: [{{model: rngd, count: 2}}]
    profile: kcloud-npu-v1
    emulation: {{seed: 3, faults: [{{kind: hang, device: 1, after_queries: 5}}]}}
  - {{name: emu-2, emulated: true, address: 127.0.0.1, port: 40102, user: lab, operator: kt-cloud}}
""",
        encoding="utf-8",
    )
    inventory = load_inventory(path)
    node = inventory.node("emu-1")
    assert (node.port, node.site, node.auth.key_file) == (40101, "gwangju-kt", str(tmp_path / "client_key"))
    assert node.emulation is not None and node.emulation.faults[0].after_queries == 5
    assert str(CATALOG) in inventory.source_files


def test_two_emulated_nodes_with_same_explicit_port_collide(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        """\
version: 1
name: t
defaults: {user: lab, operator: kt-cloud, emulated: true, address: 127.0.0.1}
nodes:
  - {name: a, port: 4000}
  - {name: b, port: 4000}
  - {name: c}
  - {name: d}
"""
    )
    with pytest.raises(InventoryError, match=r"address 127\.0\.0\.1:4000 is also used by node 'a'"):
        load_inventory(path)


def test_repository_inventories_load() -> None:
    gwangju = load_inventory(REPO / "inventory" / "gwangju.yaml")
    assert gwangju.scope == "public-half"
    operators = {node.operator for node in gwangju.nodes}
    assert operators == {"kt-cloud", "nhn-cloud", "naver-cloud"}
    vendors = {gwangju.catalog[spec.model].vendor for node in gwangju.nodes for spec in node.accelerators}
    assert vendors == {"furiosaai", "rebellions", "sapeon", "nvidia"}
    for node in gwangju.nodes:
        assert node.host_key.pinned, node.name
        assert node.address.startswith(("192.0.2.", "198.51.100.", "203.0.113.")), node.name
        if "bastion" not in node.tags:
            assert node.jump is not None and gwangju.node(node.jump).tags >= {"bastion"}

    emulated = load_inventory(REPO / "inventory" / "emulated.yaml")
    assert len(emulated.nodes) >= 8 and all(node.emulated for node in emulated.nodes)
    assert {node.operator for node in emulated.nodes} == operators
    faulty = {node.name: node for node in emulated.nodes if node.emulation and node.emulation.faults}
    assert set(faulty) == {"emu-kt-rbln-01", "emu-kt-rbln-02", "emu-naver-rngd-01"}
    kinds = {fault.kind for fault in faulty["emu-naver-rngd-01"].emulation.faults}  # type: ignore[union-attr]
    assert kinds == {
        "pcie-degraded",
        "ecc-correctable",
        "ecc-uncorrectable",
        "llm-wrong-tokens",
        "bmc-frozen-power",
        "fell-off-bus",
    }
    rbln = {fault.kind for fault in faulty["emu-kt-rbln-01"].emulation.faults}  # type: ignore[union-attr]
    assert rbln == {"thermal-runaway", "llm-decode-slowdown", "llm-stream-cut", "bmc-timeout"}
    # every NPU node serves an LLM endpoint (testsuites/llm); the reference GPU node none
    assert {node.name for node in emulated.nodes if node.serving} == {
        node.name for node in emulated.nodes if "npu" in node.tags
    }
    assert all(node.profile == "kcloud-npu-v1" for node in emulated.nodes)
    assert all(node.bmc is not None for node in emulated.nodes)  # every node's BMC is emulated too


def test_provenance_digest_covers_every_file_read(write_inventory: WriteInventory) -> None:
    path = write_inventory(NODE_HEAD + "nodes:\n  - {name: a, address: 192.0.2.1, profile: kcloud-npu-v1}\n")
    inventory = load_inventory(path)
    assert inventory.source_files[:2] == (str(path), str(CATALOG))
    profile_file = PROFILES / "kcloud-npu-v1.yaml"
    assert str(profile_file) in inventory.source_files
    assert inventory.profiles["kcloud-npu-v1"].sha256 == hashlib.sha256(profile_file.read_bytes()).hexdigest()
    before = inventory.sha256
    path.write_text(path.read_text() + "# a comment changes the digest\n")
    assert load_inventory(path).sha256 != before


def test_several_files_form_one_inventory(write_inventory: WriteInventory) -> None:
    first = write_inventory(NODE_HEAD + "nodes:\n  - {name: a, address: 192.0.2.1}\n", name="one.yaml")
    second = write_inventory(
        NODE_HEAD + "nodes:\n  - {name: b, address: 192.0.2.2, jump: a}\n", name="two.yaml"
    )
    inventory = load_inventory(first, second)
    assert [node.name for node in inventory.nodes] == ["a", "b"]
    assert inventory.node("b").jump == "a"
    assert inventory.name == "t + t"


def test_catalog_figures_and_pcie() -> None:
    catalog = load_inventory(REPO / "inventory" / "emulated.yaml").catalog
    rngd = catalog["rngd"]
    assert (rngd.int8_tops.value, rngd.int8_tops.unit, rngd.int8_tops.confidence) == (512.0, "TOPS", "P")
    assert rngd.pcie == PcieLink(5, 16)
    assert catalog["atom-max"].dies_per_card == 4
    x330 = catalog["sapeon-x330"]
    assert x330.synthetic_tool and x330.tool == "sapeon-smi" and x330.pcie is None
    assert x330.int8_tops.value is None and not x330.int8_tops.known
    assert catalog["warboy"].fp16_tflops.value is None
    assert catalog["atom-plus"].int8_tops.confidence == "U"


def test_anchors_merge_keys_and_scratch_keys(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        f"""\
version: 1
name: t
x-npu: &npu {{user: lab, operator: kt-cloud, host_key: {KEY_A}, tags: [npu]}}
nodes:
  - {{<<: *npu, name: a, address: 192.0.2.1}}
  - {{<<: *npu, name: b, address: 192.0.2.2, user: root}}
"""
    )
    inventory = load_inventory(path)
    assert [(node.name, node.user, node.tags) for node in inventory.nodes] == [
        ("a", "lab", frozenset({"npu"})),
        ("b", "root", frozenset({"npu"})),  # a key written in the mapping wins over the merge
    ]


def test_serving_models_are_read_per_precision_and_checked_with_file_and_line(
    write_inventory: WriteInventory,
) -> None:
    text = """\
version: 1
name: t
defaults: {user: lab, operator: kt-cloud, emulated: true, address: 127.0.0.1}
nodes:
  - name: a
    serving:
      address: 127.0.0.1:8000
      model: m
      models: {bf16: m, fp8: m-fp8}
"""
    serving = load_inventory(write_inventory(text)).node("a").serving
    assert serving is not None and dict(serving.models) == {"bf16": "m", "fp8": "m-fp8"}
    assert serving.model_for("fp8") == "m-fp8" and serving.model_for("int8") is None
    with pytest.raises(InventoryError, match=r":9:\d+: .*key 'fp9' is not a precision: fp32, bf16"):
        load_inventory(write_inventory(text.replace("fp8: m-fp8", "fp9: m-fp8")))
    with pytest.raises(
        InventoryError, match=r":9:\d+: .*model 'm' is already the bf16 model: one model name"
    ):
        load_inventory(write_inventory(text.replace("fp8: m-fp8", "fp8: m")))

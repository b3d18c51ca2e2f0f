"""The ``serving:`` field: a node's LLM endpoint (address, model, launch argv)."""

from __future__ import annotations

from lab.inventory import load_inventory
from tests.inventory.conftest import NODE_HEAD, WriteInventory, problems_of


def test_serving_is_read_with_its_launch_argv_and_inherits_from_groups(
    write_inventory: WriteInventory,
) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
groups:
  rngd:
    vars:
      serving: {address: "127.0.0.1:8000", model: llama-3.1-8b-instruct,
                launch: [furiosa-llm, serve, "--port", "8000"]}
nodes:
  - {name: a, address: 192.0.2.1, groups: [rngd]}
  - {name: b, address: 192.0.2.2}
"""
    )
    nodes = {node.name: node for node in load_inventory(path).nodes}
    serving = nodes["a"].serving
    assert serving is not None
    assert (serving.address, serving.model) == ("127.0.0.1:8000", "llama-3.1-8b-instruct")
    assert serving.launch == ("furiosa-llm", "serve", "--port", "8000")
    assert nodes["b"].serving is None


def test_serving_errors_name_line_and_what_is_wrong(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: a
    address: 192.0.2.1
    serving: {address: "http://127.0.0.1", launch: "furiosa-llm serve"}
"""
    )
    problems = problems_of(path)
    assert any(p.startswith("10:") and "serving.address" in p and "HOST:PORT" in p for p in problems), (
        problems
    )
    assert any("serving" in p and "model" in p for p in problems), problems
    assert any("serving.launch" in p for p in problems), problems


def test_serving_references_resolve_beside_the_inventory(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        NODE_HEAD
        + 'nodes:\n  - {name: a, address: 192.0.2.1, serving: {address: "127.0.0.1:8000", model: m, '
        "references: refs/tiny.json}}\n"
    )
    (path.parent / "refs").mkdir()
    (path.parent / "refs" / "tiny.json").write_text(
        '{"samples": [{"prompt": "p", "max_tokens": 4, "reference": " the card"}]}', encoding="utf-8"
    )
    serving = load_inventory(path).nodes[0].serving
    assert serving is not None and serving.references == str(path.parent / "refs" / "tiny.json")


def test_a_missing_or_malformed_reference_set_is_an_inventory_error_at_its_line(
    write_inventory: WriteInventory,
) -> None:
    path = write_inventory(
        NODE_HEAD
        + """\
nodes:
  - name: a
    address: 192.0.2.1
    serving: {address: "127.0.0.1:8000", model: m, references: missing.json}
  - name: b
    address: 192.0.2.2
    serving:
      address: "127.0.0.1:8000"
      model: m
      references: bad.json
"""
    )
    (path.parent / "bad.json").write_text(
        '{"samples": [\n {"prompt": "p", "max_tokens": 0}]}', encoding="utf-8"
    )
    problems = problems_of(path)
    assert len(problems) == 2, problems
    missing, bad = sorted(problems)
    assert missing.startswith("10:") and "nodes.a.serving.references" in missing, missing
    assert f"cannot read the reference set {path.parent / 'missing.json'}" in missing
    assert "python -m lab.llm.tiny_reference" in missing  # how to write one
    assert (
        bad.startswith("16:") and "samples[0] needs prompt (text), max_tokens (a positive integer)" in bad
    ), bad

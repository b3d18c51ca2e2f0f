"""The JSON Schema (for editors) and the validator agree, because both come from lab.inventory.formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lab.errors import InventoryError
from lab.inventory import load_inventory
from lab.inventory.schema import SCHEMA_FILE, json_schema, schema_text
from tests.inventory.conftest import NODE_HEAD, REPO, WriteInventory
from tests.inventory.test_loading import INHERITANCE


class _EditorLoader(yaml.SafeLoader):
    """What an editor sees: ``!env VAR`` is just a string (VS Code: yaml.customTags)."""


_EditorLoader.add_constructor("!env", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def as_json(text: str) -> Any:
    return yaml.load(text, Loader=_EditorLoader)


def schema_errors(kind: str, text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(json_schema(kind))
    return [error.message for error in validator.iter_errors(as_json(text))]


def test_stored_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text("inventory"), (
        "regenerate with: .venv/bin/python -m lab.inventory.schema"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", ["gwangju.yaml", "emulated.yaml"])
def test_schema_accepts_the_repository_inventories(name: str) -> None:
    path = REPO / "inventory" / name
    load_inventory(path)  # the validator accepts it ...
    assert schema_errors("inventory", path.read_text(encoding="utf-8")) == []  # ... and so does the schema


def test_schema_accepts_catalog_and_profiles() -> None:
    assert schema_errors("catalog", (REPO / "inventory" / "devices.yaml").read_text(encoding="utf-8")) == []
    for profile in sorted((REPO / "inventory" / "profiles").glob("*.yaml")):
        assert schema_errors("profile", profile.read_text(encoding="utf-8")) == [], profile.name


def test_schema_accepts_valid_test_inventories(write_inventory: WriteInventory) -> None:
    path = write_inventory(INHERITANCE)
    load_inventory(path)
    assert schema_errors("inventory", path.read_text(encoding="utf-8")) == []


INVALID = {
    "unknown key": "nodes:\n  - {name: a, address: 192.0.2.1, adress: x}\n",
    "wrong type": "nodes:\n  - {name: a, address: 192.0.2.1, port: '22'}\n",
    "port out of range": "nodes:\n  - {name: a, address: 192.0.2.1, port: 70000}\n",
    "bad trust mode": "nodes:\n  - {name: a, address: 192.0.2.1, trust: maybe}\n",
    "bad pcie link": "nodes:\n  - {name: a, address: 192.0.2.1, expected: {pcie: Gen9 x16}}\n",
    "node without name": "nodes:\n  - {address: 192.0.2.1}\n",
    "bad node name": "nodes:\n  - {name: 'a b', address: 192.0.2.1}\n",
    "unknown fault kind": "nodes:\n  - {name: a, emulated: true, emulation: {faults: [{kind: meltdown}]}}\n",
    "count zero": "nodes:\n  - {name: a, address: 192.0.2.1, accelerators: [{model: rngd, count: 0}]}\n",
    "bad scope": "scope: half\nnodes: []\n",
    "labels not scalar": "nodes:\n  - {name: a, address: 192.0.2.1, labels: {x: [1]}}\n",
    "unknown site key": "sites:\n  s: {operatr: kt-cloud}\n",
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_schema_rejects_what_the_validator_rejects(write_inventory: WriteInventory, case: str) -> None:
    path = write_inventory(NODE_HEAD + INVALID[case])
    with pytest.raises(InventoryError):
        load_inventory(path)
    assert schema_errors("inventory", path.read_text(encoding="utf-8")) != []


def test_schema_misses_version_like_the_validator(tmp_path: Path) -> None:
    text = "name: t\n"
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError, match="missing required key 'version'"):
        load_inventory(path)
    assert schema_errors("inventory", text) == ["'version' is a required property"]

"""Mutated inventories: the loader returns an Inventory or raises InventoryError — nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.errors import InventoryError
from lab.inventory import load_inventory
from tests.inventory.conftest import CATALOG, PROFILES, REPO

SEED = (REPO / "inventory" / "emulated.yaml").read_text(encoding="utf-8")
SEED_DATA: Any = yaml.safe_load(SEED)
KEYS = [
    "name",
    "address",
    "port",
    "user",
    "auth",
    "groups",
    "accelerators",
    "model",
    "count",
    "emulated",
    "emulation",
    "faults",
    "kind",
    "device",
    "jump",
    "tags",
    "labels",
    "password",
    "host_key",
    "nodes",
]
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(KEYS), st.integers(), max_size=2),
    st.sampled_from(["!env NOPE", "[01:99]", "rngd2", "Gen9 x3", "*loop", "&a", "{", "- -", "\t"]),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(SEED_DATA)[1:]


def _mutate(data: Any, path: tuple[Any, ...], action: str, value: Any, key: str) -> Any:
    *head, last = path
    parent = data
    for step in head:
        parent = parent[step]
    if action == "drop":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[key] = parent.pop(last)
    else:
        parent[last] = value
    return data


def _check(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lab.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_inventory(path)
        except InventoryError as error:
            assert error.problems, "an InventoryError always carries at least one problem"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS), st.sampled_from(["drop", "rename", "set"]), GARBAGE, st.sampled_from(KEYS)
        ),
        min_size=1,
        max_size=3,
    )
)
def test_structural_mutations(mutations: list[tuple[tuple[Any, ...], str, Any, str]]) -> None:
    data = yaml.safe_load(SEED)
    for path, action, value, key in mutations:
        try:
            data = _mutate(data, path, action, value, key)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or retyped this path
    if isinstance(data, dict):  # point at the repository's catalog and profiles, as the seed file does
        data["catalog"], data["profiles"] = str(CATALOG), str(PROFILES)
    _check(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(SEED)), st.integers(0, len(SEED)), st.text(max_size=8))
def test_text_mutations(cut: int, at: int, inserted: str) -> None:
    text = SEED[:cut] if cut % 2 else SEED[:at] + inserted + SEED[at:]
    _check(text.replace("version: 1", f"version: 1\ncatalog: {CATALOG}\nprofiles: {PROFILES}", 1))


def test_unmutated_seed_loads() -> None:
    """The mutations start from a valid file, so a clean load is a reachable outcome."""
    data = yaml.safe_load(SEED)
    data["catalog"], data["profiles"] = str(CATALOG), str(PROFILES)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lab.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        written = sum(len(site.get("nodes", [])) for site in data["sites"].values())  # no ranges in the seed
        assert len(load_inventory(path).nodes) == written == 10

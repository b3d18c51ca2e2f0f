"""``load_inventory``: read inventory files, their device catalog and profiles; validate everything.

::

    from lab.inventory import load_inventory
    from lab.errors import InventoryError

    try:
        inventory = load_inventory("inventory/gwangju.yaml")
    except InventoryError as error:
        for problem in error.problems:      # every mistake, each with file:line:column
            print(problem)

Several files may be given; their nodes form one inventory (names and address:port must
stay unique across them). Each file's defaults, groups and ``host_keys`` apply to that
file only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import InventoryError, Problem
from lab.inventory.catalog import load_catalog
from lab.inventory.crosscheck import (
    check_host_key_names,
    check_jumps,
    check_unique_addresses,
    check_unique_names,
)
from lab.inventory.drafts import NodeDraft, collect_drafts
from lab.inventory.formats import INVENTORY, KNOWN_OPERATORS
from lab.inventory.model import DeviceModel, Inventory, Node, Profile, frozen_mapping
from lab.inventory.nodes import BuildContext, build_node
from lab.inventory.profiles import load_profiles
from lab.inventory.spec import Ctx
from lab.inventory.yamlsource import Problems, Y, parse_yaml_file


@dataclass(slots=True)
class _File:
    """One inventory file after the format check."""

    label: str
    root: Y
    base_dir: Path
    drafts: list[NodeDraft]
    catalog_path: Path
    catalog_explicit: bool
    profiles_path: Path
    profiles_explicit: bool
    operators: set[str] = field(default_factory=set)


class _Sources:
    """Every file read, in order, with its bytes (for ``source_files`` and the digest)."""

    def __init__(self) -> None:
        self.files: list[tuple[str, bytes]] = []
        self._seen: set[str] = set()

    def add(self, label: str, data: bytes) -> None:
        if label not in self._seen:
            self._seen.add(label)
            self.files.append((label, data))

    def digest(self) -> str:
        outer = hashlib.sha256()
        for _label, data in self.files:
            outer.update(hashlib.sha256(data).digest())
        return outer.hexdigest()


def load_inventory(*paths: str | Path) -> Inventory:
    """Load and validate inventory files; raise ``InventoryError`` listing every problem."""
    if not paths:
        raise InventoryError([Problem("<none>", 1, 1, "", "no inventory file given")])
    problems = Problems()
    sources = _Sources()
    files: list[_File] = []
    for path in paths:
        loaded = _read_inventory_file(Path(path), problems, sources)
        if loaded is not None:
            files.append(loaded)
    catalog, broken_models = _load_catalogs(files, problems, sources)
    profiles, profile_hints = _load_profiles(files, problems, sources, set(catalog) | broken_models)
    drafts = [draft for file in files for draft in file.drafts]
    by_name = check_unique_names(drafts, problems)
    check_unique_addresses(drafts, problems)
    check_jumps(by_name, problems)
    nodes: list[Node] = []
    for file in files:
        host_keys = _host_keys(file)
        keys_y = file.root.get("host_keys")
        if keys_y is not None:
            check_host_key_names(host_keys, keys_y, by_name, file.label, problems)
        ctx = Ctx(file.label, problems)
        env = BuildContext(
            catalog=catalog,
            broken_models=broken_models,
            profiles=profiles,
            operators=set(KNOWN_OPERATORS) | file.operators,
            host_keys=host_keys,
            base_dir=file.base_dir,
            profiles_hint=profile_hints.get(file.label, ""),
        )
        for draft in file.drafts:
            if by_name.get(draft.name) is not draft:
                continue  # a duplicate: already reported
            node = build_node(draft, ctx, env)
            if node is not None:
                nodes.append(node)
    problems.raise_if_any([str(path) for path in paths])
    return Inventory(
        name=" + ".join(_text(file.root, "name") for file in files),
        description=_text(files[0].root, "description"),
        nodes=tuple(nodes),
        catalog=frozen_mapping(catalog),  # type: ignore[arg-type]
        profiles=frozen_mapping(profiles),  # type: ignore[arg-type]
        source_files=tuple(label for label, _data in sources.files),
        sha256=sources.digest(),
        scope=_scope(files),
    )


def _text(root: Y, key: str) -> str:
    value = root.get(key)
    return str(value.value) if value is not None and isinstance(value.value, str) else ""


def _scope(files: list[_File]) -> str:
    scopes = {_text(file.root, "scope") or "other" for file in files}
    return scopes.pop() if len(scopes) == 1 else "other"


def _read_inventory_file(path: Path, problems: Problems, sources: _Sources) -> _File | None:
    label = str(path)
    root, data = parse_yaml_file(path, problems)
    sources.add(label, data)
    if root is None:
        return None
    ctx = Ctx(label, problems)
    checked = INVENTORY.check(root, "", ctx)
    if checked is None:
        return None
    base_dir = path.resolve().parent
    catalog_text = _text(checked, "catalog")
    profiles_text = _text(checked, "profiles")
    operators_y = checked.get("operators")
    operators = (
        {str(item.value) for item in operators_y.value}
        if operators_y and isinstance(operators_y.value, list)
        else set()
    )
    return _File(
        label=label,
        root=checked,
        base_dir=base_dir,
        drafts=collect_drafts(checked, ctx),
        catalog_path=base_dir / (catalog_text or "devices.yaml"),
        catalog_explicit=bool(catalog_text),
        profiles_path=base_dir / (profiles_text or "profiles"),
        profiles_explicit=bool(profiles_text),
        operators=operators,
    )


def _needs_catalog(file: _File) -> bool:
    return any(draft.settings.get("accelerators") is not None for draft in file.drafts)


def _load_catalogs(
    files: list[_File], problems: Problems, sources: _Sources
) -> tuple[dict[str, DeviceModel], set[str]]:
    """Every catalog's valid models, and the keys of entries that were declared but invalid."""
    catalog: dict[str, DeviceModel] = {}
    broken: set[str] = set()
    loaded: set[Path] = set()
    for file in files:
        path = file.catalog_path.resolve()
        if path in loaded:
            continue
        if not path.is_file():
            if file.catalog_explicit or _needs_catalog(file):
                where = file.root.get("catalog") or file.root
                problems.add(
                    file.label,
                    where.line,
                    where.column,
                    "catalog",
                    f"device catalog not found: {file.catalog_path}",
                )
            continue
        loaded.add(path)
        models, declared, data = load_catalog(file.catalog_path, problems)
        broken |= declared - set(models)
        sources.add(str(file.catalog_path), data)
        for key, model in models.items():
            earlier = catalog.get(key)
            if earlier is not None and model.location is not None:
                spot = model.location
                problems.add(
                    spot.file,
                    spot.line,
                    spot.column,
                    f"devices.{key}",
                    f"device model '{key}' is also defined in {earlier.location}; keys must be unique",
                )
            catalog.setdefault(key, model)
    return catalog, broken - set(catalog)


def _load_profiles(
    files: list[_File], problems: Problems, sources: _Sources, catalog_keys: set[str]
) -> tuple[dict[str, Profile], dict[str, str]]:
    profiles: dict[str, Profile] = {}
    hints: dict[str, str] = {}
    loaded: set[Path] = set()
    for file in files:
        folder = file.profiles_path.resolve()
        if not folder.is_dir():
            hints[file.label] = f" (no profiles folder at {file.profiles_path})"
            if file.profiles_explicit:
                where = file.root.get("profiles") or file.root
                problems.add(
                    file.label,
                    where.line,
                    where.column,
                    "profiles",
                    f"profiles folder not found: {file.profiles_path}",
                )
            continue
        if folder in loaded:
            continue
        loaded.add(folder)
        found, read = load_profiles(file.profiles_path, problems, catalog_keys)
        for label, data in read:
            sources.add(label, data)
        for name, profile in found.items():
            profiles.setdefault(name, profile)
        if not found:
            hints[file.label] = f" (no profiles in {file.profiles_path})"
    return profiles, hints


def _host_keys(file: _File) -> dict[str, list[Y]]:
    keys_y = file.root.get("host_keys")
    if keys_y is None or not isinstance(keys_y.value, dict):
        return {}
    return {
        name: value.value if isinstance(value.value, list) else [value]
        for name, value in keys_y.value.items()
    }

"""Which kind of lab YAML a file is, and checking a device catalog or a profile on its own.

``lab inventory check`` takes any of the three files a lab keeps::

    kind_of(Path("inventory/devices.yaml"))                 # "catalog"
    check_catalog(Path("inventory/devices.yaml"))           # "device catalog, 13 models"
    check_profile(Path("inventory/profiles/kcloud-npu-v1.yaml"))
    # checked against inventory/devices.yaml, the catalog beside its profiles/ folder

Both raise ``InventoryError`` with every problem (file:line:col, as inventories do).
"""

from __future__ import annotations

import re
from pathlib import Path

from lab.errors import InventoryError, Problem
from lab.inventory.catalog import load_catalog
from lab.inventory.profiles import load_profile, missing_limits
from lab.inventory.yamlsource import Problems

_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)
_INVENTORY_KEYS = frozenset({"nodes", "sites", "defaults", "groups"})


def kind_of(path: Path) -> str:
    """``"catalog"`` (top-level ``devices:``), ``"profile"`` (``criteria:``) or ``"inventory"``.

    Read from the top-level keys only, so a 2,000-node inventory is not parsed twice; a file
    that cannot be read is an "inventory", whose loader reports the problem with its place.
    """
    try:
        keys = set(_TOP_LEVEL_KEY.findall(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return "inventory"
    if keys & _INVENTORY_KEYS:
        return "inventory"
    if "devices" in keys:
        return "catalog"
    if "criteria" in keys:
        return "profile"
    return "inventory"


def check_catalog(path: Path) -> str:
    """Validate a device catalog alone; returns a one-line summary."""
    problems = Problems()
    models, _declared, _data = load_catalog(path, problems)
    problems.raise_if_any([str(path)])
    return f"device catalog, {len(models)} models"


def check_profile(path: Path) -> str:
    """Validate a certification profile against the catalog beside its folder (``../devices.yaml``)."""
    summary, _uncertified = check_profile_limits(path)
    return summary


def check_profile_limits(path: Path) -> tuple[str, list[str]]:
    """``check_profile``'s summary and one line per catalog model a criterion has no limit for
    (``file:line:col: criteria.NAME: no limit for MODEL: its values are SKIP, uncertified``)."""
    catalog = path.resolve().parent.parent / "devices.yaml"
    if not catalog.is_file():
        message = (
            f"no device catalog at {catalog} to check the profile's by_device keys against: "
            "check the inventory that uses this profile instead"
        )
        raise InventoryError([Problem(str(path), 0, 0, "", message)])
    # The catalog's own problems are its check's to report; every key it declares counts here,
    # so a broken entry is not reported a second time as an unknown model.
    _models, declared, _data = load_catalog(catalog, Problems())
    problems = Problems()
    profile, _data = load_profile(path, problems, declared)
    problems.raise_if_any([str(path)])
    if profile is None:  # every reason for None is a reported problem; kept as a guard
        raise InventoryError([Problem(str(path), 0, 0, "", "not a certification profile")])
    criteria = len(profile.criteria)
    uncertified = [
        f"{criterion.location or path}: criteria.{criterion.name}: no limit for {model} in {profile.name}:"
        f" its values are SKIP, uncertified (add by_device.{model}, or not_applicable.{model} and why)"
        for criterion, model in missing_limits(profile, declared)
    ]
    summary = f"certification profile {profile.name} {profile.version}, {criteria} criteria ({catalog})"
    return summary, uncertified

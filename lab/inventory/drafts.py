"""From one checked inventory file to node drafts: ranges expanded, inheritance applied.

A draft is a node's merged settings (still located :class:`Y` values) plus where it
sits (site, rack, groups). :mod:`lab.inventory.nodes` turns drafts into model ``Node``
objects once the catalog and profiles are known.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lab.inventory.inherit import merge_levels
from lab.inventory.ranges import RangeError, expand, has_range
from lab.inventory.spec import Ctx
from lab.inventory.yamlsource import Y, did_you_mean, join_path

# Keys of a node entry that place the node rather than configure it; never inherited.
PLACEMENT_KEYS = frozenset({"name", "groups", "site", "rack"})


@dataclass(slots=True)
class NodeDraft:
    """A node before model building. ``name_y`` locates the entry's ``name:`` value."""

    name: str
    file: str
    name_y: Y
    settings: dict[str, Y]
    site: str | None
    rack: str | None
    groups: tuple[str, ...]
    address_written: bool  # written by the user (not defaulted): takes part in the address:port check
    port_written: bool

    @property
    def path(self) -> str:
        return f"nodes.{self.name}"


@dataclass(slots=True)
class _Placement:
    entry: Y
    path: str
    site: str | None
    rack: str | None
    levels: tuple[Y | None, ...]  # site and rack levels, between defaults and groups


def collect_drafts(root: Y, ctx: Ctx) -> list[NodeDraft]:
    """Every node of a checked inventory file, in file order."""
    defaults = root.get("defaults")
    groups_y = root.get("groups")
    groups: dict[str, Y | None] = {}
    if groups_y is not None and isinstance(groups_y.value, dict):
        groups = {name: group.get("vars") for name, group in groups_y.value.items()}
    drafts: list[NodeDraft] = []
    for placement in _placements(root):
        drafts.extend(_drafts_of(placement, defaults, groups, ctx))
    return drafts


def _placements(root: Y) -> Iterator[_Placement]:
    sites = root.get("sites")
    if sites is not None and isinstance(sites.value, dict):
        for site_name, site in sites.value.items():
            site_level = _site_level(site)
            site_path = join_path("sites", site_name)
            for index, entry in enumerate(_list(site.get("nodes"))):
                yield _Placement(entry, f"{site_path}.nodes[{index}]", site_name, None, (site_level,))
            racks = site.get("racks")
            if racks is None or not isinstance(racks.value, dict):
                continue
            for rack_name, rack in racks.value.items():
                rack_path = f"{site_path}.racks.{rack_name}"
                for index, entry in enumerate(_list(rack.get("nodes"))):
                    levels = (site_level, rack.get("vars"))
                    yield _Placement(entry, f"{rack_path}.nodes[{index}]", site_name, rack_name, levels)
    for index, entry in enumerate(_list(root.get("nodes"))):
        site_y, rack_y = entry.get("site"), entry.get("rack")
        site = str(site_y.value) if site_y is not None else None
        rack = str(rack_y.value) if rack_y is not None else None
        yield _Placement(entry, f"nodes[{index}]", site, rack, ())


def _site_level(site: Y) -> Y | None:
    """The site's vars with its ``operator`` shorthand folded in (vars win if both set it)."""
    operator = site.get("operator")
    site_vars = site.get("vars")
    if operator is None:
        return site_vars
    merged = {"operator": operator}
    if site_vars is not None and isinstance(site_vars.value, dict):
        merged.update(site_vars.value)
    return Y(merged, site.line, site.column)


def _list(y: Y | None) -> list[Y]:
    return y.value if y is not None and isinstance(y.value, list) else []


def _drafts_of(
    placement: _Placement, defaults: Y | None, groups: dict[str, Y | None], ctx: Ctx
) -> list[NodeDraft]:
    entry = placement.entry
    name_y = entry.get("name")
    if name_y is None or not isinstance(name_y.value, str):
        return []  # missing or mistyped name: already reported by the format check
    template = name_y.value
    group_names, group_levels = _groups_of(entry, template, groups, ctx)
    assert isinstance(entry.value, dict)
    own = {key: value for key, value in entry.value.items() if key not in PLACEMENT_KEYS}
    names = _expand(name_y, f"nodes.{template}.name", ctx)
    addresses = _addresses(own.get("address"), template, len(names), ctx)
    if not names or addresses is None:
        return []
    levels_before = (defaults, *placement.levels, *group_levels)
    base = merge_levels(levels_before)
    drafts = []
    for index, name in enumerate(names):
        fields = dict(own)
        address_y = own.get("address")
        if address_y is not None and addresses:
            fields["address"] = Y(addresses[index], address_y.line, address_y.column, text=addresses[index])
        settings = merge_levels((Y(base, entry.line, entry.column), Y(fields, entry.line, entry.column)))
        drafts.append(
            NodeDraft(
                name=name,
                file=ctx.file,
                name_y=name_y,
                settings=settings,
                site=placement.site,
                rack=placement.rack,
                groups=group_names,
                address_written="address" in settings,
                port_written="port" in settings,
            )
        )
    return drafts


def _groups_of(
    entry: Y, template: str, groups: dict[str, Y | None], ctx: Ctx
) -> tuple[tuple[str, ...], list[Y | None]]:
    names: list[str] = []
    levels: list[Y | None] = []
    for index, group_y in enumerate(_list(entry.get("groups"))):
        group = str(group_y.value)
        if group not in groups:
            hint = did_you_mean(group, groups)
            ctx.at(group_y, f"nodes.{template}.groups[{index}]", f"unknown group '{group}'{hint}")
            continue
        if group in names:
            continue
        names.append(group)
        levels.append(groups[group])
    return tuple(names), levels


def _expand(y: Y, path: str, ctx: Ctx) -> list[str]:
    try:
        return expand(str(y.value))
    except RangeError as error:
        ctx.at(y, path, str(error))
        return []


def _addresses(address_y: Y | None, template: str, count: int, ctx: Ctx) -> list[str] | None:
    """The address of each expanded node ([] when none is written); None after a problem."""
    if address_y is None or not isinstance(address_y.value, str):
        return []
    path = f"nodes.{template}.address"
    addresses = _expand(address_y, path, ctx)
    if not addresses:
        return None
    if has_range(address_y.value) and len(addresses) != count:
        ctx.at(address_y, path, f"the address range gives {len(addresses)} addresses for {count} node names")
        return None
    if len(addresses) == 1:
        return addresses * count
    return addresses

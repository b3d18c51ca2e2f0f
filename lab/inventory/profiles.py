"""Loading certification profiles (``inventory/profiles/NAME.yaml``).

Limits are data: a criterion has default limits (``min``, ``max``, ``expected``,
``marginal``) and ``by_device`` overrides per catalog key; an override sets only the
keys it names, the rest come from the criterion. ``Profile.sha256`` is the digest of the
file's bytes so a report can say exactly which limits were applied.

::

    profiles = load_profiles(Path("inventory/profiles"), problems, catalog_keys={"rngd", ...})
    profiles["kcloud-npu-v1"].criteria["offline-throughput"].limits_for("rngd").minimum
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path

from lab.inventory.formats import PROFILE
from lab.inventory.model import Axis, Criterion, Limits, Location, Profile, Scalar, frozen_mapping
from lab.inventory.spec import Ctx
from lab.inventory.yamlsource import Problems, Y, did_you_mean, join_path, parse_yaml_file

_LIMIT_KEYS = ("min", "max", "expected", "marginal")


def load_profiles(
    folder: Path, problems: Problems, catalog_keys: Collection[str]
) -> tuple[dict[str, Profile], list[tuple[str, bytes]]]:
    """Every ``*.yaml`` profile in ``folder`` (sorted by name) and the files read with their bytes."""
    profiles: dict[str, Profile] = {}
    files: list[tuple[str, bytes]] = []
    for path in sorted(folder.glob("*.yaml")):
        profile, data = load_profile(path, problems, catalog_keys)
        files.append((str(path), data))
        if profile is not None:  # keyed by file name: a name mismatch is reported once, not at every use
            profiles[path.stem] = profile
    return profiles, files


def load_profile(
    path: Path, problems: Problems, catalog_keys: Collection[str]
) -> tuple[Profile | None, bytes]:
    label = str(path)
    root, data = parse_yaml_file(path, problems)
    if root is None:
        return None, data
    ctx = Ctx(label, problems)
    checked = PROFILE.check(root, "", ctx)
    if checked is None or not isinstance(checked.value, dict):
        return None, data
    fields = checked.value
    if not checked.usable("name", "version", "description", "criteria"):
        return None, data
    name = str(fields["name"].value)
    if name != path.stem:
        ctx.at(fields["name"], "name", f"profile name '{name}' differs from its file name '{path.stem}.yaml'")
    criteria: dict[str, Criterion] = {}
    criteria_y = fields["criteria"].value
    assert isinstance(criteria_y, dict)
    for key, entry in criteria_y.items():
        where = fields["criteria"].key_position(key)
        criterion = _criterion(key, entry, ctx, catalog_keys, name, where)
        if criterion is not None:
            criteria[key] = criterion
    settings: dict[str, Scalar] = {}
    if "settings" in fields and isinstance(fields["settings"].value, dict):
        settings = {key: _scalar(value) for key, value in fields["settings"].value.items()}
    profile = Profile(
        name=name,
        version=str(fields["version"].value),
        description=str(fields["description"].value),
        criteria=frozen_mapping(criteria),  # type: ignore[arg-type]
        settings=frozen_mapping(settings),  # type: ignore[arg-type]
        sha256=hashlib.sha256(data).hexdigest(),
        location=Location(label, root.line, root.column),
    )
    return profile, data


def _scalar(y: Y) -> Scalar:
    value = y.value
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _criterion(
    name: str, entry: Y, ctx: Ctx, catalog_keys: Collection[str], profile_name: str, position: tuple[int, int]
) -> Criterion | None:
    fields = entry.value
    assert isinstance(fields, dict)
    path = join_path("criteria", name)
    if not entry.usable("axis", "unit", "description"):
        return None
    limits = _limits(fields, {}, path, ctx)
    by_device: dict[str, Limits] = {}
    overrides = fields.get("by_device")
    if overrides is not None and isinstance(overrides.value, dict):
        for model, override in overrides.value.items():
            where = join_path(join_path(path, "by_device"), model)
            if model not in catalog_keys:
                line, column = overrides.key_position(model)
                hint = did_you_mean(model, catalog_keys)
                ctx.add(line, column, where, f"unknown device model '{model}'{hint}")
                continue
            assert isinstance(override.value, dict)
            by_device[model] = _limits(override.value, fields, where, ctx)
    informational = "informational" in fields and fields["informational"].value is True
    not_applicable: dict[str, str] = {}
    listed = fields.get("not_applicable")
    if listed is not None and isinstance(listed.value, dict):
        for model, why in listed.value.items():
            if model not in catalog_keys:
                line, column = listed.key_position(model)
                where = join_path(join_path(path, "not_applicable"), model)
                ctx.add(
                    line, column, where, f"unknown device model '{model}'{did_you_mean(model, catalog_keys)}"
                )
                continue
            not_applicable[model] = str(why.value)
    if not any(key in fields for key in ("min", "max", "expected")) and not by_device and not informational:
        ctx.at(
            entry,
            path,
            "a criterion needs min, max or expected (or by_device limits, or informational: true)",
        )
    return Criterion(
        name=name,
        axis=Axis(fields["axis"].value),
        unit=str(fields["unit"].value),
        description=str(fields["description"].value),
        limits=limits,
        by_device=frozen_mapping(by_device),  # type: ignore[arg-type]
        profile=profile_name,
        informational=informational,
        not_applicable=frozen_mapping(not_applicable),  # type: ignore[arg-type]
        location=Location(ctx.file, *position),
    )


def missing_limits(profile: Profile, catalog_keys: Collection[str]) -> list[tuple[Criterion, str]]:
    """Every (criterion, catalog model) pair whose values would be SKIP "no limit": uncertified.

    Informational criteria and the models a criterion lists under ``not_applicable`` are left
    out: those are deliberate, not forgotten::

        for criterion, model in missing_limits(profile, catalog):
            print(f"{criterion.location}: {criterion.name}: no limit for {model}")
    """
    return [
        (criterion, model)
        for criterion in profile.criteria.values()
        if not criterion.informational
        for model in sorted(catalog_keys)
        if model not in criterion.not_applicable and not criterion.has_limit_for(model)
    ]


def _limits(own: dict[str, Y], inherited: dict[str, Y], path: str, ctx: Ctx) -> Limits:
    """Limits from ``own`` keys, falling back to ``inherited`` (the criterion's) for keys not given."""
    values = {key: (own.get(key) or inherited.get(key)) for key in _LIMIT_KEYS}
    low, high = values["min"], values["max"]
    if low is not None and high is not None and _number(low) > _number(high):
        ctx.at(low, join_path(path, "min"), f"min {_number(low):g} is above max {_number(high):g}")
    marginal = values["marginal"]
    return Limits(
        minimum=_number(low) if low is not None else None,
        maximum=_number(high) if high is not None else None,
        expected=_scalar(values["expected"]) if values["expected"] is not None else None,
        marginal=_number(marginal) if marginal is not None else 0.0,
    )


def _number(y: Y) -> float:
    value = y.value
    return float(value) if isinstance(value, int | float) else 0.0

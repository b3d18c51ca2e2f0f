"""Turning node drafts into model ``Node`` objects, with the rules that need the catalog.

Checks done here, each reported at the line where the offending value was written:
required keys after inheritance (user, operator, address for real nodes), address
syntax, the operator list, auth (one method; secrets only by environment variable name),
host keys (each pinned line parses; a real node in strict mode needs a key source),
device models, profiles, emulation settings and fault devices.
"""

from __future__ import annotations

import ipaddress
import os
import re
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from lab.inventory.catalog import parse_pcie
from lab.inventory.drafts import NodeDraft
from lab.inventory.formats import PCIE
from lab.inventory.hostkeys import host_key_problem, split_key_lines
from lab.inventory.llm_references import ReferenceSetError, read_reference_set
from lab.inventory.model import (
    AcceleratorSpec,
    Auth,
    Bmc,
    BmcTls,
    DeviceModel,
    Emulation,
    ExpectedVersions,
    FaultKind,
    FaultSpec,
    HostKeyTrust,
    Location,
    Node,
    Scalar,
    Serving,
    frozen_mapping,
)
from lab.inventory.spec import Ctx
from lab.inventory.yamlsource import Y, did_you_mean, join_path

EMULATED_ADDRESS = "127.0.0.1"
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_PCIE = re.compile(PCIE)
_AUTH_METHODS = ("key_file", "agent", "password", "password_env")


@dataclass(slots=True)
class BuildContext:
    """What node building needs besides the draft."""

    catalog: Mapping[str, DeviceModel]
    broken_models: Collection[str]  # declared in a catalog but invalid there: already reported
    profiles: Collection[str]
    operators: Collection[str]
    host_keys: Mapping[str, list[Y]]  # from the file's host_keys: section
    base_dir: Path
    profiles_hint: str = ""  # appended to unknown-profile messages (e.g. the folder searched)
    _key_checks: dict[str, str | None] = field(default_factory=dict)
    _paths: dict[str, str] = field(default_factory=dict)

    def key_problem(self, line: str) -> str | None:
        if line not in self._key_checks:
            self._key_checks[line] = host_key_problem(line)
        return self._key_checks[line]

    def path(self, text: str) -> str:
        """``~`` expanded; relative paths start at the inventory file's folder (cached per text)."""
        if text not in self._paths:
            expanded = Path(os.path.expanduser(text))
            self._paths[text] = str(expanded if expanded.is_absolute() else self.base_dir / expanded)
        return self._paths[text]


def build_node(draft: NodeDraft, ctx: Ctx, env: BuildContext) -> Node | None:
    """The model node for ``draft``, or None when a required part is missing or invalid."""
    s = draft.settings
    path = draft.path
    before = ctx.reported
    emulated = _bool(s.get("emulated"), False)
    address = _address(draft, ctx, emulated)
    user = _required_str(draft, "user", ctx)
    operator = _operator(draft, ctx, env)
    auth = _auth(s.get("auth"), join_path(path, "auth"), ctx, env)
    host_key = _host_key(draft, ctx, env, emulated)
    accelerators = _accelerators(s.get("accelerators"), path, ctx, env)
    # Counted from what was written, so an unknown model does not also make fault devices "missing".
    device_count = sum(_int(entry.get("count"), 0) for entry in _items(s.get("accelerators")))
    emulation = _emulation(draft, ctx, emulated, device_count)
    bmc = _bmc(draft, ctx, emulated)
    profile = _optional_str(s.get("profile"))
    if profile is not None and profile not in env.profiles:
        profile_y = s["profile"]
        hint = did_you_mean(profile, env.profiles) or env.profiles_hint
        ctx.at(profile_y, join_path(path, "profile"), f"unknown profile '{profile}'{hint}")
    _check_serving(s.get("serving"), path, ctx)
    if ctx.reported != before or address is None or user is None or operator is None or auth is None:
        return None
    timeouts = s.get("timeouts")
    return Node(
        name=draft.name,
        address=address,
        port=_int(s.get("port"), 22),
        user=user,
        auth=auth,
        host_key=host_key,
        operator=operator,
        site=draft.site,
        rack=draft.rack,
        groups=draft.groups,
        accelerators=accelerators,
        expected=_expected(s.get("expected")),
        tags=frozenset(str(tag.value) for tag in _items(s.get("tags"))),
        labels=frozen_mapping(_labels(s.get("labels"))),  # type: ignore[arg-type]
        emulated=emulated,
        jump=_optional_str(s.get("jump")),
        profile=profile,
        ssh_config=_bool(s.get("ssh_config"), False),
        connect_timeout=_float(timeouts.get("connect") if timeouts else None, 10.0),
        command_timeout=_float(timeouts.get("command") if timeouts else None, 300.0),
        emulation=emulation,
        location=Location(draft.file, draft.name_y.line, draft.name_y.column),
        secret_env=_secret_env(auth, s.get("labels"), bmc),
        serving=_serving(s.get("serving"), join_path(path, "serving"), ctx, env),
        bmc=bmc,
    )


def _serving(y: Y | None, path: str, ctx: Ctx, env: BuildContext) -> Serving | None:
    if y is None or not isinstance(y.value, dict):
        return None
    fields = y.value
    address, model = _optional_str(fields.get("address")), _optional_str(fields.get("model"))
    if address is None or model is None:
        return None  # already reported by the shape check
    launch = tuple(str(item.value) for item in _items(fields.get("launch")))
    cards = tuple(int(item.value) for item in _items(fields.get("cards")) if isinstance(item.value, int))
    models = fields.get("models")
    by_precision = (
        {str(key): str(item.value) for key, item in models.value.items() if isinstance(item.value, str)}
        if models is not None and isinstance(models.value, dict)
        else {}
    )
    return Serving(
        address=address, model=model, launch=launch, cards=cards or (0,),
        models=frozen_mapping(by_precision), references=_references(fields, path, ctx, env),  # type: ignore[arg-type]
    )  # fmt: skip


def _check_serving(y: Y | None, path: str, ctx: Ctx) -> None:
    """One model is served at one precision: a name under two precisions of ``serving.models`` is
    an error (its endpoint reports one precision for it)."""
    models = y.value.get("models") if y is not None and isinstance(y.value, dict) else None
    if models is None or not isinstance(models.value, dict):
        return
    seen: dict[str, str] = {}
    for precision, item in models.value.items():
        if not isinstance(item.value, str):
            continue
        if item.value in seen:
            ctx.at(
                item,
                join_path(path, f"serving.models.{precision}"),
                f"model {item.value!r} is already the {seen[item.value]} model: one model name per "
                "precision (name each precision's build, e.g. llama-3.1-8b-fp8)",
            )
        seen.setdefault(item.value, str(precision))


def _references(fields: dict[str, Y], path: str, ctx: Ctx, env: BuildContext) -> str | None:
    """``serving.references`` as a path, its reference set checked (an error at its line)."""
    references = _optional_str(fields.get("references"))
    if references is not None:
        references = env.path(references)
        try:
            read_reference_set(Path(references))
        except ReferenceSetError as error:
            ctx.at(
                fields["references"],
                join_path(path, "references"),
                f"{error} (write one with: python -m lab.llm.tiny_reference, or see docs/llm.md)",
            )
    return references


# --- small readers of already type-checked values ---------------------------------------


def _items(y: Y | None) -> list[Y]:
    return y.value if y is not None and isinstance(y.value, list) else []


def _bool(y: Y | None, default: bool) -> bool:
    return y.value if y is not None and isinstance(y.value, bool) else default


def _int(y: Y | None, default: int) -> int:
    return (
        y.value if y is not None and isinstance(y.value, int) and not isinstance(y.value, bool) else default
    )


def _float(y: Y | None, default: float) -> float:
    if y is not None and isinstance(y.value, int | float) and not isinstance(y.value, bool):
        return float(y.value)
    return default


def _optional_str(y: Y | None) -> str | None:
    return y.value if y is not None and isinstance(y.value, str) else None


def _required_str(draft: NodeDraft, key: str, ctx: Ctx) -> str | None:
    value = _optional_str(draft.settings.get(key))
    if value is None and key not in draft.settings:
        ctx.at(
            draft.name_y,
            draft.path,
            f"missing required key '{key}' (set it on the node, a group or defaults)",
        )
    return value


def _secret_env(auth: Auth, labels: Y | None, bmc: Bmc | None = None) -> tuple[str, ...]:
    """The variables holding this node's secrets: its auth's, its BMC's, every label given as ``!env``."""
    names = [auth.password_env, auth.passphrase_env, bmc.password_env if bmc else None]
    if labels is not None and isinstance(labels.value, dict):
        names += [value.env for value in labels.value.values()]
    return tuple(sorted({name for name in names if name}))


def _labels(y: Y | None) -> dict[str, Scalar]:
    if y is None or not isinstance(y.value, dict):
        return {}
    labels: dict[str, Scalar] = {}
    for key, value in y.value.items():
        raw = value.value
        labels[key] = raw if isinstance(raw, str | int | float | bool) or raw is None else str(raw)
    return labels


# --- rules ------------------------------------------------------------------------------


def _address(draft: NodeDraft, ctx: Ctx, emulated: bool) -> str | None:
    address_y = draft.settings.get("address")
    if address_y is None:
        if emulated:
            return EMULATED_ADDRESS  # the test-bed launcher writes the real one into a resolved file
        ctx.at(draft.name_y, draft.path, "missing required key 'address' (only emulated nodes may omit it)")
        return None
    if address_y.refused:
        return None
    address = str(address_y.value)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if not _HOSTNAME.match(address):
            ctx.at(
                address_y, join_path(draft.path, "address"), f"{address!r} is not an IP address or host name"
            )
            return None
    return address


def _operator(draft: NodeDraft, ctx: Ctx, env: BuildContext) -> str | None:
    operator = _required_str(draft, "operator", ctx)
    if operator is not None and operator not in env.operators:
        hint = did_you_mean(operator, env.operators)
        ctx.at(
            draft.settings["operator"],
            join_path(draft.path, "operator"),
            f"unknown operator '{operator}'{hint}; known: {', '.join(sorted(env.operators))} "
            "(declare others under 'operators:')",
        )
        return None
    return operator


def _auth(y: Y | None, path: str, ctx: Ctx, env: BuildContext) -> Auth | None:
    if y is None or not isinstance(y.value, dict):
        return Auth(method="agent")  # like ssh: without other instructions, ask the agent
    fields = y.value
    chosen = [key for key in _AUTH_METHODS if key in fields]
    if len(chosen) != 1:
        given = " and ".join(chosen) if chosen else "none"
        ctx.at(y, path, f"auth needs exactly one of key_file, agent, password, password_env (given: {given})")
        return None
    passphrase_env = _optional_str(fields.get("passphrase_env")) or _optional_str(fields.get("passphrase"))
    if passphrase_env is not None and chosen[0] != "key_file":
        where = fields.get("passphrase_env") or fields["passphrase"]
        ctx.at(where, path, "a passphrase applies only to auth.key_file")
        return None
    method = chosen[0]
    if fields[method].refused:
        return None  # a literal secret or an unset variable: already reported
    if method == "key_file":
        key_file = env.path(str(fields["key_file"].value))
        return Auth(method="key", key_file=key_file, passphrase_env=passphrase_env)
    if method == "agent":
        if fields["agent"].value is not True:
            ctx.at(fields["agent"], join_path(path, "agent"), "agent: false chooses no method; remove it")
            return None
        return Auth(method="agent")
    return Auth(method="password", password_env=str(fields[method].value))


def _host_key(draft: NodeDraft, ctx: Ctx, env: BuildContext, emulated: bool) -> HostKeyTrust:
    s = draft.settings
    lines: list[str] = []
    sources = [(value, f"host_key[{index}]") for index, value in enumerate(_items(s.get("host_key")))]
    sources += [(value, f"host_keys.{draft.name}") for value in env.host_keys.get(draft.name, [])]
    for value, where in sources:
        for line in split_key_lines(str(value.value)):
            problem = env.key_problem(line)
            if problem is not None:
                path = where if where.startswith("host_keys") else join_path(draft.path, where)
                ctx.at(value, path, f"host key does not parse: {problem}")
            elif line not in lines:
                lines.append(line)
    known_hosts = _optional_str(s.get("known_hosts"))
    mode: Literal["strict", "bring-up"] = (
        "bring-up" if _optional_str(s.get("trust")) == "bring-up" else "strict"
    )
    has_source = bool(sources) or "host_key" in s or "known_hosts" in s
    if not emulated and mode == "strict" and not has_source:
        ctx.at(
            draft.name_y,
            draft.path,
            "no host key: pin one with host_key (or the host_keys section), "
            "name a known_hosts file, or set trust: bring-up",
        )
    resolved = env.path(known_hosts) if known_hosts is not None else None
    return HostKeyTrust(pinned=tuple(lines), known_hosts=resolved, mode=mode)


def _bmc(draft: NodeDraft, ctx: Ctx, emulated: bool) -> Bmc | None:
    """The node's BMC: password only by variable name; pinned TLS needs a fingerprint (real nodes)."""
    y = draft.settings.get("bmc")
    if y is None or not isinstance(y.value, dict):
        return None
    path = join_path(draft.path, "bmc")
    fields = y.value
    chosen = [key for key in ("password", "password_env") if key in fields]
    if len(chosen) != 1:
        given = " and ".join(chosen) if chosen else "none"
        ctx.at(y, path, f"bmc needs exactly one of password (!env VAR) or password_env (given: {given})")
        return None
    if fields[chosen[0]].refused or not y.usable("user"):
        return None  # a literal or unset secret, or a bad user: already reported
    address = _optional_str(fields.get("address"))
    if address is None:
        if not emulated:
            ctx.at(y, path, "missing required key 'address' (only emulated nodes may omit it)")
            return None
        address = EMULATED_ADDRESS  # the test-bed launcher writes the BMC's port into a resolved file
    tls: BmcTls = "insecure" if _optional_str(fields.get("tls")) == "insecure" else "pinned"
    fingerprint_text = _optional_str(fields.get("tls_fingerprint"))
    fingerprint = normalize_fingerprint(fingerprint_text) if fingerprint_text is not None else None
    if tls == "pinned" and fingerprint is None and not emulated:
        ctx.at(
            y,
            path,
            "no TLS fingerprint: pin the BMC's certificate with tls_fingerprint "
            "(openssl s_client -connect BMC:443 </dev/null | openssl x509 -noout -fingerprint -sha256) "
            "or set tls: insecure",
        )
        return None
    return Bmc(
        address=address,
        port=_int(fields.get("port"), 443),
        user=str(fields["user"].value),
        password_env=str(fields[chosen[0]].value),
        tls=tls,
        fingerprint=fingerprint,
        timeout=_float(fields.get("timeout"), 10.0),
        system=_optional_str(fields.get("system")),
        chassis=_optional_str(fields.get("chassis")),
    )


def normalize_fingerprint(text: str) -> str:
    """``sha256:AB:CD:...`` (any case, colons optional) as lowercase hex without colons.

    >>> normalize_fingerprint("sha256:" + ":".join(["Ab"] * 32))[:6]
    'ababab'
    """
    text = text.strip()
    if text.lower().startswith("sha256:"):
        text = text[len("sha256:") :]
    return text.replace(":", "").lower()


def _accelerators(y: Y | None, path: str, ctx: Ctx, env: BuildContext) -> tuple[AcceleratorSpec, ...]:
    specs: list[AcceleratorSpec] = []
    for index, entry in enumerate(_items(y)):
        model_y, count_y = entry.get("model"), entry.get("count")
        if model_y is None or count_y is None or not entry.usable("model", "count"):
            continue  # already reported
        model = str(model_y.value)
        if model in env.broken_models:
            ctx.reported += 1  # the node cannot be built, but the mistake is the catalog's
            continue
        if model not in env.catalog:
            hint = did_you_mean(model, env.catalog)
            ctx.at(model_y, f"{path}.accelerators[{index}].model", f"unknown device model '{model}'{hint}")
            continue
        specs.append(AcceleratorSpec(model=model, count=_int(count_y, 1)))
    return tuple(specs)


def _expected(y: Y | None) -> ExpectedVersions:
    if y is None or not isinstance(y.value, dict):
        return ExpectedVersions()
    fields = y.value
    pcie = _optional_str(fields.get("pcie"))
    return ExpectedVersions(
        driver=_optional_str(fields.get("driver")),
        firmware=_optional_str(fields.get("firmware")),
        runtime=_optional_str(fields.get("runtime")),
        pcie=parse_pcie(pcie) if pcie is not None else None,
    )


def _emulation(draft: NodeDraft, ctx: Ctx, emulated: bool, device_count: int) -> Emulation | None:
    y = draft.settings.get("emulation")
    path = join_path(draft.path, "emulation")
    if y is not None and not emulated:
        ctx.at(y, path, "emulation settings need emulated: true on the node")
        return None
    if not emulated:
        return None
    fields = y.value if y is not None and isinstance(y.value, dict) else {}
    faults = tuple(
        fault
        for index, entry in enumerate(_items(fields.get("faults")))
        if (fault := _fault(entry, f"{path}.faults[{index}]", ctx, device_count)) is not None
    )
    return Emulation(
        seed=_int(fields.get("seed"), zlib.crc32(draft.name.encode()) & 0x7FFFFFFF),
        time_scale=_float(fields.get("time_scale"), 1.0),
        ambient_celsius=_float(fields.get("ambient_celsius"), 25.0),
        faults=faults,
    )


def _fault(entry: Y, path: str, ctx: Ctx, device_count: int) -> FaultSpec | None:
    fields = entry.value
    if not isinstance(fields, dict) or not entry.usable("kind"):
        return None
    if "after_seconds" in fields and "after_queries" in fields:
        ctx.at(fields["after_queries"], path, "give after_seconds or after_queries, not both")
        return None
    device_y = fields.get("device")
    device = _int(device_y, -1) if device_y is not None else None
    if device_y is not None and device is not None and device >= device_count:
        cards = f"cards (indexes 0-{device_count - 1})" if device_count else "cards"
        ctx.at(
            device_y,
            join_path(path, "device"),
            f"device {device} does not exist: the node has {device_count} {cards}",
        )
        return None
    parameters_y = fields.get("parameters")
    parameters = _labels(parameters_y)
    link = parameters.get("link")
    if (
        fields["kind"].value == "pcie-degraded"
        and link is not None
        and not (isinstance(link, str) and _PCIE.match(link))
    ):
        assert parameters_y is not None
        where = parameters_y.get("link") or parameters_y
        ctx.at(where, join_path(path, "parameters.link"), f"{link!r} is not a PCIe link such as 'Gen4 x8'")
        return None
    after_seconds_y, after_queries_y = fields.get("after_seconds"), fields.get("after_queries")
    return FaultSpec(
        kind=cast(FaultKind, fields["kind"].value),
        device=device,
        after_seconds=_float(after_seconds_y, 0.0) if after_seconds_y is not None else None,
        after_queries=_int(after_queries_y, 0) if after_queries_y is not None else None,
        parameters=frozen_mapping(parameters),  # type: ignore[arg-type]
    )

"""Frozen data model of a validated inventory.

Everything here is plain, immutable data produced by the loader after inheritance
(defaults → groups in order → node) and validation. No I/O, no behaviour beyond small
lookups, so every layer above can rely on it without surprises.

Typical use::

    from lab.inventory import load_inventory

    inventory = load_inventory("inventory/gwangju.yaml")
    for node in inventory.nodes:
        model = inventory.catalog[node.accelerators[0].model]
        print(node.name, node.address, model.name, model.tool)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Literal

Scalar = str | int | float | bool | None
"""A YAML scalar as it appears in labels, fault parameters and profile settings."""


def frozen_mapping(items: Mapping[str, object] | None = None) -> Mapping[str, object]:
    """A read-only mapping (``MappingProxyType``) for use in frozen dataclasses."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value was written: file path and 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Axis(str, Enum):  # noqa: UP042 -- StrEnum would change str(); keep the contract others code against
    """The five verification axes of the Gwangju test-bed."""

    COMPATIBILITY = "compatibility"  # 호환성
    STABILITY = "stability"  # 안정성
    USABILITY = "usability"  # 사용성
    SCALABILITY = "scalability"  # 확장성
    PERFORMANCE = "performance"  # 성능


# --- device catalog -------------------------------------------------------------------

Confidence = Literal["P", "S", "U"]
"""P: primary source, S: secondary, U: unverified (never printed as fact)."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One spec-sheet number with its provenance. ``value`` is None when unknown."""

    value: float | None
    unit: str
    source: str
    confidence: Confidence

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True, slots=True)
class PcieLink:
    """A PCIe link: generation (1-6) and lane count (1-32)."""

    generation: int
    width: int

    def __str__(self) -> str:
        return f"Gen{self.generation} x{self.width}"


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """One catalog entry (``inventory/devices.yaml``), keyed by ``key`` such as ``rngd``."""

    key: str
    vendor: str  # furiosaai | rebellions | sapeon | nvidia | cpu (a CPU reference node's host)
    name: str  # marketing name, e.g. "FuriosaAI RNGD"
    tool: str  # vendor management tool, e.g. "furiosa-smi"
    product_name: str  # how the tool names the product, e.g. "rngd", "RBLN-CA12", "NVIDIA H100 PCIe"
    int8_tops: Figure
    fp16_tflops: Figure
    memory_gib: Figure
    memory_bandwidth_gbps: Figure
    tdp_watts: Figure
    pcie: PcieLink | None
    dies_per_card: int = 1  # ATOM-Max shows 4 devices per card in rbln-smi
    synthetic_tool: bool = False  # True where no public tool exists (Sapeon) and ours is synthetic
    location: Location | None = None
    tool_version: str | None = None  # the tool release whose output the emulated tool prints


# --- nodes ----------------------------------------------------------------------------

AuthMethod = Literal["key", "agent", "password"]


@dataclass(frozen=True, slots=True)
class Auth:
    """How the controller authenticates to a node.

    Secrets never live here: a password or key passphrase is named by the environment
    variable that holds it (``password_env``, ``passphrase_env``) and read at connect time.
    """

    method: AuthMethod
    key_file: str | None = None
    password_env: str | None = None
    passphrase_env: str | None = None


@dataclass(frozen=True, slots=True)
class HostKeyTrust:
    """Where the node's SSH host key comes from.

    ``pinned`` holds OpenSSH public-key lines (``ssh-ed25519 AAAA...``); ``known_hosts`` a
    file path. At least one is set for strict checking. ``mode`` is ``strict`` unless the
    inventory asks for ``bring-up`` (trust on first use, recorded) by name.
    """

    pinned: tuple[str, ...] = ()
    known_hosts: str | None = None
    mode: Literal["strict", "bring-up"] = "strict"


BmcTls = Literal["pinned", "insecure"]


@dataclass(frozen=True, slots=True)
class Bmc:
    """The node's baseboard management controller, reached over DMTF Redfish (HTTPS).

    Like ``Auth``, it names the environment variable holding the password, never the value.
    ``tls`` is ``pinned`` (the certificate's SHA-256 ``fingerprint`` must match, the way host
    keys are pinned) or ``insecure`` (no check at all; only when asked for by name, and then
    recorded in every record that used the BMC).
    """

    address: str
    port: int
    user: str
    password_env: str
    tls: BmcTls = "pinned"
    fingerprint: str | None = None  # SHA-256 of the DER certificate, lowercase hex without colons
    timeout: float = 10.0  # seconds: connect and each request
    system: str | None = None  # Redfish ComputerSystem Id; None = the only one
    chassis: str | None = None  # Redfish Chassis Id holding Power/Thermal; None = the first one

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"https://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class AcceleratorSpec:
    """The accelerators a node holds: a catalog model key and how many cards."""

    model: str
    count: int


@dataclass(frozen=True, slots=True)
class ExpectedVersions:
    """Versions and link the node is expected to report (pinned for certification)."""

    driver: str | None = None
    firmware: str | None = None
    runtime: str | None = None
    pcie: PcieLink | None = None


FaultKind = Literal[
    "thermal-runaway",
    "ecc-correctable",
    "ecc-uncorrectable",
    "pcie-degraded",
    "fell-off-bus",
    "hang",
    "perf-degradation",
    "wrong-firmware",
    "wrong-output",
    "aer-storm",
    "xid",
    "exporter-scale",
    "bmc-timeout",  # node-level: the emulated BMC stops answering (requests hang)
    "bmc-frozen-power",  # node-level: the emulated BMC's PowerConsumedWatts stops changing
    "llm-decode-slowdown",  # the node's LLM endpoint decodes factor × slower once busy after_busy_seconds
    "llm-stream-cut",  # the node's LLM endpoint ends streams after after_tokens tokens, no finish reason
    "llm-wrong-tokens",  # the node's LLM endpoint returns wrong tokens (at full speed)
    "llm-served-elsewhere",  # the node's LLM endpoint computes on card parameters.card, not its own
    "accuracy-drift",  # outputs grow noisier with the card's time since the fault started
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault injected into an emulated device.

    It starts after ``after_seconds`` of emulated time or ``after_queries`` tool/workload
    queries (whichever is given; both None means from the start). ``parameters`` are
    kind-specific numbers/strings (e.g. ``{"link": "Gen4 x8"}`` for pcie-degraded).
    """

    kind: FaultKind
    device: int | None = None  # card index on the node; None = every card
    after_seconds: float | None = None
    after_queries: int | None = None
    parameters: Mapping[str, Scalar] = field(default_factory=frozen_mapping)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Emulation:
    """Settings of an emulated node: deterministic seed, time scale and injected faults."""

    seed: int = 0
    time_scale: float = 1.0  # emulated seconds per wall-clock second
    ambient_celsius: float = 25.0
    faults: tuple[FaultSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Serving:
    """A node's OpenAI-compatible LLM endpoint: ``Serving("127.0.0.1:8000", "llama-3.1-8b-instruct")``."""

    address: str
    model: str
    launch: tuple[str, ...] = ()  # argv run on the node to start it; empty: already running
    cards: tuple[int, ...] = (0,)  # the node's cards (inventory order) it serves on: the cards under test
    # precision → model name (the LLM grid's precisions); empty: ``model`` at the precision it reports
    models: Mapping[str, str] = field(default_factory=frozen_mapping)  # type: ignore[arg-type]

    def model_for(self, precision: str) -> str | None:
        """The model the inventory names for ``precision`` (None: not declared)."""
        return self.models.get(precision)

    references: str | None = None  # the model's accuracy reference set (a JSON file); None: the suite's


@dataclass(frozen=True, slots=True)
class Node:
    """One test-bed server after inheritance and validation."""

    name: str
    address: str
    port: int
    user: str
    auth: Auth
    host_key: HostKeyTrust
    operator: str
    site: str | None
    rack: str | None
    groups: tuple[str, ...]
    accelerators: tuple[AcceleratorSpec, ...]
    expected: ExpectedVersions
    tags: frozenset[str]
    labels: Mapping[str, Scalar]
    emulated: bool
    jump: str | None = None  # name of another inventory node to connect through
    profile: str | None = None  # certification profile name
    ssh_config: bool = False  # honour ~/.ssh/config Host entries for this node
    connect_timeout: float = 10.0  # seconds, for TCP connect, banner and auth each
    command_timeout: float = 300.0  # default wall-clock deadline of one command, seconds
    emulation: Emulation | None = None
    location: Location | None = None
    # names of the environment variables whose values are this node's secrets: the auth's
    # password_env / passphrase_env and every label given as ``!env VAR`` (values are read
    # when needed and masked in every output, never stored here)
    secret_env: tuple[str, ...] = ()
    serving: Serving | None = None  # the LLM endpoint (testsuites/llm); None: the node serves none
    bmc: Bmc | None = None  # the node's Redfish BMC, when the inventory names one

    @property
    def device_count(self) -> int:
        return sum(spec.count for spec in self.accelerators)


# --- certification profiles -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits of one criterion for one device model.

    A value passes when ``minimum <= value <= maximum`` (either bound may be absent) or,
    for equality criteria, when it equals ``expected``. ``marginal`` is a fraction: a
    passing value within ``marginal × |limit|`` of a bound is MARGINAL, not PASS.
    """

    minimum: float | None = None
    maximum: float | None = None
    expected: Scalar = None
    marginal: float = 0.0


@dataclass(frozen=True, slots=True)
class Criterion:
    """A certification criterion: what is measured, on which axis, with which limits."""

    name: str
    axis: Axis
    unit: str
    description: str
    limits: Limits
    by_device: Mapping[str, Limits] = field(default_factory=frozen_mapping)  # type: ignore[arg-type]
    profile: str = ""  # the profile it belongs to, named in "no limit for X in PROFILE"
    informational: bool = False  # deliberately without limits: recorded, never certified
    not_applicable: Mapping[str, str] = field(default_factory=frozen_mapping)  # type: ignore[arg-type]
    location: Location | None = None  # where the profile defines it

    def limits_for(self, device_model: str | None) -> Limits:
        """The limits for ``device_model`` (a catalog key), falling back to the default."""
        if device_model is not None and device_model in self.by_device:
            return self.by_device[device_model]
        return self.limits

    def has_limit_for(self, device_model: str | None) -> bool:
        """Whether a value of ``device_model`` can be judged: a min, max or expected applies.

        >>> c = Criterion("memory", Axis.COMPATIBILITY, "GiB", "", Limits(), {"rngd": Limits(minimum=46.0)})
        >>> c.has_limit_for("rngd"), c.has_limit_for("sapeon-x220")
        (True, False)
        """
        limits = self.limits_for(device_model)
        return limits.minimum is not None or limits.maximum is not None or limits.expected is not None


@dataclass(frozen=True, slots=True)
class Profile:
    """A versioned certification profile (``inventory/profiles/NAME.yaml``)."""

    name: str
    version: str
    description: str
    criteria: Mapping[str, Criterion]
    settings: Mapping[str, Scalar]  # durations, sample counts, ...: data, not code
    sha256: str  # digest of the file's bytes, for provenance
    location: Location | None = None


# --- the whole inventory --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inventory:
    """A loaded, validated inventory: nodes, the device catalog and profiles."""

    name: str
    description: str
    nodes: tuple[Node, ...]
    catalog: Mapping[str, DeviceModel]
    profiles: Mapping[str, Profile]
    source_files: tuple[str, ...]  # every file read, in order
    sha256: str  # digest over the source files' bytes, for provenance
    scope: str = "other"  # public-half | private-half | full-program | other: the part of K-Cloud described

    def node(self, name: str) -> Node:
        """The node called ``name``; ``KeyError`` if there is none."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

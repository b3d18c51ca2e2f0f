"""The three YAML formats — inventory, device catalog, certification profile — written once.

These declarations are the single source of truth: the loader checks files against them
(unknown keys, types, required keys, ranges) and ``lab inventory schema`` turns them into
JSON Schema for editors. Rules that need more than one value at a time (references,
duplicates, cycles, host-key parsing) live in the builders, not here.
"""

from __future__ import annotations

from lab.inventory.model import FAULT_KINDS, Axis
from lab.inventory.spec import (
    Bool,
    Enum,
    Field,
    Int,
    ListOf,
    MapOf,
    Nullable,
    Num,
    Obj,
    ScalarValue,
    Str,
)

WORD = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
WORD_DOC = "a word of letters, digits, '.', '_' or '-' (starting with a letter or digit)"
NODE_NAME_TEMPLATE = r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[0-9]+:[0-9]+\][A-Za-z0-9._-]*)?$"
ENV_VAR = r"^[A-Za-z_][A-Za-z0-9_]*$"
PCIE = r"^Gen[1-6] x(1|2|4|8|12|16|32)$"
PCIE_DOC = "a PCIe link such as 'Gen5 x16' (generation 1-6, width 1/2/4/8/12/16/32)"
PRECISION = r"^(fp32|bf16|fp16|fp8|int8|fp4|int4)$"
PRECISION_DOC = "a precision: fp32, bf16, fp16, fp8, int8, fp4 or int4"

KNOWN_OPERATORS: tuple[str, ...] = ("kt-cloud", "nhn-cloud", "naver-cloud")
# "cpu": the host processor of a CPU reference node (proves the harness on a real engine).
VENDORS: tuple[str, ...] = ("furiosaai", "rebellions", "sapeon", "nvidia", "cpu")
SCOPES: tuple[str, ...] = ("public-half", "private-half", "full-program", "other")
FORMAT_VERSION = 1


def _word(doc: str) -> Str:
    return Str(doc=doc, pattern=WORD, pattern_doc=WORD_DOC)


def _env_name(doc: str) -> Str:
    return Str(doc=doc, pattern=ENV_VAR, pattern_doc="an environment variable name")


AUTH = Obj(
    {
        "key_file": Field(Str(doc="Private key file; '~' and paths relative to the inventory file work.")),
        "agent": Field(Bool(doc="Use the keys of the running ssh-agent.")),
        "password": Field(Str(doc="Only as 'password: !env VAR' (the variable must be set when loading).")),
        "password_env": Field(_env_name("Environment variable holding the password, read at connect time.")),
        "passphrase": Field(Str(doc="Only as 'passphrase: !env VAR'.")),
        "passphrase_env": Field(_env_name("Environment variable holding the key file's passphrase.")),
    },
    doc="How to authenticate: exactly one of key_file, agent, password, password_env. Replaced as a whole.",
    ref="auth",
)

ACCELERATOR = Obj(
    {
        "model": Field(_word("Device catalog key, e.g. rngd, atom-plus, h100-pcie."), required=True),
        "count": Field(Int(doc="Number of cards.", minimum=1, maximum=64), required=True),
    }
)

EXPECTED = Obj(
    {
        "driver": Field(Str(doc="Pinned driver version.", numbers_as_text=True)),
        "firmware": Field(Str(doc="Pinned firmware version.", numbers_as_text=True)),
        "runtime": Field(Str(doc="Pinned runtime/SDK version.", numbers_as_text=True)),
        "pcie": Field(Str(doc="Expected PCIe link, e.g. 'Gen5 x16'.", pattern=PCIE, pattern_doc=PCIE_DOC)),
    },
    doc="Versions and link the node must report.",
)

FAULT = Obj(
    {
        "kind": Field(Enum(FAULT_KINDS, doc="What goes wrong."), required=True),
        "device": Field(Int(doc="Card index on the node; omitted = every card.", minimum=0)),
        "after_seconds": Field(Num(doc="Start after this much emulated time.", minimum=0)),
        "after_queries": Field(Int(doc="Start after this many tool/workload queries.", minimum=0)),
        "parameters": Field(MapOf(ScalarValue(), doc="Kind-specific values, e.g. {link: 'Gen4 x8'}.")),
    }
)

EMULATION = Obj(
    {
        "seed": Field(Int(doc="Random seed; default: derived from the node name.", minimum=0)),
        "time_scale": Field(Num(doc="Emulated seconds per wall-clock second.", positive=True)),
        "ambient_celsius": Field(Num(doc="Ambient temperature.", minimum=-40, maximum=80)),
        "faults": Field(ListOf(FAULT, doc="Injected faults.")),
    },
    doc="Settings of an emulated node (only with emulated: true).",
)

SERVING = Obj(
    {
        "address": Field(
            Str(
                doc="HOST:PORT of the node's OpenAI-compatible LLM endpoint, as the node's agent reaches it.",
                pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$",
                pattern_doc="HOST:PORT, e.g. 127.0.0.1:8000",
            ),
            required=True,
        ),
        "model": Field(Str(doc="Model name the endpoint serves (the request's 'model')."), required=True),
        "launch": Field(
            ListOf(
                Str(),
                doc="argv that starts the endpoint on the node when the suite should (never shell text).",
            )
        ),
        "cards": Field(
            ListOf(
                Int(minimum=0),
                doc="Indexes (inventory order) of the node's cards the endpoint serves on: the cards "
                "under test (default [0]).",
            )
        ),
        "models": Field(
            MapOf(
                Str(doc="Model name the endpoint serves at this precision (the request's 'model')."),
                doc="Precision → model name, one per precision the node serves (the LLM grid's "
                "precisions; default: 'model' at the precision its endpoint reports).",
                key_pattern=PRECISION,
                key_doc=PRECISION_DOC,
            )
        ),
        "references": Field(
            Str(
                doc="JSON reference set of the served model's greedy outputs (prompt, max_tokens, "
                "reference per sample) its accuracy is judged against; relative to the inventory file "
                "(default: the suite's own set, the emulated engine's)."
            )
        ),
    },
    doc="The node's LLM serving endpoint (testsuites/llm).",
)

TIMEOUTS = Obj(
    {
        "connect": Field(Num(doc="Seconds for TCP connect, banner and auth each.", positive=True)),
        "command": Field(Num(doc="Default wall-clock deadline of one command, seconds.", positive=True)),
    }
)

FINGERPRINT = r"^(sha256:)?([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$"

BMC = Obj(
    {
        "address": Field(Str(doc="BMC IP address or DNS name (required unless the node is emulated).")),
        "port": Field(Int(doc="HTTPS port (default 443).", minimum=1, maximum=65535)),
        "user": Field(Str(doc="Redfish user name."), required=True),
        "password": Field(Str(doc="Only as 'password: !env VAR' (the variable must be set when loading).")),
        "password_env": Field(_env_name("Environment variable holding the BMC password, read when used.")),
        "tls_fingerprint": Field(
            Str(
                doc="SHA-256 fingerprint of the BMC's certificate (openssl x509 -fingerprint -sha256).",
                pattern=FINGERPRINT,
                pattern_doc="a SHA-256 fingerprint: 32 hex bytes, colons and 'sha256:' optional",
            )
        ),
        "tls": Field(
            Enum(
                ("pinned", "insecure"),
                doc="pinned (default): the fingerprint must match; insecure: no check.",
            )
        ),
        "timeout": Field(
            Num(doc="Seconds for connect and for each Redfish request (default 10).", positive=True)
        ),
        "system": Field(Str(doc="Redfish ComputerSystem Id (default: the only one).")),
        "chassis": Field(Str(doc="Redfish Chassis Id with Power and Thermal (default: the first).")),
    },
    doc="The node's baseboard management controller over DMTF Redfish (merged key by key over levels).",
    ref="bmc",
)

NODE_VARS = Obj(
    {
        "address": Field(Str(doc="IP address or DNS name; may hold one range such as 192.0.2.[11:26].")),
        "port": Field(Int(doc="SSH port (default 22).", minimum=1, maximum=65535)),
        "user": Field(Str(doc="SSH user.", pattern=r"^[A-Za-z_][A-Za-z0-9._-]*$", pattern_doc="a user name")),
        "auth": Field(AUTH),
        "host_key": Field(ListOf(Str(), single_ok=True, doc="Pinned OpenSSH public key line(s).")),
        "known_hosts": Field(Str(doc="known_hosts file holding the node's host key.")),
        "trust": Field(Enum(("strict", "bring-up"), doc="Host-key trust mode (default strict).")),
        "jump": Field(_word("Name of another inventory node to connect through.")),
        "operator": Field(_word("Cloud operator: kt-cloud, nhn-cloud, naver-cloud or one declared.")),
        "accelerators": Field(ListOf(ACCELERATOR, doc="Cards in the node.")),
        "expected": Field(EXPECTED),
        "tags": Field(ListOf(_word("A tag."), doc="Tags; they accumulate over defaults, groups and node.")),
        "labels": Field(MapOf(ScalarValue(), key_pattern=WORD, key_doc=WORD_DOC, doc="Free-form labels.")),
        "emulated": Field(Bool(doc="True for a node of the emulated test-bed.")),
        "emulation": Field(EMULATION),
        "profile": Field(_word("Certification profile name (a file in the profiles folder).")),
        "ssh_config": Field(Bool(doc="Honour ~/.ssh/config Host entries.")),
        "timeouts": Field(TIMEOUTS),
        "serving": Field(SERVING),
        "bmc": Field(BMC),
    },
    doc="Node settings, also usable in defaults and group/site/rack vars.",
    ref="node_vars",
)

NODE = NODE_VARS.extended(
    "A node (or, with a [a:b] range in its name, several).",
    "node",
    name=Field(
        Str(
            doc="Node name; 'kt-rbln-[01:16]' makes 16 nodes.",
            pattern=NODE_NAME_TEMPLATE,
            pattern_doc=WORD_DOC + ", optionally with one range such as [01:16]",
        ),
        required=True,
    ),
    groups=Field(ListOf(_word("A group name."), doc="Groups, applied in this order.")),
)

TOP_LEVEL_NODE = NODE.extended(
    "A node outside sites.",
    "top_level_node",
    site=Field(_word("Site recorded on the node (nodes under sites get it from there).")),
    rack=Field(_word("Rack recorded on the node.")),
)

GROUP = Obj({"description": Field(Str()), "vars": Field(NODE_VARS)})

RACK = Obj(
    {
        "description": Field(Str()),
        "vars": Field(NODE_VARS),
        "nodes": Field(ListOf(NODE)),
    }
)

SITE = Obj(
    {
        "description": Field(Str()),
        "operator": Field(_word("Operator of every node of the site (a node or group may override).")),
        "vars": Field(NODE_VARS),
        "racks": Field(MapOf(RACK, key_pattern=WORD, key_doc=WORD_DOC)),
        "nodes": Field(ListOf(NODE, doc="Nodes of the site outside racks.")),
    }
)

INVENTORY = Obj(
    {
        "version": Field(
            Int(doc="Format version.", minimum=FORMAT_VERSION, maximum=FORMAT_VERSION), required=True
        ),
        "name": Field(Str(doc="Inventory name."), required=True),
        "description": Field(Str()),
        "scope": Field(Enum(SCOPES, doc="Which part of the K-Cloud program the file describes.")),
        "catalog": Field(Str(doc="Device catalog file (default devices.yaml beside this file).")),
        "profiles": Field(Str(doc="Profiles folder (default profiles/ beside this file).")),
        "operators": Field(
            ListOf(_word("An operator"), doc="Operators besides kt-cloud, nhn-cloud, naver-cloud.")
        ),
        "defaults": Field(NODE_VARS),
        "groups": Field(MapOf(GROUP, key_pattern=WORD, key_doc=WORD_DOC)),
        "sites": Field(MapOf(SITE, key_pattern=WORD, key_doc=WORD_DOC)),
        "nodes": Field(ListOf(TOP_LEVEL_NODE, doc="Nodes outside sites.")),
        "host_keys": Field(
            MapOf(
                ListOf(Str(), single_ok=True),
                key_pattern=WORD,
                key_doc="a node name",
                doc="Pinned host keys by node name (added to the node's host_key).",
            )
        ),
    },
    doc="kcloud-lab inventory (docs/inventory.md). Top-level x-... keys are ignored (a place for anchors).",
    scratch_keys=True,
)

FIGURE = Obj(
    {
        "value": Field(Nullable(Num(minimum=0)), required=True),
        "source": Field(Str(doc="Where the figure comes from."), required=True),
        "confidence": Field(
            Enum(("P", "S", "U"), doc="P primary, S secondary, U unverified."), required=True
        ),
    }
)

DEVICE = Obj(
    {
        "vendor": Field(Enum(VENDORS), required=True),
        "name": Field(Str(doc="Marketing name."), required=True),
        "tool": Field(Str(doc="Vendor management tool."), required=True),
        "tool_version": Field(
            Str(doc="The tool release whose output format the emulator prints, e.g. 2026.1.0.")
        ),
        "product_name": Field(Str(doc="How the tool names the product."), required=True),
        "synthetic_tool": Field(Bool(doc="True where no public tool exists and ours is synthetic.")),
        "dies_per_card": Field(Int(minimum=1, maximum=16)),
        "pcie": Field(Nullable(Str(pattern=PCIE, pattern_doc=PCIE_DOC)), required=True),
        "int8_tops": Field(FIGURE, required=True),
        "fp16_tflops": Field(FIGURE, required=True),
        "memory_gib": Field(FIGURE, required=True),
        "memory_bandwidth_gbps": Field(FIGURE, required=True),
        "tdp_watts": Field(FIGURE, required=True),
    }
)

CATALOG = Obj(
    {
        "version": Field(Int(minimum=FORMAT_VERSION, maximum=FORMAT_VERSION), required=True),
        "description": Field(Str()),
        "devices": Field(MapOf(DEVICE, key_pattern=WORD, key_doc=WORD_DOC), required=True),
    },
    doc="kcloud-lab device catalog.",
)

LIMITS_FIELDS = {
    "min": Field(Num(doc="Lowest passing value.")),
    "max": Field(Num(doc="Highest passing value.")),
    "expected": Field(ScalarValue(doc="The value that passes (equality criteria).")),
    "marginal": Field(
        Num(doc="Fraction of the limit that counts as MARGINAL near a bound.", minimum=0, maximum=1)
    ),
}

LIMITS = Obj(
    LIMITS_FIELDS, doc="Overrides for one device model; keys not given come from the criterion.", ref="limits"
)

CRITERION = Obj(
    {
        "axis": Field(Enum(tuple(axis.value for axis in Axis)), required=True),
        "unit": Field(Str(), required=True),
        "description": Field(Str(), required=True),
        **LIMITS_FIELDS,
        "by_device": Field(MapOf(LIMITS, key_pattern=WORD, key_doc="a device catalog key")),
        "informational": Field(
            Bool(doc="Deliberately without limits: a value is recorded as PASS, never certified.")
        ),
        "not_applicable": Field(
            MapOf(
                Str(doc="Why the criterion does not apply to this model."),
                key_pattern=WORD,
                key_doc="a device catalog key",
            )
        ),
    }
)

PROFILE = Obj(
    {
        "name": Field(_word("Profile name; must equal the file name without .yaml."), required=True),
        "version": Field(Str(numbers_as_text=True), required=True),
        "description": Field(Str(), required=True),
        "settings": Field(MapOf(ScalarValue(), key_pattern=WORD, key_doc=WORD_DOC)),
        "criteria": Field(MapOf(CRITERION, key_pattern=WORD, key_doc=WORD_DOC), required=True),
    },
    doc="kcloud-lab certification profile.",
)

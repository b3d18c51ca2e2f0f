"""A node's identity as a person reads it: what the inventory declared, the host key and trust
mode, one row per card (model, product, serial, PCIe address, link, firmware, driver, runtime, as the
vendor tool reported them), and the conditions the tests recorded (dates, seconds, lists)::

    rows, cards, conditions = identity(records, trust_mode="strict", declared=scope["kt-rbln-07"])
    cards[0].device, dict(zip(CARD_FIELDS, cards[0].fields))["firmware"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.report.figures import value_text
from lab.report.humane import property_label, property_text
from lab.report.scope import DeclaredCards
from lab.results import TestRecord

_NOT_IDENTITY = frozenset(
    # verdict material shown beside the figures, not conditions of the run
    {
        "short_run",
        "pid",
        "short_soak",
        "mlperf_rules",
        "audits",
        "accuracy",
        "accuracy_detail",
        "performance_only",
    }
)
_MAX_IDENTITY_VALUES = 8
CARD_FIELDS = ("model", "product", "serial", "pci_address", "link", "firmware", "driver", "runtime")
"""A card's identity, in the order of the certificate's card table."""
_NODE_FIELDS = frozenset({"trust_mode", "host_key_fingerprint", "operator"})
_ALIASES = {"firmware_version": "firmware", "driver_version": "driver", "runtime_version": "runtime"}
_MEASURED_FIELDS = {
    "pcie-link": "link",
    "firmware-version": "firmware",
    "driver-version": "driver",
    "runtime-version": "runtime",
}


@dataclass(frozen=True, slots=True)
class CardIdentity:
    device: str
    fields: tuple[str, ...]  # in CARD_FIELDS order, "" when unknown


def identity(
    records: Sequence[TestRecord], trust_mode: str | None, declared: Sequence[DeclaredCards] = ()
) -> tuple[tuple[tuple[str, str], ...], tuple[CardIdentity, ...], tuple[tuple[str, str], ...]]:
    """The node's identity (host key, trust mode, operator, declared cards), each card's identity
    as its tool reported it (model, serial, PCIe address, link, versions), and the conditions the
    tests recorded (soak start as a date, durations in seconds ...), each distinct value once:
    two firmware versions seen on one card is worth seeing."""
    node_seen: dict[str, list[str]] = {}
    conditions: dict[str, list[str]] = {}
    cards: dict[str, dict[str, list[str]]] = {}
    for record in records:
        for recorded, value in record.properties.items():
            if recorded in _NOT_IDENTITY or recorded.startswith(
                ("short_run", "short_soak", "performance_only")
            ):
                continue
            key = _ALIASES.get(recorded, recorded)
            if key in CARD_FIELDS and record.device:
                target = cards.setdefault(record.device, {}).setdefault(key, [])
            elif key in _NODE_FIELDS or key in CARD_FIELDS:
                target = node_seen.setdefault(key, [])
            else:
                target = conditions.setdefault(property_label(key), [])
            text = property_text(key, value)
            if text not in target and len(target) < _MAX_IDENTITY_VALUES:
                target.append(text)
        for m in record.measurements:  # a measured link or version stands in for an unrecorded one
            field_name = _MEASURED_FIELDS.get(m.name)
            if field_name is not None and record.device and m.value is not None:
                known = cards.setdefault(record.device, {}).setdefault(field_name, [])
                text = value_text(m.value)
                if text not in known and len(known) < _MAX_IDENTITY_VALUES:
                    known.append(text)
    if trust_mode and "trust_mode" not in node_seen:
        node_seen["trust_mode"] = [f"{trust_mode} (run)"]
    rows: list[tuple[str, str]] = []
    if declared:
        rows.append(("declared", ", ".join(f"{c.count} × {c.name or c.model}" for c in declared)))
    devices = sorted({record.device for record in records if record.device})
    if devices:
        rows.append(("devices", ", ".join(devices)))
    rows.extend((property_label(key), ", ".join(values)) for key, values in sorted(node_seen.items()))
    card_rows = tuple(
        CardIdentity(device, tuple(", ".join(cards.get(device, {}).get(f, [])) for f in CARD_FIELDS))
        for device in devices
        if device in cards
    )
    condition_rows = tuple((key, ", ".join(values)) for key, values in sorted(conditions.items()))
    return tuple(rows), card_rows, condition_rows

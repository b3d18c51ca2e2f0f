"""Peak capacity of an inventory: per operator, per vendor and in total, against the program figure.

Capacity is the catalog's dense peak per card × the number of cards: INT8 TOPS (shown in
PF, 1 PF = 1,000 TOPS) and FP16/BF16 TFLOPS (1 PF = 1,000 TFLOPS). A card whose figure is
null in the catalog is *unknown* — counted separately, never as zero. NVIDIA cards are
reference nodes: listed per vendor, left out of the NPU totals that the K-Cloud program
figure (39.98 PF for phase 1, both halves; the founding brief does not state a precision)
is about.

::

    capacity = compute_capacity(load_inventory("inventory/gwangju.yaml"))
    capacity.npu.int8_pf, capacity.npu.int8_unknown_cards
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from lab.inventory.model import DeviceModel, Figure, Inventory

PROGRAM_TOTAL_PF = 39.98
REFERENCE_VENDORS = frozenset({"nvidia", "cpu"})


@dataclass(frozen=True, slots=True)
class CapacityRow:
    """Summed peak figures of a set of cards; ``*_unknown_cards`` lack a figure in the catalog."""

    label: str
    cards: int = 0
    int8_tops: float = 0.0
    int8_unknown_cards: int = 0
    int8_unverified_cards: int = 0  # figure known but marked U (unverified) in the catalog
    fp16_tflops: float = 0.0
    fp16_unknown_cards: int = 0
    fp16_unverified_cards: int = 0

    @property
    def int8_pf(self) -> float:
        return self.int8_tops / 1000.0

    @property
    def fp16_pf(self) -> float:
        return self.fp16_tflops / 1000.0

    def plus(self, model: DeviceModel, count: int) -> CapacityRow:
        int8, fp16 = model.int8_tops, model.fp16_tflops
        return CapacityRow(
            label=self.label,
            cards=self.cards + count,
            int8_tops=self.int8_tops + (int8.value or 0.0) * count,
            int8_unknown_cards=self.int8_unknown_cards + (0 if int8.known else count),
            int8_unverified_cards=self.int8_unverified_cards + _unverified(int8, count),
            fp16_tflops=self.fp16_tflops + (fp16.value or 0.0) * count,
            fp16_unknown_cards=self.fp16_unknown_cards + (0 if fp16.known else count),
            fp16_unverified_cards=self.fp16_unverified_cards + _unverified(fp16, count),
        )


def _unverified(figure: Figure, count: int) -> int:
    return count if figure.known and figure.confidence == "U" else 0


@dataclass(frozen=True, slots=True)
class Capacity:
    by_operator: tuple[CapacityRow, ...]  # NPU cards only
    by_vendor: tuple[CapacityRow, ...]  # every vendor, reference included
    npu: CapacityRow  # every non-reference card
    reference: CapacityRow
    scope: str


def compute_capacity(inventory: Inventory) -> Capacity:
    operators: dict[str, CapacityRow] = {}
    vendors: dict[str, CapacityRow] = {}
    npu = CapacityRow("NPU total")
    reference = CapacityRow("reference total")
    for node in inventory.nodes:
        for spec in node.accelerators:
            model = inventory.catalog[spec.model]
            vendors[model.vendor] = vendors.get(model.vendor, CapacityRow(model.vendor)).plus(
                model, spec.count
            )
            if model.vendor in REFERENCE_VENDORS:
                reference = reference.plus(model, spec.count)
                continue
            npu = npu.plus(model, spec.count)
            operators[node.operator] = operators.get(node.operator, CapacityRow(node.operator)).plus(
                model, spec.count
            )
    return Capacity(
        by_operator=tuple(operators[key] for key in sorted(operators)),
        by_vendor=tuple(vendors[key] for key in sorted(vendors)),
        npu=npu,
        reference=reference,
        scope=inventory.scope,
    )


def _amount(known: float, unknown_cards: int, unverified_cards: int, cards: int) -> str:
    unknown = f"unknown ({unknown_cards} card{'s' if unknown_cards != 1 else ''} without a figure)"
    if cards and unknown_cards == cards:
        return unknown
    text = f"{known / 1000.0:.2f}" + ("*" if unverified_cards else "")
    return f"{text} + {unknown}" if unknown_cards else text


def _rows(rows: Iterable[CapacityRow], indent: str = "  ") -> list[str]:
    lines = []
    for row in rows:
        int8 = _amount(row.int8_tops, row.int8_unknown_cards, row.int8_unverified_cards, row.cards)
        fp16 = _amount(row.fp16_tflops, row.fp16_unknown_cards, row.fp16_unverified_cards, row.cards)
        lines.append(f"{indent}{row.label:<22} {row.cards:>6}   {int8:<44} {fp16}")
    return lines


def format_capacity(capacity: Capacity, title: str) -> str:
    """The report ``lab inventory capacity`` prints."""
    header = f"  {'':<22} {'cards':>6}   {'INT8 PF':<44} FP16/BF16 PF"
    lines = [
        f"Peak capacity of {title}",
        "Dense peak per card (device catalog) × cards; 1 PF = 1,000 TOPS (INT8) or 1,000 TFLOPS (FP16/BF16).",
        "",
        "NPUs by operator (reference GPUs excluded):",
        header,
        *_rows(capacity.by_operator),
        "",
        "By vendor:",
        header,
        *_rows(
            replace(row, label=row.label + (" (reference)" if row.label in REFERENCE_VENDORS else ""))
            for row in capacity.by_vendor
        ),
        "",
        "Totals:",
        header,
        *_rows([capacity.npu, capacity.reference]),
        "",
    ]
    if any(
        row.int8_unverified_cards or row.fp16_unverified_cards for row in (capacity.npu, capacity.reference)
    ):
        lines.append("* includes figures marked U (unverified) in the device catalog.")
    lines.append(
        f"K-Cloud phase 1 program total (founding brief): {PROGRAM_TOTAL_PF:.2f} PF across the private"
        " and public programs; the brief does not state the precision."
    )
    npu = capacity.npu
    npu_int8 = f"{npu.int8_pf:.2f} PF"
    if npu.int8_unknown_cards:
        npu_int8 += f" plus {npu.int8_unknown_cards} cards without a figure"
    half = f"half the program is about {PROGRAM_TOTAL_PF / 2:.2f} PF"
    if capacity.scope == "public-half":
        lines.append(
            f"This file describes only the public Gwangju half: its NPU INT8 total is {npu_int8}; {half}."
        )
    elif capacity.scope == "private-half":
        lines.append(f"This file describes only the private half: its NPU INT8 total is {npu_int8}; {half}.")
    elif capacity.scope == "full-program":
        share = npu.int8_pf / PROGRAM_TOTAL_PF * 100
        lines.append(f"NPU INT8 total {npu_int8} = {share:.1f} % of the program total.")
    else:
        lines.append(
            f"NPU INT8 total {npu_int8}; this inventory is not marked as part of the program"
            f" (scope: {capacity.scope})."
        )
    return "\n".join(lines)

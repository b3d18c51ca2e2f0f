"""Host↔NPU transfer bandwidth measured by the vendor's own benchmark (Rebellions
``rblnBandwidthLatencyTest --tc 1``), judged against the link the card should train at.

``host-npu-bandwidth`` is the slower of a die's H2D and D2H bandwidth as a fraction of the
expected link's usable rate per direction (node ``expected.pcie``, else the catalog's link):
a link trained down, a card behind a slow switch or a misconfigured IOMMU shows here even
when the link reports its nominal width. Each die gets its own measurement; the failure names
every slow one. Vendors whose benchmark the lab does not parse are SKIP with the reason; a
benchmark that could not run or printed garbage is ERROR.
"""

from __future__ import annotations

import pytest

from lab.devices.diagnostics.rbln_bandwidth import RblnBandwidthTest, link_rate_gbps
from lab.errors import CriterionFailed
from lab.pytest_plugin.fixtures import LabNode, Measure
from lab.stability.cards import node_cards

BENCHMARK_TIMEOUT_SECONDS = 1800.0  # 512 MB per transfer and direction, every NPU: minutes on a full node
TOOLS = ("rbln-smi", "rbln-stat")


def test_host_transfer_bandwidth(node: LabNode, measure: Measure) -> None:
    """Every die moves data to and from the host at a fair share of its expected link's rate."""
    cards = [card for card in node_cards(node.node, node.catalog) if card.model.tool in TOOLS]
    if not cards:
        tools = sorted({node.catalog[spec.model].tool for spec in node.node.accelerators})
        pytest.skip(f"no transfer benchmark parsed for {', '.join(tools)}")
    rows = RblnBandwidthTest().run(node.transport, timeout=BENCHMARK_TIMEOUT_SECONDS).by_device()
    failures: list[str] = []
    for card in cards:
        link = node.node.expected.pcie or card.model.pcie
        if link is None:
            pytest.skip(f"no expected PCIe link for {card.model.key} (catalog or node expected.pcie)")
        rate = link_rate_gbps(str(link))
        for die in range(card.model.dies_per_card):
            label = f"rbln{card.tool_index + die}"
            row = rows.get(label)
            fraction = None if row is None else round(min(row.h2d, row.d2h) / rate, 3)
            try:
                measure("host-npu-bandwidth", fraction)
            except CriterionFailed as error:
                assert row is not None
                failures.append(
                    f"{label}: {error} (H2D {row.h2d:g}, D2H {row.d2h:g} GB/s; {link} = {rate:.1f} GB/s)"
                )
    if failures:
        raise CriterionFailed(" | ".join(failures))

"""Compatibility (호환성): the node is what the inventory says, and the runtime works.

Each check reads the vendor tool through the device adapters and judges the value with
the certification profile's limits; versions and links pinned per node in the inventory
override the profile's expected value.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.devices.model import same_product
from lab.devices.pcie import read_pcie_link
from lab.performance.smoke import compare, precision_of, reference_outputs, smoke_inputs, tolerance_for
from lab.pytest_plugin.fixtures import LabDevice, LabNode, Measure
from lab.stability.workloads import NodeWorkloads


def test_device_enumeration(node: LabNode, measure: Measure) -> None:
    """Every card of the inventory is listed by its vendor tool, with the catalog's product name."""
    reports = node.reports()
    for spec in node.node.accelerators:
        model = node.catalog[spec.model]
        cards = {
            report.identity.card_id
            for report in reports
            if same_product(report.identity.product, model.product_name)
        }
        measure(
            "device-enumeration",
            f"{len(cards)} x {model.product_name}",
            expected=f"{spec.count} x {model.product_name}",
        )


def test_pcie_link(
    device: LabDevice, measure: Measure, record_property: Callable[[str, object], None]
) -> None:
    """The card trains at the expected PCIe link (the node's pin, else the catalog's)."""
    # the card's identity as its vendor tool reports it: the certificate's identity table
    record_property("model", device.model.key)
    seen = device.report()
    if seen is not None:
        record_property("product", seen.identity.product)
        for key, value in (("serial", seen.identity.serial), ("pci_address", seen.identity.pci_bdf)):
            if value:
                record_property(key, value)
    expected = device.node.expected.pcie or device.model.pcie
    if expected is None:
        pytest.skip(f"no expected PCIe link for {device.model.name} (inventory or catalog)")
    report = device.require_report()
    link = report.link
    if link is None and report.identity.pci_bdf:
        link = read_pcie_link(device.transport, report.identity.pci_bdf)  # the tool has no link field
    if link:
        record_property("link", str(link))
    measure("pcie-link", str(link) if link else None, expected=str(expected))


@pytest.mark.parametrize("component", ["driver", "firmware", "runtime"])
def test_version_pinned(
    device: LabDevice, measure: Measure, component: str, record_property: Callable[[str, object], None]
) -> None:
    """Driver, firmware and runtime versions equal the versions pinned for the node."""
    report = device.require_report()
    seen = getattr(report.versions, component)
    if seen is not None:
        record_property(component, seen)  # provenance: JUnit properties, the report's identity section
    expected = getattr(device.node.expected, component)
    if expected is None:
        pytest.skip(f"{device.node.name}: no {component} version pinned in the inventory")
    measure(f"{component}-version", seen, expected=expected)


def test_memory_capacity(device: LabDevice, measure: Measure) -> None:
    """The card reports at least the usable memory the profile expects for its model."""
    report = device.require_report()
    total = report.telemetry.memory_total_bytes
    if total is None:
        pytest.skip(f"{device.model.tool} does not report device memory")
    if device.model.dies_per_card > 1:
        total = sum(
            die.telemetry.memory_total_bytes or 0
            for die in device.adapter.list_devices()
            if die.identity.card_id == report.identity.card_id
        )
    measure("memory-capacity", total / 2**30)


def test_runtime_smoke(
    request: pytest.FixtureRequest, device: LabDevice, workloads: NodeWorkloads, measure: Measure
) -> None:
    """The reference model runs on the card (through the node agent) and its outputs agree with
    the same model run here by onnxruntime in FP32 on the same inputs, within the tolerance of
    the card's precision (profile settings ``smoke_<precision>_*``)."""
    inputs = smoke_inputs()
    outputs = workloads.smoke(device.index, inputs)
    precision = precision_of(workloads.backend_name)
    found = compare(
        outputs, reference_outputs(inputs), tolerance_for(device.lab_node.profile.settings, precision)
    )
    properties = request.node.user_properties
    properties += [("smoke_top1_agreement", found.top1_agreement), ("smoke_max_error", found.max_error)]
    properties.append(("smoke_precision", precision))
    measure("runtime-smoke", "match" if found.ok else f"differs: {found.describe()}", expected="match")

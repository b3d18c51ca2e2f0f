"""Fixtures a certification test asks for.

::

    def test_pcie_link(device, measure):
        report = device.report()
        measure("pcie-generation", report.link.generation if report.link else None)

* ``node``: the node under test (``LabNode``: inventory data, transport, adapters), leased.
* ``device``: one accelerator card of a node (``LabDevice``) through its vendor adapter.
* ``criteria``: the certification profile's criteria, with limits for this device model.
* ``measure``: records a measurement against the profile; a FAIL raises ``CriterionFailed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import pytest

from lab.criteria import MeasuredValue, Measurement, Outcome, evaluate
from lab.devices.base import DeviceAdapter
from lab.devices.model import DeviceReport
from lab.errors import CriterionFailed, InfrastructureError
from lab.inventory import Criterion, DeviceModel, Limits, Node, Profile
from lab.pytest_plugin.session import LabSession, Target
from lab.pytest_plugin.transcript import TranscriptTransport
from lab.results.masking import inventory_secrets
from lab.transport.base import Transport

MEASUREMENTS_KEY = pytest.StashKey[list[Measurement]]()
TRANSCRIPT_KEY = pytest.StashKey[TranscriptTransport]()
TARGET_KEY = pytest.StashKey[Target]()


class NotMeasured(InfrastructureError):
    """A criterion could not be measured (the tool did not report the value)."""


@dataclass
class LabNode:
    """The node under test: its inventory entry, transport and per-model device adapters."""

    node: Node
    transport: Transport
    catalog: dict[str, DeviceModel]
    profile: Profile
    _adapters: dict[str, DeviceAdapter] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name

    def adapter(self, model_key: str) -> DeviceAdapter:
        """The vendor adapter for the node's cards of catalog model ``model_key``."""
        adapter = self._adapters.get(model_key)
        if adapter is None:
            from lab.devices import adapter_for

            adapter = adapter_for(self.catalog[model_key], self.transport)
            self._adapters[model_key] = adapter
        return adapter

    def reports(self) -> tuple[DeviceReport, ...]:
        """What every vendor tool on the node reports now (one query per distinct tool)."""
        seen: set[str] = set()
        reports: list[DeviceReport] = []
        for spec in self.node.accelerators:
            tool = self.catalog[spec.model].tool
            if tool not in seen:
                seen.add(tool)
                reports.extend(self.adapter(spec.model).list_devices())
        return tuple(reports)


@dataclass
class LabDevice:
    """One accelerator card of the node under test."""

    lab_node: LabNode
    index: int  # card index on the node, in inventory order (the workload runner's --device)
    label: str  # readable name in test ids, e.g. "rbln2"
    model: DeviceModel
    tool_index: int  # the vendor tool's index of the card (its first die for multi-die cards)

    @property
    def node(self) -> Node:
        return self.lab_node.node

    @property
    def transport(self) -> Transport:
        return self.lab_node.transport

    @property
    def adapter(self) -> DeviceAdapter:
        return self.lab_node.adapter(self.model.key)

    def report(self) -> DeviceReport | None:
        """The tool's current report for this card (its first die), None if the tool does not list it."""
        for report in self.adapter.list_devices():
            if report.identity.index == self.tool_index:
                return report
        return None

    def require_report(self) -> DeviceReport:
        """Like ``report`` but a card missing from its tool is a verdict: the device fell off the bus."""
        report = self.report()
        if report is None:
            raise CriterionFailed(f"{self.node.name}: {self.label} is not listed by {self.model.tool}")
        return report


@dataclass(frozen=True)
class CriteriaView:
    """The profile's criteria with limits resolved for one device model."""

    profile: Profile
    model: str | None

    def __getitem__(self, name: str) -> Criterion:
        try:
            return self.profile.criteria[name]
        except KeyError:
            known = ", ".join(sorted(self.profile.criteria))
            raise pytest.UsageError(
                f"profile {self.profile.name} has no criterion {name!r} (it has: {known})"
            ) from None

    def limits(self, name: str) -> Limits:
        return self[name].limits_for(self.model)

    def __contains__(self, name: object) -> bool:
        return name in self.profile.criteria


@pytest.fixture
def lab_target(request: pytest.FixtureRequest) -> Target:
    """The node/device this test instance runs on (parametrized by the plugin)."""
    target: Target = request.param
    request.node.stash[TARGET_KEY] = target
    _allure_parameters(target)
    return target


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> LabSession:
    """The session's lab state (inventory, selected nodes, run directory)."""
    return LabSession.of(request.config)


@pytest.fixture
def node(request: pytest.FixtureRequest, lab_target: Target) -> Iterator[LabNode]:
    """The node under test, reached through its (leased, reused) transport.

    Commands the test runs are kept in a transcript, attached as evidence when it fails.
    """
    session = LabSession.of(request.config)
    inventory_node = session.node(lab_target.node_name)
    transcript = TranscriptTransport(
        session.transport(lab_target.node_name), secrets=inventory_secrets([inventory_node])
    )
    request.node.stash[TRANSCRIPT_KEY] = transcript
    yield LabNode(
        inventory_node, transcript, dict(session.inventory.catalog), session.profile_for(inventory_node)
    )


@pytest.fixture
def device(node: LabNode, lab_target: Target) -> LabDevice:
    """One accelerator card of the node under test."""
    index, label, model, tool_index = (
        lab_target.device_index,
        lab_target.device_label,
        lab_target.model,
        lab_target.tool_index,
    )
    if index is None or label is None or model is None or tool_index is None:
        raise pytest.UsageError("the device fixture needs a device target (a plugin bug)")
    return LabDevice(node, index, label, node.catalog[model], tool_index)


@pytest.fixture
def criteria(node: LabNode, lab_target: Target) -> CriteriaView:
    """The certification profile's criteria, limits resolved for this device model."""
    return CriteriaView(node.profile, lab_target.model)


Measure = Callable[..., Measurement]


@pytest.fixture
def measure(request: pytest.FixtureRequest, criteria: CriteriaView) -> Measure:
    """Record a measurement against the profile; returns it, raises on FAIL or when not measured.

    ::

        measure("memory-capacity", report.telemetry.memory_total_bytes / 2**30)
        measure("firmware-version", report.versions.firmware, expected=node.node.expected.firmware)

    ``expected`` overrides the profile's expected value (versions pinned per node in the
    inventory). A None value is ERROR ("not measured"), never a device failure.
    """
    measurements: list[Measurement] = request.node.stash.setdefault(MEASUREMENTS_KEY, [])

    def record(
        name: str, value: MeasuredValue, *, expected: MeasuredValue = None, evidence: Sequence[str] = ()
    ) -> Measurement:
        criterion = criteria[name]
        if expected is not None:
            limits = criterion.limits_for(criteria.model)
            override = Limits(limits.minimum, limits.maximum, expected, limits.marginal)
            criterion = replace(criterion, limits=override, by_device={})
        result = evaluate(criterion, value, criteria.model, evidence=evidence)
        measurements.append(result)
        if result.verdict is Outcome.FAIL:
            raise CriterionFailed(f"{name}: {result.reason}")
        if result.verdict is Outcome.ERROR:
            raise NotMeasured(f"{name}: {result.reason}")
        if result.verdict is Outcome.SKIP:  # no limit for this model: uncertified, never a PASS
            pytest.skip(f"{name}: {result.reason}")
        return result

    return record


def _allure_parameters(target: Target) -> None:
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    allure.dynamic.parameter("node", target.node_name)
    if target.device_label:
        allure.dynamic.parameter("device", target.device_label)
    allure.dynamic.parameter("lab_target", target.test_id, excluded=True)

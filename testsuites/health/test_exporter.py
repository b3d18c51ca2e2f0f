"""Exporter conformance (usability): the vendor's Prometheus exporter publishes its documented
metric names and labels, and its values agree with the vendor tool's reading of the same card.

Scraped on the node over the transport and parsed with prometheus_client's own parser
(``lab.devices.exporters``). A node without a running exporter is ERROR (the lab could not
measure), a vendor without a published exporter (Sapeon) SKIP.
"""

from __future__ import annotations

import pytest

from lab.devices.exporters import conformance, exporter_for, scrape
from lab.errors import CriterionFailed
from lab.pytest_plugin.fixtures import LabNode, Measure


def test_exporter_conformance(node: LabNode, measure: Measure) -> None:
    """Names, labels and values of the vendor exporter match its documentation and its tool."""
    tools = sorted({node.catalog[spec.model].tool for spec in node.node.accelerators})
    specs = [(tool, exporter_for(tool)) for tool in tools]
    known = [(tool, spec) for tool, spec in specs if spec is not None]
    if not known:
        pytest.skip(f"no published exporter for {', '.join(tools)}")
    failures: list[str] = []
    for tool, spec in known:
        samples = scrape(node.transport, spec)
        reports = [r for r in node.reports() if r.tool == tool or exporter_for(r.tool) is spec]
        missing, disagreements = conformance(spec, samples, reports)
        for criterion, problems in (("exporter-metrics", missing), ("exporter-agreement", disagreements)):
            try:
                measure(criterion, len(problems))
            except CriterionFailed as error:
                failures.append(f"{error} ({spec.name}: {'; '.join(problems[:5])})")
    if failures:
        raise CriterionFailed(" | ".join(failures))

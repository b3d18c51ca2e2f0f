"""The vendor's own diagnostic on each node: NVIDIA ``dcgmi diag``, Rebellions ``rbln-vs``,
FuriosaAI ``rngd-diag`` (judged with the thresholds of FuriosaAI's validator).

Failed software tests count against ``vendor-diagnostic-software`` (compatibility), failed
hardware tests against ``vendor-diagnostic-hardware`` (stability); both are recorded before
the test fails, and the failure names every failed test. A category the diagnostic has no
test in is not measured (rngd-diag checks hardware only: no software verdict is claimed).
The level is the profile's ``diagnostic_level`` setting (DCGM 1-4; rbln-vs 1 = ``l1_test``,
2+ = ``all``; rngd-diag has one). Cards whose vendor publishes no parseable diagnostic
(Warboy, Sapeon) are SKIP with the reason; a diagnostic that could not run or printed
garbage is ERROR.
"""

from __future__ import annotations

import pytest

from lab.devices.diagnostics import diagnostic_for
from lab.errors import CriterionFailed
from lab.pytest_plugin.fixtures import LabNode, Measure

DIAGNOSTIC_TIMEOUT_SECONDS = 3600.0  # DCGM level 3 takes ~15 min, level 4 hours (capped by the level chosen)


def test_vendor_diagnostic(node: LabNode, measure: Measure) -> None:
    """The vendor's diagnostic passes every software and hardware test on the node."""
    tools = sorted({node.catalog[spec.model].tool for spec in node.node.accelerators})
    diagnostics = [(tool, diagnostic_for(tool)) for tool in tools]
    runnable = [(tool, diagnostic) for tool, diagnostic in diagnostics if diagnostic is not None]
    if not runnable:
        pytest.skip(f"no vendor diagnostic parsed for {', '.join(tools)}")
    setting = node.profile.settings.get("diagnostic_level", 1)
    level = int(setting) if isinstance(setting, int | float | str) else 1
    failures: list[str] = []
    for _, diagnostic in runnable:
        run = diagnostic.run(
            node.transport, min(level, max(diagnostic.levels)), timeout=DIAGNOSTIC_TIMEOUT_SECONDS
        )
        for category, criterion in (
            ("software", "vendor-diagnostic-software"),
            ("hardware", "vendor-diagnostic-hardware"),
        ):
            if not run.ran(category):
                continue
            failed = run.failed(category)
            try:
                measure(criterion, len(failed))
            except CriterionFailed as error:
                failures.append(
                    f"{error} ({run.tool} -r {run.level}: {'; '.join(t.describe() for t in failed)})"
                )
    if failures:
        raise CriterionFailed(" | ".join(failures))

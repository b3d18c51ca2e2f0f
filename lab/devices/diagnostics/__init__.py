"""Vendor diagnostics (the DCGM-diag equivalents), chosen by the catalog's tool name.

::

    diagnostic = diagnostic_for("nvidia-smi")          # DcgmDiag; rbln-smi → RblnVs; furiosa-smi →
                                                        # RngdDiag; None: none parsed (Warboy, Sapeon)
    run = diagnostic.run(transport, level=2)            # DiagnosticRun
    run.failed("hardware")                              # (DiagTest('pcie', 'hardware', 'fail', '0', '...'),)

Each diagnostic parses its tool's documented output strictly (``ToolOutputError`` with the
raw text otherwise) into tests with a category: ``software`` (deployment, drivers,
permissions: the compatibility axis) or ``hardware`` (PCIe, memory, stress: stability).
To add a vendor, write a module with a ``Diagnostic`` and add one line to ``DIAGNOSTICS``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.devices.diagnostics.dcgm import DcgmDiag
from lab.devices.diagnostics.model import Diagnostic, DiagnosticRun, DiagTest
from lab.devices.diagnostics.rbln_vs import RblnVs
from lab.devices.diagnostics.rngd_diag import RngdDiag

DIAGNOSTICS: Mapping[str, Diagnostic] = {
    "nvidia-smi": DcgmDiag(),
    "rbln-smi": RblnVs(),
    "rbln-stat": RblnVs(),
    "furiosa-smi": RngdDiag(),
}
"""The diagnostic per device tool (the catalog's ``tool``); Warboy (furiosactl) and Sapeon: none."""


def diagnostic_for(tool: str) -> Diagnostic | None:
    """The vendor diagnostic for cards read by ``tool``, or None when the lab parses none."""
    return DIAGNOSTICS.get(tool)


__all__ = ["DIAGNOSTICS", "DiagTest", "Diagnostic", "DiagnosticRun", "diagnostic_for"]

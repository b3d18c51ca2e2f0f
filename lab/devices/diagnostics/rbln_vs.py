"""Rebellions ``rbln-vs``: the RBLN validation suite (hardware and software diagnostics).

Documented (docs.rbln.ai, management_tools/rbln_vs): ``rbln-vs -t TARGET``, targets
``software_integrity`` and ``hardware_presence`` (L1, no load), ``pcie_bandwidth`` (through
``rblnBandwidthLatencyTest``), ``npu_memory`` and ``memory_bandwidth`` (L2); groups ``l1_test``
and ``all``; root rights; per-run ``run.log`` with PASS/FAIL/SKIP counts and
``test_report.txt``. The console lines parsed here are **reconstructed** from that page (no
capture is published): one line per target ``[L1] software_integrity ..... PASS`` with an
optional reason after the status, then ``Summary: N PASS, N FAIL, N SKIP``, whose counts must
match the lines. ``software_integrity`` is the software category; the others are hardware.
Exit status 0 (all passed) or 1 (a target failed) with the summary printed.
"""

from __future__ import annotations

import re

from lab.devices.diagnostics.model import Diagnostic, DiagnosticRun, DiagTest
from lab.errors import ToolOutputError

TARGETS = {
    "software_integrity": (1, "software"),
    "hardware_presence": (1, "hardware"),
    "pcie_bandwidth": (2, "hardware"),
    "npu_memory": (2, "hardware"),
    "memory_bandwidth": (2, "hardware"),
}
_LINE = re.compile(
    r"^\[L(?P<level>[12])\] (?P<name>[a-z_]+) \.+ (?P<status>PASS|FAIL|SKIP)(?:\s+(?P<why>.+))?$"
)
_SUMMARY = re.compile(r"^Summary: (?P<pass>\d+) PASS, (?P<fail>\d+) FAIL, (?P<skip>\d+) SKIP$")


class RblnVs(Diagnostic):
    tool = "rbln-vs"
    levels = (1, 2)

    def arguments(self, level: int) -> list[str]:
        return ["rbln-vs", "-t", "l1_test" if level == 1 else "all"]

    def exit_ok(self, status: int | None) -> bool:
        return status in (0, 1)

    def parse(self, text: str, level: int) -> DiagnosticRun:
        tests: list[DiagTest] = []
        summary: re.Match[str] | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip()
            if not line.startswith(("[L", "Summary:")):
                continue  # banner, progress and detail lines
            if (match := _SUMMARY.match(line)) is not None:
                summary = match
                continue
            match = _LINE.match(line)
            if match is None or match["name"] not in TARGETS:
                raise ToolOutputError(
                    f"line {number}: unexpected result line {line!r}", raw=text, tool="rbln-vs"
                )
            tests.append(
                DiagTest(
                    match["name"], TARGETS[match["name"]][1], match["status"].lower(), "", match["why"] or ""
                )
            )
        if summary is None:
            raise ToolOutputError("no 'Summary: N PASS, N FAIL, N SKIP' line", raw=text, tool="rbln-vs")
        counted = {status: sum(t.status == status for t in tests) for status in ("pass", "fail", "skip")}
        if counted != {status: int(summary[status]) for status in ("pass", "fail", "skip")}:
            raise ToolOutputError(
                f"summary {summary[0]!r} disagrees with the result lines", raw=text, tool="rbln-vs"
            )
        wanted = {name for name, (lvl, _) in TARGETS.items() if lvl <= level}
        if {t.name for t in tests} != wanted:
            raise ToolOutputError(f"expected results for {sorted(wanted)}", raw=text, tool="rbln-vs")
        return DiagnosticRun("rbln-vs", level, tuple(tests))

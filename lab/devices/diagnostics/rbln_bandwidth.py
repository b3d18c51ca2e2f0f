"""Rebellions ``rblnBandwidthLatencyTest``: host↔NPU transfer bandwidth per NPU, against the link.

::

    run = RblnBandwidthTest().run(transport)          # BandwidthRun
    run.rows[0]                                       # Transfer('rbln0', h2d=51.2, d2h=52.4)
    link_rate_gbps("Gen5 x16")                        # 63.0: what the link can carry

Documented (docs.rbln.ai ``software/system_management/management_tools/
rbln_bandwidth_latency_test``): ``rblnBandwidthLatencyTest [--tc ID]`` measures H2D
(host → NPU), D2H and D2D transfers in GB/s and latency in µs; ``--test_list`` prints the
test cases, ``--tc 1`` is ``RBLN_PERF_BANDWIDTH_TEST_ALL`` (the bandwidth-only sweep);
devices are labelled ``rbln0``, ``rbln1``…; ``--test_size`` defaults to 512M. The console
layout parsed here is **reconstructed** (the page's CLI examples could not be read): a
``[Bandwidth (GB/s)]`` section whose header line is ``Device H2D D2H`` and one row per NPU,
ending at a blank line; other sections (D2D matrix, topology) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.errors import CommandFailed, ToolOutputError
from lab.transport.base import Transport

LANE_GBPS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
"""Usable GB/s per lane and direction: the signalling rate after line encoding (8b/10b up to
Gen2, 128b/130b Gen3-5, FLIT Gen6), before protocol overhead (which real transfers also pay)."""
_LINK = re.compile(r"^Gen(?P<gen>\d) x(?P<width>\d+)$")
_ROW = re.compile(r"^(?P<device>rbln\d+)\s+(?P<h2d>\d+(?:\.\d+)?)\s+(?P<d2h>\d+(?:\.\d+)?)$")
SECTION = "[Bandwidth (GB/s)]"


def link_rate_gbps(link: str) -> float:
    """One direction's usable rate of a ``"GenN xW"`` link in GB/s (``ValueError`` otherwise)."""
    match = _LINK.match(link.strip())
    if match is None or int(match["gen"]) not in LANE_GBPS:
        raise ValueError(f"not a PCIe link like 'Gen5 x16': {link!r}")
    return LANE_GBPS[int(match["gen"])] * int(match["width"])


@dataclass(frozen=True, slots=True)
class Transfer:
    """One NPU's measured host→NPU and NPU→host bandwidth (GB/s)."""

    device: str
    h2d: float
    d2h: float


@dataclass(frozen=True, slots=True)
class BandwidthRun:
    rows: tuple[Transfer, ...]

    def by_device(self) -> dict[str, Transfer]:
        return {row.device: row for row in self.rows}


class RblnBandwidthTest:
    tool = "rblnBandwidthLatencyTest"

    def arguments(self) -> list[str]:
        return ["rblnBandwidthLatencyTest", "--tc", "1"]

    def run(self, transport: Transport, *, timeout: float | None = None) -> BandwidthRun:
        result = transport.run(self.arguments(), timeout=timeout)
        if not result.ok:
            raise CommandFailed(result)
        return self.parse(result.stdout)

    def parse(self, text: str) -> BandwidthRun:
        def bad(why: str) -> ToolOutputError:
            return ToolOutputError(why, raw=text, tool=self.tool)

        lines = [line.rstrip() for line in text.splitlines()]
        if SECTION not in lines:
            raise bad(f"no {SECTION!r} section")
        start = lines.index(SECTION) + 1
        if start >= len(lines) or lines[start].split() != ["Device", "H2D", "D2H"]:
            raise bad(f"line {start + 1}: expected the header 'Device H2D D2H'")
        rows: list[Transfer] = []
        for number in range(start + 1, len(lines)):
            line = lines[number].strip()
            if not line:
                break
            match = _ROW.match(line)
            if match is None:
                raise bad(f"line {number + 1}: unexpected row {line!r}")
            rows.append(Transfer(match["device"], float(match["h2d"]), float(match["d2h"])))
        if not rows:
            raise bad("no device rows in the bandwidth section")
        if len({row.device for row in rows}) != len(rows):
            raise bad("a device is listed twice")
        return BandwidthRun(tuple(rows))

"""The lab's own run telemetry in Prometheus format, read from the run directory at each scrape.

A lab's Grafana watches a campaign live: progress, outcomes per node, quarantines. The
results folder is the source of truth (every record is flushed the moment a test ends), so
the collector loads it on every scrape instead of keeping counters of its own::

    server, thread = serve_run_metrics(Path("runs/2026-12-04T231500Z"), port=9464)
    # curl http://127.0.0.1:9464/metrics
    server.shutdown()

or ``pytest ... --lab-metrics-port 9464`` / ``lab campaign --metrics-port 9464`` for the run
under way (bound to 127.0.0.1 unless an address is given: ``0.0.0.0:9464``). Metrics:

=================================== ==========================================================
``lab_run_info{run_id,profile}``    1 for the run being served
``lab_run_tests{outcome}``          tests by outcome (INCOMPLETE: not finished yet while the
                                    run is under way; cut short once it has ended)
``lab_node_tests{node,outcome}``    the same per node
``lab_run_finished``                1 once the run's manifest records its end
``lab_run_started_timestamp_seconds`` when the run started
``lab_node_quarantined{node,suite}`` 1 while the health gate holds the node out (0 once released)
=================================== ==========================================================
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from lab.criteria import Outcome
from lab.health import read_quarantines
from lab.results import load_run


class RunCollector(Collector):
    """Collects the metrics of the run in ``run_dir`` (see the module docstring)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not (self.run_dir / "manifest.json").is_file():
            return  # nothing recorded yet: an empty page, not an error
        run = load_run(self.run_dir)
        manifest = run.manifest
        info = GaugeMetricFamily("lab_run_info", "The run being served", labels=["run_id", "profile"])
        profile = manifest.profile.name if manifest is not None and manifest.profile is not None else ""
        info.add_metric([manifest.run_id if manifest is not None else "", profile], 1)
        yield info
        tests = GaugeMetricFamily("lab_run_tests", "Tests by outcome", labels=["outcome"])
        for outcome, count in run.counts().items():
            tests.add_metric([outcome.value], count)
        yield tests
        per_node = GaugeMetricFamily("lab_node_tests", "Tests per node", labels=["node", "outcome"])
        for node, records in run.by_node().items():
            for outcome in Outcome:
                per_node.add_metric([node or "", outcome.value], sum(r.outcome is outcome for r in records))
        yield per_node
        finished = manifest is not None and manifest.finished is not None
        yield GaugeMetricFamily("lab_run_finished", "1 once the run has ended", value=1 if finished else 0)
        if manifest is not None:
            started = manifest.started.timestamp()
            yield GaugeMetricFamily("lab_run_started_timestamp_seconds", "Run start", value=started)
        held = GaugeMetricFamily(
            "lab_node_quarantined", "1 while the health gate holds the node out", labels=["node", "suite"]
        )
        for quarantine in read_quarantines(self.run_dir):
            held.add_metric([quarantine.node, quarantine.suite], 1 if quarantine.active else 0)
        yield held


def parse_listen(text: str) -> tuple[str, int]:
    """``"9464"`` → ("127.0.0.1", 9464); ``"0.0.0.0:9464"`` → ("0.0.0.0", 9464); ValueError otherwise."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"not a port or ADDRESS:PORT: {text!r}")
    return host or "127.0.0.1", int(port)


def serve_run_metrics(
    run_dir: Path, port: int, addr: str = "127.0.0.1"
) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``/metrics`` of ``run_dir`` from a daemon thread; ``server.shutdown()`` stops it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(run_dir))
    return start_http_server(port, addr=addr, registry=registry)

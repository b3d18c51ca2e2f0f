"""``--lab-metrics-port [ADDRESS:]PORT``: the run's own telemetry for a lab's Prometheus.

The controller (never an xdist worker: one endpoint per run) serves ``/metrics`` of the run
directory from a daemon thread for the whole session (``lab.report.metrics``); it is shut
down when pytest ends. A port that cannot be bound is a usage error at the start, not a
failure of any test.
"""

from __future__ import annotations

import pytest

from lab.pytest_plugin.session import LabSession
from lab.report.metrics import parse_listen, serve_run_metrics

_SERVER_KEY = pytest.StashKey[object]()


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    text = str(config.getoption("lab_metrics_port"))
    try:
        host, port = parse_listen(text)
        server, _thread = serve_run_metrics(LabSession.of(config).run_dir, port, addr=host)
    except (ValueError, OSError) as error:
        raise pytest.UsageError(f"--lab-metrics-port {text}: {error}") from None
    config.stash[_SERVER_KEY] = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER_KEY, None)
    if server is not None:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]

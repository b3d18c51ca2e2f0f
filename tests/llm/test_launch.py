"""``serving.launch``: the endpoint started on the node from an argv, awaited from the node, stopped by pid.

Real processes on this machine through the local transport (the SSH path is the suite test's,
tests/llm/test_cpu_suite.py); the "engines" are stand-ins: Python's own HTTP server serving a
``v1/models`` file, and scripts that exit or never answer.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from lab.inventory.model import Serving
from lab.llm.cpu_engine import free_port
from lab.llm.launch import LaunchedEndpoint, LaunchError
from lab.transport.local import LocalTransport

from .conftest import process_gone


def _pid_in(error: LaunchError) -> int:
    found = re.search(r"\(pid (\d+):", str(error))
    assert found, str(error)
    return int(found.group(1))


def test_a_launched_endpoint_answers_is_stopped_by_pid_and_its_log_removed(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "models").write_text('{"data": [{"id": "stand-in"}]}')
    port = free_port()
    argv = (
        sys.executable,
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
        str(port),
    )
    serving = Serving(f"127.0.0.1:{port}", "stand-in", launch=argv)
    engine = LaunchedEndpoint.start(LocalTransport(), serving, python=sys.executable, deadline_s=20)
    assert not process_gone(engine.pid) and engine.alive()
    assert Path(engine.log_path).is_file()
    assert engine.describe() == f"pid {engine.pid}: {' '.join(argv)}"
    try:
        # a second launch on the same address would be measured as the first engine: refused
        with pytest.raises(LaunchError, match=re.escape(f"something already answers on 127.0.0.1:{port} ")):
            LaunchedEndpoint.start(LocalTransport(), serving, python=sys.executable, deadline_s=20)
    finally:
        assert engine.stop()
    assert process_gone(engine.pid) and not engine.alive()
    assert not Path(engine.log_path).exists()


def test_an_engine_that_exits_is_a_launch_error_with_its_log_and_its_argv_is_never_shell_text(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "injected"
    hostile = f"$(touch {marker}); `touch {marker}`"
    script = "import sys; print('engine: cannot load model', sys.argv[1]); sys.exit(3)"
    serving = Serving("127.0.0.1:9", "m", launch=(sys.executable, "-c", script, hostile))
    with pytest.raises(LaunchError) as caught:
        LaunchedEndpoint.start(LocalTransport(), serving, python=sys.executable, deadline_s=20)
    message = str(caught.value)
    assert "exited before it answered" in message
    assert f"engine: cannot load model {hostile}" in message  # the tail of its log, the text literal
    assert not marker.exists()
    assert process_gone(_pid_in(caught.value))


def test_an_engine_that_never_answers_is_a_launch_error_after_the_deadline_and_is_stopped() -> None:
    script = "import time; print('loading weights', flush=True); time.sleep(60)"
    serving = Serving(f"127.0.0.1:{free_port()}", "m", launch=(sys.executable, "-c", script))
    with pytest.raises(LaunchError) as caught:
        LaunchedEndpoint.start(LocalTransport(), serving, python=sys.executable, deadline_s=1.0)
    message = str(caught.value)
    assert "did not answer on 127.0.0.1:" in message and "within 1 s" in message
    assert "loading weights" in message
    assert process_gone(_pid_in(caught.value))

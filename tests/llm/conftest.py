"""An emulated card's LLM endpoint as a real HTTP server process on 127.0.0.1, stopped by pid.

::

    def test_x(llm_endpoint):
        endpoint = llm_endpoint(card={"decode_base_s": 0.02}, faults={"wrong_tokens": True})
        endpoint.address, endpoint.ground_truth()
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.performance.conftest import cpu_quiet

MODEL = "emulated-llama-3.1-8b"
START_TIMEOUT_S = 20.0


@dataclass
class Endpoint:
    address: str
    process: subprocess.Popen[bytes]

    def ground_truth(self) -> list[dict[str, float]]:
        with urllib.request.urlopen(f"http://{self.address}/ground_truth", timeout=10) as response:
            requests: list[dict[str, float]] = json.load(response)["requests"]
        return requests


EndpointFactory = Callable[..., Endpoint]


@pytest.fixture
def llm_endpoint(tmp_path: Path) -> Iterator[EndpointFactory]:
    started: list[Endpoint] = []

    def start(
        card: dict[str, object] | None = None,
        faults: dict[str, object] | None = None,
        models: dict[str, object] | None = None,  # further models: {name: {precision, card}}
    ) -> Endpoint:
        folder = tmp_path / f"endpoint-{len(started)}"
        folder.mkdir()
        config = folder / "config.json"
        config.write_text(
            json.dumps({"model": MODEL, "card": card or {}, "faults": faults or {}, "models": models or {}})
        )
        ready = folder / "ready"
        process = subprocess.Popen(
            [sys.executable, "-m", "lab.emulator.llm_server", str(config), str(ready)],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "stderr").open("wb"),
        )
        endpoint = Endpoint("", process)
        started.append(endpoint)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"endpoint did not start: {(folder / 'stderr').read_text()}")
            time.sleep(0.02)
        endpoint.address = f"127.0.0.1:{int(ready.read_text())}"
        return endpoint

    yield start
    for endpoint in started:
        endpoint.process.terminate()
        try:
            endpoint.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            endpoint.process.kill()
            endpoint.process.wait(timeout=10)


@pytest.fixture
def quiet_cpu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The run's timing lock (shared with the performance tests): timing tests take turns."""
    with cpu_quiet(tmp_path_factory):
        yield


def process_gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (no such process, or a zombie its parent has not reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")

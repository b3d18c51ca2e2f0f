"""Sampling the vendor tool during a run (stdlib: the tool's raw output is kept, not parsed).

The controller knows how to read each vendor tool (``lab.devices``), so the agent only
runs the commands it is given at the profile's interval and records what they printed,
with the time of each sample on the run's clock::

    sampler = TelemetrySampler([["rbln-smi", "--json"]], interval=1.0, clock=clock)
    sampler.start(); ...; samples = sampler.stop()
    samples[0]   # {"t": 0.01, "outputs": [{"exit": 0, "stdout": "{...}", "stderr": ""}]}
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

MAX_OUTPUT = 256 * 1024  # per command and sample; a tool printing more is cut (and says so)


class TelemetrySampler:
    def __init__(self, commands: list[list[str]], interval: float, clock: Callable[[], float]) -> None:
        self.commands = commands
        self.interval = interval
        self.clock = clock
        self.samples: list[dict[str, object]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="telemetry", daemon=True)

    def start(self) -> None:
        if self.commands:
            self._thread.start()

    def stop(self) -> list[dict[str, object]]:
        """Take one last sample (the end of the window) and return them all."""
        if self.commands:
            self._stop.set()
            self._thread.join(self.interval * 2 + 30)
        return self.samples

    def _loop(self) -> None:
        while True:
            began = self.clock()
            self.samples.append(self._sample(began))
            if self._stop.wait(max(0.0, self.interval - (self.clock() - began))):
                self.samples.append(self._sample(self.clock()))
                return

    def _sample(self, at: float) -> dict[str, object]:
        outputs: list[dict[str, object]] = []
        for command in self.commands:
            try:
                done = subprocess.run(
                    command, capture_output=True, timeout=max(5.0, self.interval * 5), check=False
                )
                outputs.append(
                    {
                        "exit": done.returncode,
                        "stdout": done.stdout[:MAX_OUTPUT].decode(errors="replace"),
                        "stderr": done.stderr[:4096].decode(errors="replace"),
                        "truncated": len(done.stdout) > MAX_OUTPUT,
                    }
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                outputs.append({"exit": None, "stdout": "", "stderr": str(error), "truncated": False})
        return {"t": round(at, 6), "outputs": outputs}

"""The agent's JSON result, checked and given names a test engineer reads.

::

    result = AgentResult.parse(stdout_text, node="rngd-01")
    result.valid                      # LoadGen said "Result is : VALID"
    result.samples_per_second         # Offline samples/s (Server: completed samples/s)
    result.latency_ms("90.00")        # a percentile from the summary, in ms
    result.short_run                  # min duration below MLPerf's 600 s
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from lab.errors import InfrastructureError


class AgentError(InfrastructureError):
    """The agent crashed, hung past its deadline or returned no usable result (outcome ERROR).

    ``stderr`` holds what the agent printed to its standard error (the end of it).
    """

    def __init__(self, message: str, *, node: str | None = None, stderr: str = "") -> None:
        self.stderr = stderr
        tail = stderr[-4000:]
        text = f"{node}: {message}" if node else message
        if tail.strip():
            text += f"\n--- agent stderr (end) ---\n{tail}"
        super().__init__(text)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class AgentResult:
    """A successful agent run (``status: ok``); the raw object is kept in ``data``."""

    node: str
    data: Mapping[str, object]
    stderr: str = ""
    evidence: tuple[str, ...] = field(default=())  # local copies of the LoadGen logs

    @classmethod
    def parse(cls, stdout: str, *, node: str, stderr: str = "") -> AgentResult:
        """The result on the last line of ``stdout``; ``AgentError`` when missing or an error result."""
        lines = [line for line in stdout.splitlines() if line.strip()]
        if not lines:
            raise AgentError("the agent printed no result", node=node, stderr=stderr)
        try:
            data = json.loads(lines[-1])
        except ValueError as error:
            raise AgentError(f"the agent's result is not JSON: {error}", node=node, stderr=stderr) from error
        if not isinstance(data, dict):
            raise AgentError("the agent's result is not a JSON object", node=node, stderr=stderr)
        if data.get("status") != "ok":
            raise AgentError(
                f"the agent failed: {data.get('error', 'no reason given')}", node=node, stderr=stderr
            )
        for key in ("summary", "detail", "telemetry", "settings", "window"):
            if not isinstance(data.get(key), dict):
                raise AgentError(f"the agent's result has no {key!r} object", node=node, stderr=stderr)
        return cls(node, data, stderr)

    @property
    def summary(self) -> Mapping[str, object]:
        summary: Mapping[str, object] = self.data["summary"]  # type: ignore[assignment]
        return summary

    @property
    def settings(self) -> Mapping[str, object]:
        settings: Mapping[str, object] = self.data["settings"]  # type: ignore[assignment]
        return settings

    @property
    def scenario(self) -> str:
        return str(self.summary.get("scenario", self.data.get("scenario", "")))

    @property
    def valid(self) -> bool:
        return self.summary.get("result") == "VALID"

    @property
    def validity(self) -> str:
        return str(self.summary.get("result", "unknown"))

    @property
    def samples_per_second(self) -> float | None:
        for key in ("samples_per_second", "completed_samples_per_second"):
            value = _number(self.summary.get(key))
            if value is not None:
                return value
        return None

    @property
    def performance_constraints_met(self) -> bool | None:
        value = self.summary.get("performance_constraints_satisfied")
        return value if isinstance(value, bool) else None

    def latency_ms(self, percentile: str) -> float | None:
        """Percentile latency in ms, e.g. ``"90.00"``, ``"99.00"`` (None when LoadGen did not print it)."""
        latencies = self.summary.get("latency_ns")
        if not isinstance(latencies, dict):
            return None
        value = _number(latencies.get(percentile))
        return value / 1e6 if value is not None else None

    @property
    def short_run(self) -> bool:
        return bool(self.data.get("short_run"))

    @property
    def window(self) -> tuple[float, float]:
        window: Mapping[str, object] = self.data["window"]  # type: ignore[assignment]
        return _number(window.get("start")) or 0.0, _number(window.get("end")) or 0.0

    @property
    def wall_window(self) -> tuple[float, float] | None:
        """The performance window in epoch seconds (the node's clock); None from an older agent."""
        window: Mapping[str, object] = self.data["window"]  # type: ignore[assignment]
        origin = _number(window.get("origin_epoch"))
        if origin is None:
            return None
        start, end = self.window
        return origin + start, origin + end

    @property
    def ops_per_sample(self) -> float | None:
        return _number(self.data.get("ops_per_sample"))

    @property
    def summary_text(self) -> str:
        return str(self.data.get("summary_text", ""))

    @property
    def loadgen_version(self) -> str | None:
        detail = self.data["detail"]
        version = detail.get("loadgen_version") if isinstance(detail, dict) else None
        return str(version) if version is not None else None

    @property
    def host_cpu_pressure(self) -> float | None:
        """Share of the run in which some task on the node's host waited for a CPU (Linux PSI;
        None where the kernel has none)."""
        return _number(self.data.get("host_cpu_pressure"))

    @property
    def backends(self) -> list[Mapping[str, object]]:
        items = self.data.get("backends")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def describe(self) -> str:
        """One line for messages: scenario, validity and the headline figure."""
        figure = self.samples_per_second
        text = f"{self.scenario} {self.validity}"
        if figure is not None:
            text += f", {figure:.1f} samples/s"
        p90 = self.latency_ms("90.00")
        if p90 is not None:
            text += f", p90 {p90:.3f} ms"
        return text

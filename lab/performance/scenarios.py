"""Agent requests for each scenario, built from the settings and the node's backend.

::

    plan = ScenarioPlan(settings, choice, telemetry=[["rbln-smi", "--json"]])
    runner.run(plan.offline(devices=[0, 1]))
    runner.run(plan.server(device=0, target_qps=4000))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.performance.backend_choice import BackendChoice
from lab.performance.cache_audit import REQUEST_FIELDS as CACHE_AUDIT_FIELDS
from lab.performance.settings import PerfSettings


@dataclass(frozen=True)
class ScenarioPlan:
    settings: PerfSettings
    backend: BackendChoice
    telemetry: Sequence[Sequence[str]] = field(default_factory=list)

    def _request(
        self, scenario: str, devices: Sequence[int], batch: int, **extra: object
    ) -> dict[str, object]:
        options = dict(self.backend.options)
        options.setdefault("batch", batch)
        if self.backend.name == "emulated":
            options.setdefault("model", self.settings.model)
        request: dict[str, object] = {
            "scenario": scenario,
            "backend": {"name": self.backend.name, "options": options},
            "devices": list(devices),
            "min_duration_s": self.settings.duration_s,
            "min_query_count": 1,
            "sample_count": self.settings.sample_count,
            "deadline_s": self.settings.deadline_s,
            "telemetry": {
                "commands": [list(command) for command in self.telemetry],
                "interval_s": self.settings.telemetry_interval_s,
            },
        }
        request.update(extra)
        return request

    def offline(self, devices: Sequence[int], **extra: object) -> dict[str, object]:
        return self._request(
            "Offline", devices, self.settings.batch, min_query_count=self.settings.offline_queries, **extra
        )

    def offline_same_sample(self, devices: Sequence[int]) -> dict[str, object]:
        """TEST04: the Offline run with LoadGen issuing one sample every time."""
        return self.offline(devices, **CACHE_AUDIT_FIELDS)

    def singlestream(self, device: int) -> dict[str, object]:
        return self._request("SingleStream", [device], 1, min_query_count=self.settings.singlestream_queries)

    def multistream(self, device: int) -> dict[str, object]:
        samples = self.settings.multistream_samples_per_query
        return self._request(
            "MultiStream",
            [device],
            samples,
            min_query_count=self.settings.multistream_queries,
            samples_per_query=samples,
        )

    def server(self, device: int, target_qps: float) -> dict[str, object]:
        return self._request(
            "Server",
            [device],
            self.settings.server_batch,
            target_qps=target_qps,
            latency_bound_ms=self.settings.server_bound_ms,
            min_query_count=self.settings.server_queries,  # early stopping can hold at any rate
        )

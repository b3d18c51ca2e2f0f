"""Agent requests for each scenario, built from the settings and the node's backend.

::

    plan = ScenarioPlan(settings, choice, telemetry=[["rbln-smi", "--json"]], sample_count=450)
    runner.run(plan.offline(devices=[0, 1]))         # logs a sample of outputs (TEST01)
    runner.run(plan.server(device=0, target_qps=4000))
    runner.run(plan.accuracy(device=0))              # AccuracyOnly: every sample once, outputs logged

``sample_count`` is the task's data set size (the QSL: sample ``i`` is row ``i`` of the inputs
the backend was given); without it, the settings' ``sample_count``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.performance.audit import SAMPLING_SEED, SAMPLING_TARGET
from lab.performance.backend_choice import BackendChoice
from lab.performance.cache_audit import REQUEST_FIELDS as CACHE_AUDIT_FIELDS
from lab.performance.settings import PerfSettings

ACCURACY_DEADLINE_S = 20.0  # an accuracy run's agent deadline: start-up and the model's load ...
ACCURACY_SECONDS_PER_SAMPLE = 0.02  # ... plus this per sample (50 samples/s: slower is a broken card)


@dataclass(frozen=True)
class ScenarioPlan:
    settings: PerfSettings
    backend: BackendChoice
    telemetry: Sequence[Sequence[str]] = field(default_factory=list)
    sample_count: int | None = None

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
            "sample_count": self.sample_count or self.settings.sample_count,
            "deadline_s": self.settings.deadline_s,
            "telemetry": {
                "commands": [list(command) for command in self.telemetry],
                "interval_s": self.settings.telemetry_interval_s,
            },
        }
        request.update(extra)
        return request

    def offline(self, devices: Sequence[int], **extra: object) -> dict[str, object]:
        """Offline, logging about ``SAMPLING_TARGET`` outputs for the TEST01 audit (MLPerf's
        audit.config settings) when the plan has a data set."""
        if self.sample_count is not None and not extra:
            extra = {"accuracy_log_sampling_target": SAMPLING_TARGET, "accuracy_log_rng_seed": SAMPLING_SEED}
        return self._request(
            "Offline", devices, self.settings.batch, min_query_count=self.settings.offline_queries, **extra
        )

    def offline_same_sample(self, devices: Sequence[int]) -> dict[str, object]:
        """TEST04: the Offline run with LoadGen issuing one sample every time (no outputs logged)."""
        return self.offline(devices, **CACHE_AUDIT_FIELDS)

    def accuracy(self, device: int) -> dict[str, object]:
        """LoadGen AccuracyOnly (Offline): every sample of the data set once, every output logged.
        Its deadline grows with the data set, not the performance runs' duration: a hung card
        is an ERROR in seconds, not after a performance run's allowance."""
        samples = self.sample_count or self.settings.sample_count
        deadline = min(self.settings.deadline_s, ACCURACY_DEADLINE_S + samples * ACCURACY_SECONDS_PER_SAMPLE)
        return self._request(
            "Offline", [device], self.settings.batch, mode="AccuracyOnly", deadline_s=deadline
        )

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

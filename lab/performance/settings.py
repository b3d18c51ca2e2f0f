"""Run settings of the performance suite, read from the certification profile (data, not code).

Profile ``settings`` keys (defaults in brackets)::

    performance_seconds [600]         LoadGen min duration of every run (MLPerf: 600 s)
    telemetry_interval_seconds [1]    vendor-tool sampling period during a run (MLPerf power: 1 Hz)
    server_p99_bound_ms [15]          Server latency bound (ResNet-50's in MLPerf)
    singlestream_queries [1024]       SingleStream min query count
    performance_model [resnet50]      workload of the emulated backend
    offline_batch [8]                 batch of Offline
    server_batch [8]                  Server's dynamic batching limit (small: a batch must fit the bound)
    multistream_samples_per_query [8]
    server_search_trials [8]          LoadGen runs the Server search may use per card
    server_search_tolerance [0.05]    stop bisecting when the bracket is this narrow
    host_busy_cpu_pressure [0.5]      on nodes whose device computes on the controller's cores
                                      (emulated, loopback), a miss is inconclusive (ERROR) when
                                      tasks waited for a CPU this share of a run (Linux PSI)
    accuracy_task [digits]            the task of every card's accuracy run and its performance
                                      runs' samples (lab.performance.tasks; ``file:PATH``: a
                                      lab's task file, lab.performance.task_file); its target as a
                                      fraction of FP32 is the ``accuracy`` criterion's minimum

These become the lab's ``user.conf``, applied by LoadGen over its own ``mlperf.conf``
(``lab.agent.userconf``). Full-length runs keep mlperf.conf's minimums: 600 s, Offline
24,576 samples (``resnet50.Offline.min_query_count``), MultiStream 662 queries.

CI shortens runs with ``duration_override`` (the plugin's ``--lab-perf-duration``): the run
is then a *short run*, recorded as such, and the minimum query counts drop to what
LoadGen's early-stopping estimate needs for the percentile judged (p90: 64 → 100 is used,
p99: 662 → 700, for MultiStream and every Server trial), and the telemetry interval to a
quarter of the run, so that a few samples fall inside LoadGen's performance window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lab.errors import InventoryError, Problem
from lab.inventory.model import Scalar

MLPERF_MIN_DURATION_S = 600.0
SHORT_RUN_NOTE = "short run — not MLPerf-compliant (min duration below 600 s)"
MLPERF_OFFLINE_MIN_SAMPLES = 24_576  # mlperf.conf: resnet50.Offline.min_query_count
SHORT_SINGLESTREAM_QUERIES = 100
SHORT_MULTISTREAM_QUERIES = 700
DEADLINE_FACTOR = 5.0  # an agent run may take this many times its min duration (plus a margin)
DEADLINE_MARGIN_S = 60.0


def _number(settings: Mapping[str, Scalar], key: str, default: float, profile: str) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InventoryError(
            [Problem(profile, 0, 0, f"settings.{key}", f"must be a positive number, got {value!r}")]
        )
    return float(value)


@dataclass(frozen=True)
class PerfSettings:
    duration_s: float
    telemetry_interval_s: float
    server_bound_ms: float
    singlestream_queries: int
    multistream_queries: int
    model: str
    batch: int
    server_batch: int
    multistream_samples_per_query: int
    server_trials: int
    server_tolerance: float
    host_busy_cpu_pressure: float = 0.5
    sample_count: int = 1024
    server_queries: int = 662  # a Server trial's min query count: enough for LoadGen's p99 early stopping
    offline_queries: int = 1  # Offline's min sample count: mlperf.conf's 24,576 in full-length runs
    accuracy_task: str = "digits"

    @property
    def short_run(self) -> bool:
        return self.duration_s < MLPERF_MIN_DURATION_S

    def run_kind_properties(self) -> list[tuple[str, object]]:
        """What a test record says about its runs' standing: a short run is "not MLPerf-compliant";
        a full-length one needs no flag, its figures' MLPerf rules (``mlperf_rules``: accuracy,
        audits, duration, query counts, seeds) say whether it stands as an MLPerf result.

        >>> PerfSettings.from_profile({}, duration_override=2.0).run_kind_properties()[0]
        ('short_run', True)
        >>> PerfSettings.from_profile({}).run_kind_properties()
        []
        """
        if self.short_run:
            return [("short_run", True), ("short_run_note", SHORT_RUN_NOTE)]
        return []

    @property
    def deadline_s(self) -> float:
        return self.duration_s * DEADLINE_FACTOR + DEADLINE_MARGIN_S

    @classmethod
    def from_profile(
        cls,
        settings: Mapping[str, Scalar],
        *,
        profile: str = "profile",
        duration_override: float | None = None,
    ) -> PerfSettings:
        duration = duration_override or _number(
            settings, "performance_seconds", MLPERF_MIN_DURATION_S, profile
        )
        interval = _number(settings, "telemetry_interval_seconds", 1.0, profile)
        singlestream = int(_number(settings, "singlestream_queries", 1024, profile))
        multistream = 662
        offline = MLPERF_OFFLINE_MIN_SAMPLES
        if duration < MLPERF_MIN_DURATION_S:
            offline = 1
            interval = min(interval, duration / 4)
            singlestream = min(singlestream, SHORT_SINGLESTREAM_QUERIES)
            multistream = SHORT_MULTISTREAM_QUERIES
        model = settings.get("performance_model", "resnet50")
        return cls(
            duration_s=duration,
            telemetry_interval_s=interval,
            server_bound_ms=_number(settings, "server_p99_bound_ms", 15.0, profile),
            singlestream_queries=singlestream,
            multistream_queries=multistream,
            model=str(model),
            batch=int(_number(settings, "offline_batch", 8, profile)),
            server_batch=int(_number(settings, "server_batch", 8, profile)),
            multistream_samples_per_query=int(_number(settings, "multistream_samples_per_query", 8, profile)),
            server_trials=int(_number(settings, "server_search_trials", 8, profile)),
            server_tolerance=_number(settings, "server_search_tolerance", 0.05, profile),
            host_busy_cpu_pressure=_number(settings, "host_busy_cpu_pressure", 0.5, profile),
            # A Server trial passes only when VALID, early stopping included: LoadGen needs at
            # least 459 queries to bound a p99 with none late (662 allows one), whatever the rate.
            server_queries=multistream,
            offline_queries=offline,
            accuracy_task=str(settings.get("accuracy_task", "digits")),
        )

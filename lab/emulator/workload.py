"""The workload model: service time of one inference batch on one card, and its ground truth.

Service time = fixed overhead + batch × work per sample / (peak × efficiency(batch)),
divided by the card's current performance factor (1.0 healthy; the throttle clock
fraction while thermally throttled; lower under perf-degradation), times a lognormal
jitter with mean 1 drawn from a hash of (seed, device, query index) — so the n-th query
on a device always takes the same time, in any process.

The performance suites measure this model; their accuracy tests compare against
``ground_truth``::

    model = WorkloadModel.for_device(device_spec, "resnet50", batch=8, seed=7)
    model.service_time(query_index=0)           # seconds (emulated)
    truth = model.ground_truth()                 # mean, p50, p90, p99, throughput
    model.ground_truth(factor=0.6).throughput    # a throttled card: exactly 0.6 × as fast

A LoadGen agent running on the node uses ``lab.emulator.runner.WorkloadSession``
(which also advances the device's emulated state) rather than this class directly.
"""

from __future__ import annotations

import math

from lab.emulator import noise

TYPE_CHECKING = False  # typing costs ~4 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from lab.emulator.spec import DeviceSpec


class UnknownModelError(ValueError):
    """The workload names a model the emulator does not know."""


class ModelProfile:
    """Work per sample (INT8 giga-operations), peak efficiency and the batch of half efficiency."""

    __slots__ = ("batch_half", "gops_per_sample", "jitter_sigma", "max_efficiency", "overhead_s")

    def __init__(
        self,
        gops_per_sample: float,
        max_efficiency: float,
        batch_half: float,
        overhead_s: float,
        jitter_sigma: float,
    ) -> None:
        self.gops_per_sample = gops_per_sample
        self.max_efficiency = max_efficiency
        self.batch_half = batch_half
        self.overhead_s = overhead_s
        self.jitter_sigma = jitter_sigma


# Work per sample from the models' published MAC counts (2 ops per MAC); efficiencies are
# emulator choices (a card rarely sustains more than about half its dense peak).
MODEL_PROFILES: dict[str, ModelProfile] = {
    "resnet50": ModelProfile(8.2, 0.55, 4.0, 0.0002, 0.05),
    "mobilenet": ModelProfile(0.6, 0.30, 8.0, 0.0002, 0.06),
    "retinanet": ModelProfile(260.0, 0.45, 2.0, 0.0005, 0.04),
    "bert-large": ModelProfile(260.0, 0.40, 2.0, 0.0005, 0.04),
    "gpt-j": ModelProfile(1500.0, 0.35, 1.0, 0.002, 0.08),
}


class GroundTruth:
    """What a perfect measurement of the model would find (seconds; samples per second)."""

    __slots__ = ("batch", "mean", "p50", "p90", "p99", "throughput")

    def __init__(self, mean: float, p50: float, p90: float, p99: float, batch: int) -> None:
        self.mean = mean
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.batch = batch
        self.throughput = batch / mean  # one batch in flight per card

    def to_dict(self) -> dict[str, float]:
        return {
            "mean_s": self.mean,
            "p50_s": self.p50,
            "p90_s": self.p90,
            "p99_s": self.p99,
            "throughput_sps": self.throughput,
        }


def _normal_quantile(q: float) -> float:
    # statistics is imported only here: the tool path never needs it.
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


class WorkloadModel:
    """Service-time distribution of one (model, batch) on one card."""

    __slots__ = ("base", "batch", "device_index", "model", "seed", "sigma")

    def __init__(
        self, *, base: float, batch: int, sigma: float, seed: int, device_index: int, model: str
    ) -> None:
        self.base = base  # mean service time at full performance, seconds
        self.batch = batch
        self.sigma = sigma
        self.seed = seed
        self.device_index = device_index
        self.model = model

    @classmethod
    def for_device(cls, device: DeviceSpec, model: str, batch: int, seed: int) -> WorkloadModel:
        """The model of ``model`` at ``batch`` on ``device`` (``UnknownModelError`` if unknown)."""
        profile = MODEL_PROFILES.get(model)
        if profile is None:
            known = ", ".join(sorted(MODEL_PROFILES))
            raise UnknownModelError(f"unknown model {model!r} (known: {known})")
        if batch < 1:
            raise UnknownModelError(f"batch must be at least 1, got {batch}")
        efficiency = profile.max_efficiency * batch / (batch + profile.batch_half)
        compute = batch * profile.gops_per_sample / (device.int8_tops * 1000.0 * efficiency)
        return cls(
            base=profile.overhead_s + compute,
            batch=batch,
            sigma=profile.jitter_sigma,
            seed=seed,
            device_index=device.index,
            model=model,
        )

    def jitter(self, query_index: int) -> float:
        """Lognormal multiplier with mean 1 for the ``query_index``-th query on the device."""
        z = noise.normal(self.seed, "jitter", self.device_index, query_index)
        return math.exp(self.sigma * z - 0.5 * self.sigma * self.sigma)

    def service_time(self, query_index: int, factor: float = 1.0) -> float:
        """Emulated seconds the ``query_index``-th query takes at performance ``factor``."""
        return self.base * self.jitter(query_index) / factor

    def quantile(self, q: float, factor: float = 1.0) -> float:
        """The exact ``q`` quantile (0 < q < 1) of the service time at ``factor``."""
        mu = -0.5 * self.sigma * self.sigma
        return self.base * math.exp(mu + self.sigma * _normal_quantile(q)) / factor

    def ground_truth(self, factor: float = 1.0) -> GroundTruth:
        """Mean, p50/p90/p99 and throughput (samples/s) at performance ``factor``."""
        return GroundTruth(
            mean=self.base / factor,
            p50=self.quantile(0.5, factor),
            p90=self.quantile(0.9, factor),
            p99=self.quantile(0.99, factor),
            batch=self.batch,
        )

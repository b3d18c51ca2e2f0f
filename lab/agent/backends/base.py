"""The backend interface: one card, one call per batch of samples.

A backend runs inference for real (or, on emulated nodes, waits out the emulated service
time), so LoadGen measures the latency it would measure on hardware::

    backend = create("onnxruntime-cpu", device=0, options={"model_path": "mlp.onnx", "batch": 8})
    backend.open(sample_count=1024)
    ran = backend.infer([3, 17, 42])  # blocks until the batch is done; ran.count samples ran
    backend.close()

``batch`` is the most samples one ``infer`` call takes; workers never pass more.
``ops_per_sample`` (INT8/FP operations per sample, when the backend knows it) lets the
controller compute the fraction of the catalog's peak; ``info()`` is recorded in the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ran:
    """What one ``infer`` call really did.

    ``count`` is how many of the leading samples ran: a model compiled for batch 1 that is
    handed eight samples runs one, and the caller calls again for the rest, telling LoadGen
    only about samples that ran. ``outputs`` holds each sample's output bytes, in order, when
    the call asked for them (``keep_outputs=True``: accuracy runs, audits); otherwise None::

        ran = backend.infer([4, 5, 6], keep_outputs=True)
        done, rest = [4, 5, 6][: ran.count], [4, 5, 6][ran.count :]
    """

    count: int
    outputs: tuple[bytes, ...] | None = None


class BackendError(RuntimeError):
    """The backend cannot run (missing runtime, unknown option): the node's fault, not the card's."""

    kind = "runtime"


class DeviceBusyError(BackendError):
    """Another process owns the card (what the process-isolation check expects of a second owner)."""

    kind = "busy"


class DeviceUnavailableError(BackendError):
    """The card itself is missing or refuses to open (fell off the bus): counts against the card."""

    kind = "device"


class Backend:
    """Base class of the agent's backends (see the module docstring)."""

    name = "base"
    # True: runs for real in CI; a string says how far it was exercised (vendor backends:
    # "against a test double of the vendor SDK ..."); False: never run
    exercised: bool | str = True
    # Offline: batches one card may have in flight at once (worker threads per card). A real
    # runtime queues the next batch while the current one runs; a backend whose ``infer`` is
    # safe to call from several threads says so, and a late host thread then does not idle
    # the card. Server and the stream scenarios use one thread per card: queueing ahead there
    # would shrink dynamic batches and hide the host's latency.
    in_flight = 1
    # Node seconds per wall second: 1 on real hardware; an emulated node may run its cards'
    # time faster (its soak figures are then reported in the node's seconds).
    time_scale = 1.0
    # Whether a backend that waits out service times spins for precision (LoadGen's
    # microsecond latencies) or just sleeps (long soaks: a spinning card per core is too dear).
    spin = True
    # Soak and drill workloads: the card's work runs in real time even where the node's clock
    # (heat, faults, telemetry) runs ``time_scale`` times faster, so each query's latency is
    # waited and measured in full; only the windows' timestamps are the node's seconds.
    real_time = False

    def __init__(self, device: int, options: dict[str, object]) -> None:
        self.device = device
        self.options = options
        self.batch = option_int(options, "batch", 1)
        self.ops_per_sample: float | None = None

    def open(self, sample_count: int) -> None:
        """Load the model and any per-sample inputs; claim the device."""

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        """Run (a leading part of) one batch of at most ``self.batch`` sample indexes to
        completion and say how many ran (see ``Ran``)."""
        raise NotImplementedError

    def outputs(self, inputs: Any) -> Any:
        """Run the model on ``inputs`` (float32 [n, features]) and return its outputs (float32
        [n, classes]) as the card computed them: the smoke check compares them with FP32."""
        raise BackendError(f"the {self.name} backend cannot return outputs")

    def idle(self) -> None:
        """Called after a batch's completion was reported: prepare the next one off the clock."""

    def close(self) -> None:
        """Release the device (safe to call twice)."""

    def info(self) -> dict[str, object]:
        """What the result should record about this backend."""
        return {"name": self.name, "device": self.device, "batch": self.batch, "exercised": self.exercised}


def checked(ran: Ran, asked: int) -> int:
    """``ran.count``, refused when it is not 1..``asked`` (a backend that runs nothing would
    loop its caller forever; one that claims more than it was given over-credits LoadGen)."""
    if not 1 <= ran.count <= asked:
        raise BackendError(f"backend ran {ran.count} of {asked} samples; it must run 1..{asked}")
    return ran.count


def option_int(options: dict[str, object], key: str, default: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BackendError(f"backend option {key} must be a positive integer, got {value!r}")
    return value


def option_str(options: dict[str, object], key: str, default: str | None = None) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or not value:
        raise BackendError(f"backend option {key} must be a non-empty string, got {value!r}")
    return value


# time.sleep() overshoots by 50-100 µs on a loaded Linux host; that would bias a 2 ms
# latency by several per cent. Sleep to just before the deadline, then spin the rest.
_SPIN_SECONDS = 0.0006


def sleep_until(deadline: float, *, spin: bool = True) -> None:
    """Return at ``deadline`` (a ``time.perf_counter()`` value), as precisely as the host allows
    (``spin=False``: just sleep, ~0.1 ms late, without burning a core — a soak's hours)."""
    remaining = deadline - time.perf_counter()
    if not spin:
        if remaining > 0:
            time.sleep(remaining)
        return
    if remaining > _SPIN_SECONDS:
        time.sleep(remaining - _SPIN_SECONDS)
    while time.perf_counter() < deadline:
        pass

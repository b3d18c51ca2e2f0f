"""The emulated card: the emulator's workload model, waited out in real time.

On an emulated node the agent runs with the node's environment (``KCLOUD_EMU_NODE_DIR``)
and the ``lab`` package importable, and drives ``lab.emulator.runner.WorkloadSession``:
each batch takes the model's service time at the card's current performance factor
(throttling, degradation), and the worker really waits that long, so LoadGen's clock
measures it like a hardware latency. Partial batches take a full batch's time, as on a
card compiled for a fixed batch size.

The card has its own timeline: a batch issued while the card is busy starts when the card
frees, a batch issued while it is idle starts when issued (the host's own overhead counts).
In Offline, three worker threads feed one card (``in_flight``), as a runtime's submission queue does,
so a host thread that wakes late does not leave the card idle.

``outputs`` (the smoke check) waits out the batches' service time the same way and computes
the reference model as an INT8 card does (``lab.agent.quantized``: real quantization error);
a card with the ``wrong-output`` fault has a stuck accumulator bit, so its numbers differ.
``infer(samples, keep_outputs=True)`` (accuracy runs, TEST01) computes the same way on the
data set's rows (``options["inputs_path"]``, a .npy [N, features]) and returns each sample's
float32 outputs as bytes; a card with the ``accuracy-drift`` fault adds noise to them that
grows with the card's time since the fault started (deterministic per sample). The rows'
outputs are computed when the card opens, off the clock: the emulated card's compute runs on
the controller's cores, which must not slow the card's modelled service time, still waited
out batch by batch::

    options = {"model": "resnet50", "batch": 8, "model_path": "model.onnx", "inputs_path": "inputs.npy"}
Opening a card another process owns raises ``DeviceBusyError``; a card off the bus
``DeviceUnavailableError``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .base import (
    Backend,
    BackendError,
    DeviceBusyError,
    DeviceUnavailableError,
    Ran,
    option_str,
    sleep_until,
)
from .inputs import load_inputs

QUEUE_SLACK_S = 0.05  # a query issued this soon after the last completed was queued behind it
WRONG_OUTPUT_STUCK_BIT = 16  # the wrong-output fault: this accumulator bit of the first layer is stuck


class EmulatedBackend(Backend):
    name = "emulated"
    in_flight = 3

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self.model_name = option_str(options, "model", "resnet50")
        self._session: Any = None
        self._busy_until = 0.0
        self._factor_sum = 0.0
        self._batches = 0
        self._lock = threading.Lock()
        self._ahead: Any = None  # the next query's timing, computed while the card idles
        self._model: Any = None  # the quantized reference model, loaded for ``outputs``
        self._outputs: Any = None  # the card's outputs for the data set's rows (``inputs_path``)

    def open(self, sample_count: int) -> None:
        try:
            from lab.emulator.ownership import DeviceBusy
            from lab.emulator.runner import DeviceUnavailable, WorkloadSession
            from lab.emulator.state import NodeDir
            from lab.emulator.workload import MODEL_PROFILES
        except ImportError as error:
            raise BackendError(
                f"the emulated backend needs the lab package on PYTHONPATH: {error}"
            ) from error
        try:
            session = WorkloadSession(
                NodeDir.from_environment(), self.device, self.model_name, self.batch, "kcloud-agent"
            )
            session.open()
        except DeviceBusy as error:
            raise DeviceBusyError(str(error)) from error
        except DeviceUnavailable as error:
            raise DeviceUnavailableError(f"cannot open emulated npu{self.device}: {error}") from error
        except Exception as error:  # the emulator's own errors: busy, missing device, no node dir
            raise BackendError(f"cannot open emulated npu{self.device}: {error}") from error
        self._session = session
        if "inputs_path" in self.options and "model_path" in self.options:
            rows = load_inputs(option_str(self.options, "inputs_path"), sample_count)
            self._outputs = self._drifted(self._compute(rows))
        self.time_scale = float(session.node.spec.time_scale)
        profile = MODEL_PROFILES[self.model_name]
        self.ops_per_sample = profile.gops_per_sample * 1e9

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        with self._lock:  # reserve the next slot on the card's timeline
            timing, self._ahead = self._ahead or self._session.next_query(), None
            issued = time.perf_counter()
            start = max(issued, self._busy_until)
            if self.real_time and issued - self._busy_until < QUEUE_SLACK_S:
                # a soak's back-to-back queries: the runtime's submission queue held this one
                # while the last ran, so the host thread waking late does not idle the card
                start = self._busy_until
            seconds = timing.emulated_seconds if self.real_time else timing.wall_seconds
            done = self._busy_until = start + seconds
            self._factor_sum += timing.factor
            self._batches += 1
        if self._session.hung:
            _hang()
        outputs = self._sample_outputs(samples) if keep_outputs else None
        sleep_until(done, spin=self.spin)
        return Ran(len(samples), outputs)

    def _sample_outputs(self, samples: list[int]) -> tuple[bytes, ...]:
        """The card's outputs for the data set's rows ``samples``, one float32 row each."""
        if self._outputs is None:
            raise BackendError("outputs of LoadGen samples need options.inputs_path and options.model_path")
        return tuple(self._outputs[sample].tobytes() for sample in samples)

    def _drifted(self, values: Any) -> Any:
        """``values`` with the accuracy-drift fault's noise: per sample (seeded by its index), in
        standard deviations of the sample's outputs times the drift reached."""
        import numpy

        drift = self._session.accuracy_drift
        if drift > 0:
            for sample, row in enumerate(values):
                noise = numpy.random.default_rng(sample).standard_normal(row.shape).astype(numpy.float32)
                row += drift * float(row.std()) * noise
        return values

    def _compute(self, inputs: Any) -> Any:
        if self._model is None:
            from ..quantized import QuantizedMlp

            self._model = QuantizedMlp.load(option_str(self.options, "model_path"))
        stuck = WRONG_OUTPUT_STUCK_BIT if self._session.wrong_output else None
        return self._model.run(inputs, stuck_bit=stuck)

    def outputs(self, inputs: Any) -> Any:
        for first in range(0, len(inputs), self.batch):
            self.infer(list(range(first, min(len(inputs), first + self.batch))))
        return self._compute(inputs)

    def idle(self) -> None:
        # The workload model costs ~20 µs per query (thermal state, faults): computed here,
        # between queries, it stays out of the next query's measured latency.
        with self._lock:
            if self._ahead is None and self._session is not None:
                self._ahead = self._session.next_query()

    def close(self) -> None:
        if self._ahead is not None and self._session is not None:
            self._session.queries -= 1  # prepared but never run: not a query on the card
            self._ahead = None
        if self._session is not None:
            session, self._session = self._session, None
            session.close()

    def info(self) -> dict[str, object]:
        data = super().info()
        data["model"] = self.model_name
        data["batches"] = self._batches
        data["perf_factor_mean"] = self._factor_sum / self._batches if self._batches else None
        return data


def _hang() -> None:
    """A hung card never completes the batch; the agent's watchdog (or a kill) ends the process."""
    while True:
        time.sleep(1.0)

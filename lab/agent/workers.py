"""The system under test: one worker thread per card, pulling samples from one queue.

LoadGen's issue callback only enqueues (it must return quickly: in the Server scenario it
is called at Poisson arrival times). Each worker takes the oldest sample, adds whatever
else is already waiting up to its backend's batch size (dynamic batching, as inference
servers do), runs the batch and reports the samples complete::

    pool = WorkerPool(backends, complete=lg.QuerySamplesComplete, response=lg.QuerySampleResponse)
    pool.start(); pool.submit([(query_id, sample_index), ...]); ...; pool.stop()

A backend that raises stops its worker and is reported by ``pool.failure``; the queries it
held are completed anyway so LoadGen does not wait forever, and the run is then an error.

With ``keep_outputs`` (accuracy runs, and performance runs that log a sample of outputs for
the TEST01 audit) each response points at the sample's real output bytes: LoadGen copies the
ones it logs inside ``QuerySamplesComplete``, so the buffers are kept alive until it returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .backends import Backend, BackendError, checked

Sample = tuple[int, int]  # (LoadGen query id, QSL sample index)


class WorkerPool:
    def __init__(
        self,
        backends: Sequence[Backend],
        complete: Callable[[list[object]], None],
        response: Callable[[int, int, int], object],
        *,
        pipelined: bool = False,
        keep_outputs: bool = False,
    ) -> None:
        self.backends = list(backends)
        self.pipelined = pipelined
        self.keep_outputs = keep_outputs
        self._complete = complete
        self._response = response
        self._queue: queue.SimpleQueue[Sample | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.failure: str | None = None
        self.samples_done = [0 for _ in self.backends]

    def start(self) -> None:
        for slot, backend in enumerate(self.backends):
            for stream in range(backend.in_flight if self.pipelined else 1):
                thread = threading.Thread(
                    target=self._work, args=(slot, backend), name=f"npu{backend.device}.{stream}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def run_inline(self, samples: Sequence[Sample]) -> None:
        """Run ``samples`` in the caller's thread on the first card (SingleStream, MultiStream).

        LoadGen issues the next query of these scenarios only when the last one completed,
        so running it in the issuing thread saves a thread hand-off from every latency.
        """
        backend = self.backends[0]
        for first in range(0, len(samples), backend.batch):
            self._finish(0, backend, list(samples[first : first + backend.batch]))

    def submit(self, samples: Sequence[Sample]) -> None:
        for sample in samples:
            self._queue.put(sample)

    def stop(self, timeout: float = 30.0) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _work(self, slot: int, backend: Backend) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < backend.batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._finish(slot, backend, batch)
            if stop:
                return

    def _finish(self, slot: int, backend: Backend, batch: list[Sample]) -> None:
        # A backend may run only a leading part of the batch (its compiled batch is smaller):
        # LoadGen hears of each part as it completes and the rest is run by the next call.
        while batch:
            count = len(batch)
            outputs: tuple[bytes, ...] | None = None
            if self.failure is None:
                try:
                    ran = backend.infer([sample for _, sample in batch], keep_outputs=self.keep_outputs)
                    count = checked(ran, len(batch))
                    outputs = ran.outputs
                    if self.keep_outputs and (outputs is None or len(outputs) != count):
                        returned = _count(outputs)
                        raise BackendError(f"asked for outputs, got {returned} for {count} samples")
                except Exception as error:  # any backend failure ends the run as an error
                    self.failure = f"npu{backend.device}: {type(error).__name__}: {error}"
                    count, outputs = len(batch), None
                else:
                    self.samples_done[slot] += count
            done, batch = batch[:count], batch[count:]
            if outputs is None:
                self._complete([self._response(query_id, 0, 0) for query_id, _ in done])
            else:
                # one buffer per sample, alive until QuerySamplesComplete (which copies what it logs) returns
                buffers = [numpy_bytes(output) for output in outputs]
                self._complete(
                    [
                        self._response(query_id, buffer.ctypes.data, buffer.nbytes)
                        for (query_id, _), buffer in zip(done, buffers, strict=True)
                    ]
                )
                del buffers
            backend.idle()


def numpy_bytes(data: bytes) -> Any:
    """``data`` as a numpy byte array, whose address LoadGen can read (``.ctypes.data``)."""
    import numpy

    return numpy.frombuffer(data, dtype=numpy.uint8) if data else numpy.zeros(0, dtype=numpy.uint8)


def _count(outputs: tuple[bytes, ...] | None) -> str:
    return "none" if outputs is None else str(len(outputs))

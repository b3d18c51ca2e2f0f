"""A background reader: one thread from ``__enter__`` to ``__exit__``, a reading every interval.

The BMC samplers (:mod:`lab.transport.bmc_sampler`) and the K-Cloud run's exporter sampler
(:mod:`lab.kcloud.run_power`) differ only in what one reading is and what must be opened
first; the lifecycle is this class's::

    class Sampler(PeriodicSampler):
        label = "exporter"
        def _read(self) -> None:            # one reading; InfrastructureError when it fails
            self.values.append(scrape())

    with Sampler(interval_s=1.0, read_timeout_s=30) as sampler:   # reads once now: a source that
        run()                                                     # cannot be read fails up front
    sampler.error                                                 # the first failure later, or None

A reading that fails during the run ends the sampling there (``error`` keeps why): the figure
uses what came before. Readings are spaced by ``interval_s`` from the first; stopping waits at
most one reading's deadline (``read_timeout_s``) twice plus an interval, so nothing outlives
the run by more than that.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import ClassVar, Self

from lab.errors import InfrastructureError


class PeriodicSampler:
    """Base of the samplers: subclasses set ``label``, implement ``_read`` (and ``_open``/``_release``)."""

    label: ClassVar[str] = "sampler"
    final_reading: ClassVar[bool] = False
    """Read once more after the run (so a window that ends the run is covered)."""
    minimum_interval_s: ClassVar[float] = 0.05

    def __init__(self, *, interval_s: float, read_timeout_s: float, name: str) -> None:
        self.interval_s = max(self.minimum_interval_s, interval_s)
        self._timeout = read_timeout_s
        self._name = name  # whose readings (a node's name): in errors and the thread's name
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self) -> None:
        """Open what the readings need (called once, at ``__enter__``)."""

    def _release(self) -> None:
        """Release what ``_open`` opened (called once, on exit or a failed first reading)."""

    def _read(self) -> None:
        """Take one reading and keep it; raise ``InfrastructureError`` when the source fails."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._open()
        self._sample()  # one reading now: a misbehaving source fails before the run starts
        if self.error is not None:
            self._release()
            raise InfrastructureError(f"{self._name}: {self.label}: {self.error}")
        name = f"{self.label.replace(' ', '-')}-{self._name}"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            # one reading is bounded by its deadline: the join is too
            self._thread.join(timeout=self._timeout * 2 + self.interval_s)
        if self.final_reading:
            self._sample()
        self._release()

    def _loop(self) -> None:
        next_at = time.monotonic() + self.interval_s
        while self.error is None and not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.interval_s
            self._sample()

    def _sample(self) -> None:
        if self.error is not None:
            return  # the series ended at the first failure
        try:
            self._read()
        except InfrastructureError as failure:
            self.error = str(failure)

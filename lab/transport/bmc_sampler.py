"""A background reader of a node's BMC: one thread from ``__enter__`` to ``__exit__``.

The wall-power sampler (performance) and the BMC thermal sampler (soak) differ only in what
one reading is and where it goes; the lifecycle is this class's::

    class Sampler(BmcSampler):
        label = "wall power"
        def _read(self) -> None:             # one reading; InfrastructureError when it fails
            self.values.append(self._client.power().watts)

    with Sampler(node, interval_s=1.0) as sampler:   # opens the BMC and reads once: a BMC
        run()                                          # that cannot be read is ERROR up front
    sampler.error                                      # the first failure later, or None

A client passed in (``client=``) is opened if need be and left open for its owner, so a
session sampling many runs connects once and resolves its resources once; one the sampler
made itself is closed on exit. A reading that fails during the run ends the sampling there
(``error`` keeps why): the figure uses what came before. Readings are spaced by
``interval_s`` from the first, and stopping waits at most one reading's deadline (the BMC's
timeout) twice plus an interval.

``read_during`` is the one way a suite reads a BMC during a window of its own (a LoadGen run,
a soak): a BMC that cannot be opened or read before the window is the server's management
controller failing, not the cards, so the window goes ahead without readings and says why::

    result, sampler, failure = read_during(lambda: Sampler(node, interval_s=1.0), run)
    # sampler is None and failure says why when the BMC could not be read before the run
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import ClassVar, Self, TypeVar

from lab.errors import InfrastructureError
from lab.inventory.model import Node
from lab.transport.redfish import RedfishClient

T = TypeVar("T")


class BmcSampler:
    """Base of the BMC samplers: subclasses set ``label`` and implement ``_read``."""

    label: ClassVar[str] = "BMC"
    final_reading: ClassVar[bool] = False
    """Read once more after the run (so a window that ends the run is covered)."""
    minimum_interval_s: ClassVar[float] = 0.05

    def __init__(self, node: Node, *, interval_s: float, client: RedfishClient | None = None) -> None:
        if node.bmc is None:
            raise ValueError(f"{node.name} has no bmc in the inventory: nothing to sample")
        self.node = node
        self.interval_s = max(self.minimum_interval_s, interval_s)
        self._owns_client = client is None
        self._client = client or RedfishClient(node.bmc, node=node.name)
        self._timeout = node.bmc.timeout
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> None:
        """Take one reading and keep it; raise ``InfrastructureError`` when the BMC fails."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._client.open()
        self._sample()  # one reading now: a misbehaving BMC is ERROR before the run starts
        if self.error is not None:
            self._release()
            raise InfrastructureError(f"{self.node.name}: {self.label}: {self.error}")
        name = f"{self.label.replace(' ', '-')}-{self.node.name}"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            # one reading is bounded by the BMC's timeout: the join is too
            self._thread.join(timeout=self._timeout * 2 + self.interval_s)
        if self.final_reading:
            self._sample()
        self._release()

    def _release(self) -> None:
        if self._owns_client:
            self._client.close()

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


S = TypeVar("S", bound=BmcSampler)


def read_during(make: Callable[[], S], run: Callable[[], T]) -> tuple[T, S | None, str | None]:
    """``run()`` with the sampler ``make()`` returns reading the BMC from before it to after it.

    Returns ``(run()'s result, the stopped sampler, None)``, or ``(run()'s result, None, why)``
    when making or starting the sampler failed (``InfrastructureError``): then ``run()`` went
    ahead without readings. An error of ``run()`` itself propagates, the sampler stopped first.
    """
    try:
        sampler = make()
        sampler.__enter__()  # opens the BMC and reads once
    except InfrastructureError as error:
        return run(), None, str(error)
    try:
        result = run()
    finally:
        sampler.__exit__(None, None, None)  # stopping waits one reading at most
    return result, sampler, None

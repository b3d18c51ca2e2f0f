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
made itself is closed on exit. The thread's lifecycle (a failing reading ends the series, bounded stop) is
:class:`lab.transport.periodic.PeriodicSampler`'s; a reading's deadline is the BMC's timeout.

``read_during`` is the one way a suite reads a BMC during a window of its own (a LoadGen run,
a soak): a BMC that cannot be opened or read before the window is the server's management
controller failing, not the cards, so the window goes ahead without readings and says why::

    result, sampler, failure = read_during(lambda: Sampler(node, interval_s=1.0), run)
    # sampler is None and failure says why when the BMC could not be read before the run
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lab.errors import InfrastructureError
from lab.inventory.model import Node
from lab.transport.periodic import PeriodicSampler
from lab.transport.redfish import RedfishClient

T = TypeVar("T")


class BmcSampler(PeriodicSampler):
    """Base of the BMC samplers: subclasses set ``label`` and implement ``_read``."""

    label = "BMC"

    def __init__(self, node: Node, *, interval_s: float, client: RedfishClient | None = None) -> None:
        if node.bmc is None:
            raise ValueError(f"{node.name} has no bmc in the inventory: nothing to sample")
        super().__init__(interval_s=interval_s, read_timeout_s=node.bmc.timeout, name=node.name)
        self.node = node
        self._owns_client = client is None
        self._client = client or RedfishClient(node.bmc, node=node.name)

    def _open(self) -> None:
        self._client.open()

    def _release(self) -> None:
        if self._owns_client:
            self._client.close()


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

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
"""

from __future__ import annotations

from lab.inventory.model import Node
from lab.transport.periodic import PeriodicSampler
from lab.transport.redfish import RedfishClient


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

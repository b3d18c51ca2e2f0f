"""The emulated LLM endpoint's work, put on its cards' emulated state so their vendor tool shows it.

A serving engine on real hardware makes its cards busy: the vendor tool then reports their
utilisation and power rising. The emulated engine does the same through the node's state
(``lab.emulator.state``): while it steps, each card it runs on holds a busy interval, which
``furiosa-smi``/``rbln-smi``/... turn into utilisation and power exactly as for any workload.
The interval is leased ``LEASE_S`` ahead and extended while the engine keeps stepping, so a
killed endpoint leaves at most one lease of stale load, and an idle one shows idle within it
(a real tool's utilisation is an average over a similar window).

::

    load = CardLoad("/tmp/testbed/nodes/rngd-01", cards=[0])
    load.step()      # called by the engine at every step; touches state.json about twice a second
"""

from __future__ import annotations

from lab.emulator.defaults import BUSY_UTILIZATION
from lab.emulator.device import EmulatedDevice
from lab.emulator.state import NodeDir

LEASE_S = 1.0  # emulated seconds a step keeps its cards busy ahead of now


class CardLoad:
    """Busy intervals on ``cards`` of the emulated node in ``node_dir`` while the engine steps."""

    def __init__(self, node_dir: str, cards: list[int], utilization: float = BUSY_UTILIZATION) -> None:
        self.node = NodeDir(node_dir)
        self.cards = list(cards)
        self.utilization = utilization
        self._start: float | None = None
        self._end = 0.0

    def step(self) -> None:
        now = self.node.now()
        if self._start is not None and now < self._end - LEASE_S / 2:
            return  # the current lease still covers this step
        spec = self.node.spec
        with self.node.transaction() as state:
            for card in self.cards:
                device = EmulatedDevice(spec, spec.devices[card], state.device(card))
                if self._start is None or now >= self._end:
                    device.record_busy(now, now + LEASE_S, self.utilization)
                else:
                    for interval in device.record.busy:
                        if interval[0] == self._start:
                            interval[1] = now + LEASE_S
        if self._start is None or now >= self._end:
            self._start = now
        self._end = now + LEASE_S

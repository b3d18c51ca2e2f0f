"""First-order thermal model of a card, integrated analytically between events.

``dT/dt = (T_ss − T) / tau`` with ``T_ss = ambient + R_th × P``. Power and ambient are
piecewise constant (they change only when a workload starts or stops or a cooling fault
starts), so the exact solution is applied segment by segment — no time steps, no drift,
and the same inputs always give the same temperature::

    model = ThermalModel(resistance=45.0 / 150.0, time_constant=60.0)
    model.step(t0=0.0, temp0=30.0, t1=120.0, steady_state=70.0)   # 64.6...
"""

from __future__ import annotations

import math

TYPE_CHECKING = False  # collections.abc costs ~3 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


class ThermalModel:
    """Thermal resistance (°C/W) and time constant (emulated seconds) of one card."""

    __slots__ = ("resistance", "time_constant")

    def __init__(self, resistance: float, time_constant: float) -> None:
        self.resistance = resistance
        self.time_constant = time_constant

    def steady_state(self, ambient: float, power: float) -> float:
        """The temperature the card settles at with constant ``power`` and ``ambient``."""
        return ambient + self.resistance * power

    def step(self, t0: float, temp0: float, t1: float, steady_state: float) -> float:
        """Temperature at ``t1`` starting from ``temp0`` at ``t0`` with a constant steady state."""
        return steady_state + (temp0 - steady_state) * math.exp(-(t1 - t0) / self.time_constant)

    def integrate(
        self,
        t0: float,
        temp0: float,
        t1: float,
        edges: Iterable[float],
        power_at: Callable[[float], float],
        ambient_at: Callable[[float], float],
    ) -> float:
        """Temperature at ``t1`` given the state at ``t0`` and the instants inputs change.

        ``power_at``/``ambient_at`` are sampled in the middle of each segment between
        consecutive ``edges``, where they are constant by construction.
        """
        if t1 <= t0:
            return temp0
        points = sorted({edge for edge in edges if t0 < edge < t1})
        points.append(t1)
        now, temp = t0, temp0
        for point in points:
            middle = 0.5 * (now + point)
            target = self.steady_state(ambient_at(middle), power_at(middle))
            temp = self.step(now, temp, point, target)
            now = point
        return temp

    def time_to_reach(self, temp0: float, target: float, steady_state: float) -> float | None:
        """Seconds until the temperature crosses ``target`` heading to ``steady_state`` (None: never)."""
        if temp0 == target:
            return 0.0
        if not (min(temp0, steady_state) < target < max(temp0, steady_state)):
            return None
        return self.time_constant * math.log((steady_state - temp0) / (steady_state - target))

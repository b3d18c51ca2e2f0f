"""The BMC's own thermal view during a soak: its temperature sensors and fans as series.

The cards' tools give the cards' temperatures; the server's BMC sees the inlet, the CPUs
and the fans that cool the cards. During a soak a thread reads the chassis' ``Thermal``
over Redfish at the telemetry interval; each sensor becomes a series beside the cards'::

    with BmcThermalSampler(node, interval_s=1.0) as sampler:     # node.bmc is not None
        soak.run()
    paths = [write_series(run_dir, test_id, series) for series in sampler.series()]
    measurements = beside_card_temperatures(measurements, paths)  # charted with the cards' in the report

Opening the BMC fails → InfrastructureError at ``__enter__`` (the soak suite records it as
``bmc_thermal_error`` and soaks the cards anyway). A reading that fails later ends the series
there and is kept in ``error`` (the soak itself is not spoiled).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import replace

from lab.criteria import Measurement
from lab.inventory.model import Node
from lab.results.series import Series
from lab.transport.bmc_sampler import BmcSampler
from lab.transport.redfish import RedfishClient


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "sensor"


class BmcThermalSampler(BmcSampler):
    """Samples the node's BMC Thermal resource in a thread from ``__enter__`` to ``__exit__``."""

    label = "BMC thermal"
    minimum_interval_s = 0.1

    def __init__(self, node: Node, *, interval_s: float, client: RedfishClient | None = None) -> None:
        super().__init__(node, interval_s=interval_s, client=client)
        self._started = time.time()
        self._temperatures: dict[str, list[tuple[float, float]]] = {}
        self._fans: dict[str, list[tuple[float, float]]] = {}
        self._fan_units: dict[str, str] = {}

    def __enter__(self) -> BmcThermalSampler:
        self._started = time.time()
        return super().__enter__()

    def series(self) -> list[Series]:
        """One time series per sensor (t in seconds from the first reading)."""
        found: list[Series] = []
        groups: tuple[tuple[str, dict[str, list[tuple[float, float]]]], ...] = (
            ("bmc-temp", self._temperatures),
            ("bmc-fan", self._fans),
        )
        for prefix, readings in groups:
            for name, points in sorted(readings.items()):
                unit = "°C" if prefix == "bmc-temp" else (self._fan_units.get(name) or "RPM")
                found.append(
                    Series(
                        name=f"{prefix}.{_slug(name)}",
                        unit=unit,
                        t=tuple(round(t - self._started, 3) for t, _ in points),
                        values=tuple(value for _, value in points),
                    )
                )
        return found

    def _read(self) -> None:
        reading = self._client.thermal()
        for name, value in reading.temperatures.items():
            self._temperatures.setdefault(name, []).append((reading.at, value))
        for name, value in reading.fans.items():
            self._fans.setdefault(name, []).append((reading.at, value))
        self._fan_units.update({name: unit for name, unit in reading.units.items() if unit})


THERMAL_CRITERION = "temperature-margin"  # the soak criterion the cards' temperature series back


def beside_card_temperatures(measurements: Sequence[Measurement], paths: Sequence[str]) -> list[Measurement]:
    """``measurements`` with the BMC series ``paths`` added to the thermal criterion's evidence.

    The report draws a criterion's evidence series together, so the server's intake and fans
    appear beside the cards' own temperatures; the verdict does not change (the BMC's view is
    context, not a criterion)::

        measurements = beside_card_temperatures(measurements, ["evidence/.../bmc-temp.CPU_Temp.series.json"])
        # temperature-margin's evidence: npu0.temperature..., npu1.temperature..., bmc-temp.CPU_Temp...
    """
    return [
        replace(m, evidence=(*m.evidence, *(p for p in paths if p not in m.evidence)))
        if m.name == THERMAL_CRITERION
        else m
        for m in measurements
    ]

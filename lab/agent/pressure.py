"""How much the node's processes waited for a CPU during a run (Linux PSI, stdlib).

``/proc/pressure/cpu`` counts the microseconds in which at least one runnable task waited
for a CPU ("some"). Its growth over LoadGen's window, divided by the window, is the share of
the run during which the host was oversubscribed: on a node whose device is emulated on
the host's own cores, that wait is time the "device" was not served::

    before = cpu_pressure_total()
    ...                                             # the LoadGen run
    waited = pressure_share(before, cpu_pressure_total(), seconds=12.5)   # 0.0 .. 1.0, or None

None where the kernel has no PSI (older kernels, other systems).
"""

from __future__ import annotations

PSI_CPU = "/proc/pressure/cpu"


def cpu_pressure_total(path: str = PSI_CPU) -> int | None:
    """The "some" total (µs) of ``/proc/pressure/cpu``, or None without PSI."""
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("some "):
                    fields = dict(item.split("=", 1) for item in line.split()[1:])
                    return int(fields["total"])
    except (OSError, ValueError, KeyError):
        return None
    return None


def pressure_share(before: int | None, after: int | None, seconds: float) -> float | None:
    """The share of ``seconds`` in which some task waited for a CPU (None when unknown)."""
    if before is None or after is None or seconds <= 0 or after < before:
        return None
    return round(min(1.0, (after - before) / 1e6 / seconds), 4)

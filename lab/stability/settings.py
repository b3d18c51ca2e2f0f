"""What a soak needs to know, read from the certification profile (limits and durations are data).

Two clocks meet in a soak. **Wall** seconds are what the operator waits (the soak length,
the telemetry interval, the unreachable grace period). **Node** seconds are what the cards
live through: equal to wall seconds on a real node, wall × ``emulation.time_scale`` on an
emulated one, so thermal and fault dynamics unfold in seconds while the code path stays the
real one. Series are recorded on node time ``t``::

    settings = SoakSettings.from_profile(profile, node, duration=30.0)   # --lab-soak-duration 30s
    settings.node_seconds     # 1800.0 on a node emulated at 60x
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.errors import LabError
from lab.inventory.model import Node, Profile, Scalar


class SoakSettingError(LabError):
    """A soak setting (profile ``settings`` or an override) is not a positive number."""


@dataclass(frozen=True, slots=True)
class SoakSettings:
    """Durations and thresholds of one node's soak (see the module docstring for the two clocks)."""

    duration_s: float  # wall
    interval_s: float  # wall, between telemetry rounds
    time_scale: float  # node seconds per wall second
    window_s: float  # node, one throughput/latency window
    baseline_s: float  # node, the early part the throughput drift is measured against
    rolling_windows: int
    grace_s: float  # wall, how long a node may stay unreachable
    slowdown_celsius: float
    model: str = "resnet50"
    batch: int = 1

    @property
    def node_seconds(self) -> float:
        return self.duration_s * self.time_scale

    @classmethod
    def from_profile(cls, profile: Profile, node: Node, *, duration: float | None = None) -> SoakSettings:
        """Settings for ``node``; ``duration`` (wall seconds) overrides the profile's ``soak_seconds``.

        The window and the baseline shrink for short soaks so that there are always at least
        ten windows and the baseline is at most a quarter of the run.
        """
        scale = node.emulation.time_scale if node.emulated and node.emulation is not None else 1.0
        wall = duration if duration is not None else _number(profile, "soak_seconds", 86400.0) / scale
        if wall <= 0:
            raise SoakSettingError(f"soak duration must be positive, got {wall:g} s")
        node_seconds = wall * scale
        window = min(_number(profile, "soak_window_seconds", 60.0), node_seconds / 10)
        baseline = max(window, min(_number(profile, "throughput_baseline_seconds", 600.0), node_seconds / 4))
        return cls(
            duration_s=wall,
            interval_s=_number(profile, "telemetry_interval_seconds", 1.0),
            time_scale=scale,
            window_s=window,
            baseline_s=baseline,
            rolling_windows=max(1, int(_number(profile, "soak_rolling_windows", 3.0))),
            grace_s=_number(profile, "soak_unreachable_grace_seconds", 300.0),
            slowdown_celsius=_number(profile, "slowdown_temperature_celsius", 85.0),
        )


def profile_number(profile: Profile, key: str, default: float) -> float:
    """``profile.settings[key]`` as a positive number (``InventoryError`` naming the key otherwise)."""
    return _number(profile, key, default)


def _number(profile: Profile, key: str, default: float) -> float:
    value: Scalar = profile.settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SoakSettingError(
            f"profile {profile.name}: settings.{key} must be a positive number, got {value!r}"
        )
    return float(value)

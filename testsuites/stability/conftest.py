"""Fixtures of the stability suite.

``--lab-soak-duration 30s`` shortens the soak (the profile's ``soak_seconds`` is the 24 h
burn-in gate); a shortened soak is recorded with the property ``short_soak: true``, never
silently.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.criteria import Measurement, Outcome
from lab.errors import CriterionFailed
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, LabDevice, LabNode
from lab.pytest_plugin.session import LabSession
from lab.stability.cards import Card, node_cards
from lab.stability.settings import SoakSettings

Record = Callable[..., None]


@pytest.fixture
def soak_settings(request: pytest.FixtureRequest, lab: LabSession, node: LabNode) -> SoakSettings:
    """The soak's settings for the node under test (``--lab-soak-duration`` applied)."""
    settings = SoakSettings.from_profile(node.profile, node.node, duration=lab.options.soak_duration)
    profile_seconds = node.profile.settings.get("soak_seconds")
    if isinstance(profile_seconds, int | float) and settings.node_seconds < float(profile_seconds):
        request.node.user_properties.append(("short_soak", True))
    request.node.user_properties.append(("soak_wall_seconds", settings.duration_s))
    request.node.user_properties.append(("soak_node_seconds", settings.node_seconds))
    request.node.user_properties.append(("time_scale", settings.time_scale))
    return settings


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Record:
    """Record measurements judged by ``lab.stability`` (their reasons name the first violation
    and the evidence sample); raises ``CriterionFailed`` listing every FAIL among them."""
    measurements: list[Measurement] = request.node.stash.setdefault(MEASUREMENTS_KEY, [])

    def add(*judged: Measurement) -> None:
        measurements.extend(judged)
        broken = [m for m in judged if m.verdict is Outcome.FAIL]
        if broken:
            raise CriterionFailed("; ".join(f"{m.name}: {m.reason}" for m in broken))

    return add


@pytest.fixture
def card(device: LabDevice) -> Card:
    """The card under test, as ``lab.stability`` addresses it."""
    for candidate in node_cards(device.node, device.lab_node.catalog):
        if candidate.index == device.index:
            return candidate
    raise pytest.UsageError(f"{device.node.name}: no card {device.index} (a plugin bug)")

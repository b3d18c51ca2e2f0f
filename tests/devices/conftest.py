"""Fixtures for the device adapter tests."""

from __future__ import annotations

import pytest

from lab.transport.fake import FakeTransport


@pytest.fixture
def fake() -> FakeTransport:
    """A scripted transport: unscripted commands answer 127 "command not found"."""
    return FakeTransport("node-under-test")

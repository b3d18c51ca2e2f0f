"""Hooks the plugin offers to conftest files and other plugins."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lab.inventory import Node
    from lab.transport.base import Transport


@pytest.hookspec(firstresult=True)
def pytest_lab_make_transport(node: Node) -> Transport | None:
    """Return the transport for ``node``, or None for the default (``SSHTransport``).

    Unit tests of suites use it to hand out a ``FakeTransport``::

        def pytest_lab_make_transport(node):
            return scripted_fakes[node.name]
    """

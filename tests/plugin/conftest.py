"""Fixtures for testing the lab pytest plugin with pytester and FakeTransport (no hosts)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]

PROFILE = """\
name: plugin-test
version: "0.1"
description: criteria for the plugin's own tests
criteria:
  temperature:
    axis: stability
    unit: "°C"
    max: 85
    marginal: 0.05
    description: die temperature
  firmware-version:
    axis: compatibility
    unit: match
    expected: true
    description: firmware as pinned
"""

INVENTORY = """\
version: 1
name: plugin-test
catalog: {catalog}
profiles: profiles
defaults:
  emulated: true
  user: lab
  profile: plugin-test
nodes:
  - name: alpha
    operator: kt-cloud
    accelerators: [{{model: atom-plus, count: 2}}]
    expected: {{firmware: 3.0.0}}
  - name: beta
    operator: nhn-cloud
    accelerators: [{{model: rngd, count: 1}}]
  - name: gamma
    operator: naver-cloud
    accelerators: [{{model: h100-pcie, count: 1}}]
"""


@pytest.fixture
def lab_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder with a three-node inventory and a small profile."""
    (pytester.path / "profiles").mkdir()
    (pytester.path / "profiles" / "plugin-test.yaml").write_text(PROFILE, encoding="utf-8")
    catalog = REPOSITORY / "inventory" / "devices.yaml"
    (pytester.path / "inventory.yaml").write_text(INVENTORY.format(catalog=catalog), encoding="utf-8")
    return pytester


def write_fake_conftest(pytester: pytest.Pytester, body: str) -> None:
    """A conftest whose ``pytest_lab_make_transport`` hands out FakeTransports scripted by ``body``.

    ``body`` is the inside of ``script(fake, node)``.
    """
    source = "from lab.transport.fake import FakeTransport\n\n\ndef script(fake, node):\n"
    source += textwrap.indent(textwrap.dedent(body), "    ") + "\n"
    source += textwrap.dedent(
        """
        def pytest_lab_make_transport(node):
            fake = FakeTransport(node.name)
            script(fake, node)
            return fake
        """
    )
    pytester.makeconftest(source)

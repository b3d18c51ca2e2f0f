"""The lab's pytest plugin, registered through the ``pytest11`` entry point.

Options are all prefixed ``--lab-``. This first part only provides the inventory; the
node/device fixtures and the results record arrive with the suites.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lab", "kcloud-lab certification")
    group.addoption(
        "--lab-inventory",
        action="append",
        default=[],
        metavar="PATH",
        help="inventory YAML file (repeatable); default: the emulated test-bed",
    )
    group.addoption(
        "--lab-select",
        default=None,
        metavar="EXPR",
        help="node selection expression, e.g. 'vendor=rebellions and operator=kt-cloud'",
    )

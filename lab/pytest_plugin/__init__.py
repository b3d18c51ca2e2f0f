"""The lab's pytest plugin, registered through the ``pytest11`` entry point.

It turns an inventory into parametrized tests and a trustworthy results folder::

    pytest testsuites/functional --lab-inventory testbed/inventory.yaml -n 4

* options (all ``--lab-*``): :mod:`lab.pytest_plugin.options`
* fixtures ``lab``, ``node``, ``device``, ``criteria``, ``measure``: :mod:`lab.pytest_plugin.fixtures`
* secrets masked in failure text, the ``lab_secret`` fixture: :mod:`lab.pytest_plugin.masking`
* parametrization over nodes/devices and requirement markers: :mod:`lab.pytest_plugin.parametrize`
* outcomes, the results record, JUnit and Allure: :mod:`lab.pytest_plugin.recording`
* the health gate and quarantine (``--lab-gate``): :mod:`lab.pytest_plugin.gate`
* a CI timeout's SIGTERM stops the run as Ctrl-C does: :mod:`lab.pytest_plugin.interrupt`
"""

from __future__ import annotations

from lab.pytest_plugin.fixtures import criteria, device, lab, lab_target, measure, node
from lab.pytest_plugin.options import pytest_addoption
from lab.pytest_plugin.parametrize import (
    pytest_collection_finish,
    pytest_collection_modifyitems,
    pytest_generate_tests,
)
from lab.pytest_plugin.recording import (
    pytest_addhooks,
    pytest_cmdline_main,
    pytest_configure,
    pytest_configure_node,
    pytest_report_teststatus,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
)

__all__ = [
    "criteria",
    "device",
    "lab",
    "lab_target",
    "measure",
    "node",
    "pytest_addhooks",
    "pytest_addoption",
    "pytest_cmdline_main",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_generate_tests",
    "pytest_report_teststatus",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]

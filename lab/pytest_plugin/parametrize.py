"""Parametrize lab tests over the selected nodes and devices; apply requirement markers.

A test that asks for the ``node`` fixture runs once per selected node; one that asks for
``device`` runs once per accelerator card, with readable ids such as
``test_pcie_link[kt-rbln-07:rbln2]``. Requirements are declared with markers, and a
node that cannot run a test gets SKIP with the reason, never FAIL::

    @pytest.mark.lab_vendor("rebellions", "nvidia")
    @pytest.mark.lab_feature("management-daemon")
    @pytest.mark.lab_devices(minimum=2)
    def test_scaling(node): ...

All tests of one node carry ``xdist_group(node name)``, so with ``-n N`` (the plugin sets
``--dist loadgroup``) one worker owns a node: no two tests hit one device at once, while
different nodes run in parallel.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pytest

from lab.errors import LabError
from lab.pytest_plugin.session import LabSession, Target

TARGET_ARGUMENT = "lab_target"
_LAB_FIXTURES = ("node", "device", "criteria", "measure")

MARKERS = {
    "lab_vendor": "lab_vendor(*vendors): run only on nodes whose accelerators come from these vendors",
    "lab_feature": (
        "lab_feature(*features): run only where the device adapter offers these features "
        "(management-daemon, reset, workload); a per-node test needs them on any card of the node"
    ),
    "lab_devices": "lab_devices(minimum=N): run only on nodes with at least N accelerator cards",
}
# The plugin marks every lab test with it; registered here too so `-p no:xdist` keeps working.
XDIST_GROUP_MARKER = "xdist_group(name): tests of one group run in the same xdist worker"


def register_markers(config: pytest.Config) -> None:
    for text in (*MARKERS.values(), XDIST_GROUP_MARKER):
        config.addinivalue_line("markers", text)


def _uses_lab_fixture(metafunc: pytest.Metafunc, name: str) -> bool:
    """True when ``name`` is requested and resolves to this plugin's fixture (not a local one)."""
    if name not in metafunc.fixturenames:
        return False
    definitions = metafunc._arg2fixturedefs.get(name)  # the only way to see which fixture wins
    if not definitions:
        return False
    return definitions[-1].func.__module__ == "lab.pytest_plugin.fixtures"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    wants_device = _uses_lab_fixture(metafunc, "device")
    wants_node = wants_device or any(_uses_lab_fixture(metafunc, name) for name in _LAB_FIXTURES)
    if not wants_node:
        return
    session = LabSession.of(metafunc.config)
    targets: list[Target] = list(session.device_targets() if wants_device else session.node_targets())
    metafunc.fixturenames.append(TARGET_ARGUMENT)
    metafunc.parametrize(
        TARGET_ARGUMENT,
        targets,
        ids=[target.test_id for target in targets],
        indirect=True,
        scope="function",
    )


@pytest.hookimpl(tryfirst=True)  # xdist reads xdist_group marks in its own modifyitems
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    for item in items:
        target = _target_of(item)
        if target is None:
            continue
        item.add_marker(pytest.mark.xdist_group(name=target.node_name))
        reason = LabSession.of(config).unmet_requirement(target, _requirements(item))
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note the lab tests that will run (after -k/-m deselection): never-finished ones become INCOMPLETE."""
    lab_items = [item.nodeid for item in session.items if _target_of(item) is not None]
    if lab_items or session.config.getoption("lab_shard", None) or _sharded_by_environment():
        # an empty shard (more shards than nodes) still leaves a run directory for the merge
        LabSession.of(session.config).note_collected(lab_items)


def _sharded_by_environment() -> bool:
    from lab.inventory.shard import shard_from_env

    try:
        return shard_from_env(os.environ) is not None
    except LabError:
        return True  # let the session report the malformed variable as a usage error


def _target_of(item: pytest.Item) -> Target | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    target = callspec.params.get(TARGET_ARGUMENT)
    return target if isinstance(target, Target) else None


def _requirements(item: pytest.Item) -> Iterable[pytest.Mark]:
    for name in MARKERS:
        yield from item.iter_markers(name)

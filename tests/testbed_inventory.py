"""The inventory of an emulated test-bed that an integration test starts: one shared header, the
test's own nodes.

::

    INVENTORY = emulated_inventory("gate-test", NODES)     # NODES: the test's 'nodes:' (or 'sites:')
    with started_testbed(INVENTORY, directory) as testbed:  # directory/inventory.yaml, up … down
        run_suite(testbed.resolved_inventory)

The header is what every such test wrote by hand: the repository's device catalog and profiles
(or a test's own profiles folder), emulated nodes reached as ``lab`` and judged by
``kcloud-npu-v1``, a 5 s connect and a per-test command timeout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lab.emulator.testbed.launcher import UpResult, down, up

REPOSITORY = Path(__file__).resolve().parents[1]


def emulated_inventory(
    name: str,
    body: str,
    *,
    command_timeout: int | None = 30,
    profiles: Path | None = None,
    defaults: Mapping[str, str] | None = None,
) -> str:
    """The YAML of an emulated lab named ``name``: the shared header, then ``body`` as written.

    ``defaults`` adds keys to the ``defaults`` section, each value a YAML flow value
    (``{"operator": "kt-cloud"}``); ``profiles`` replaces the repository's profiles folder;
    ``command_timeout=None`` leaves the lab's default timeouts.
    """
    settings = dict(defaults or {})
    if command_timeout is not None:
        settings = {"timeouts": f"{{connect: 5, command: {command_timeout}}}", **settings}
    extra = "".join(f"  {key}: {value}\n" for key, value in settings.items())
    return (
        f"version: 1\nname: {name}\n"
        f"catalog: {REPOSITORY / 'inventory' / 'devices.yaml'}\n"
        f"profiles: {profiles or REPOSITORY / 'inventory' / 'profiles'}\n"
        f"defaults:\n  emulated: true\n  user: lab\n  profile: kcloud-npu-v1\n{extra}{body}"
    )


@contextmanager
def started_testbed(inventory_text: str, directory: Path) -> Iterator[UpResult]:
    """Write ``directory/inventory.yaml``, start its test-bed in ``directory/testbed``, stop it after."""
    inventory = directory / "inventory.yaml"
    inventory.write_text(inventory_text, encoding="utf-8")
    testbed = up(inventory, directory / "testbed")
    try:
        yield testbed
    finally:
        down(directory / "testbed")

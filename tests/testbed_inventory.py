"""The inventory of an emulated test-bed that an integration test starts: one shared header, the
test's own nodes; and the CPU reference nodes behind real sshd servers that the LLM tests use
(``sshd_cpu_node``, ``write_real_inventory``, ``suite_command``).

::

    INVENTORY = emulated_inventory("gate-test", NODES)     # NODES: the test's 'nodes:' (or 'sites:')
    with started_testbed(INVENTORY, directory) as testbed:  # directory/inventory.yaml, up … down
        run_suite(testbed.resolved_inventory)

The header is what every such test wrote by hand: the repository's device catalog and profiles
(or a test's own profiles folder), emulated nodes reached as ``lab`` and judged by
``kcloud-npu-v1``, a 5 s connect and a per-test command timeout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lab.emulator.testbed.launcher import UpResult, down, up
from lab.transport.sshd import SshdServer

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


def sshd_cpu_node(
    name: str,
    server: SshdServer,
    serving: Mapping[str, object],
    *,
    labels: Mapping[str, str] | None = None,
    command_timeout: int = 120,
) -> str:
    """One CPU reference node behind a real sshd (``server``), in a ``nodes:`` list, serving an LLM
    endpoint (``serving``: the inventory's ``serving:`` keys; written as JSON, which YAML reads).

    Its agent runs with this interpreter (``perf-python``), so LoadGen is the one installed here.
    """
    node_labels = {"perf-python": sys.executable, **(labels or {})}
    return (
        f"  - name: {name}\n    operator: kt-cloud\n    profile: kcloud-npu-v1\n"
        f"    address: 127.0.0.1\n    port: {server.port}\n    user: root\n"
        f"    auth: {{key_file: {server.client_key_path}}}\n"
        f"    host_key: [{json.dumps(server.host_public_key)}]\n"
        "    accelerators: [{model: cpu-x86-64, count: 1}]\n"
        f"    labels: {json.dumps(node_labels)}\n"
        f"    timeouts: {{connect: 5, command: {command_timeout}}}\n"
        f"    serving: {json.dumps(serving)}\n"
    )


def write_real_inventory(path: Path, name: str, nodes: str, *, profiles: Path | None = None) -> Path:
    """Write a lab ``name`` of real (not emulated) ``nodes`` with the repository's catalog to ``path``."""
    path.write_text(
        f"version: 1\nname: {name}\ncatalog: {REPOSITORY / 'inventory' / 'devices.yaml'}\n"
        f"profiles: {profiles or REPOSITORY / 'inventory' / 'profiles'}\nnodes:\n{nodes}",
        encoding="utf-8",
    )
    return path


def suite_command(target: Path, inventory: Path, run_dir: Path, *extra: str) -> list[str]:
    """``python -m pytest TARGET`` against ``inventory``, 1 s LoadGen runs, results in ``run_dir``."""
    return [
        sys.executable, "-m", "pytest", str(target), "--lab-inventory", str(inventory),
        "--lab-run-dir", str(run_dir), "--lab-perf-duration", "1", "-p", "no:cacheprovider",
        "-p", "no:randomly", "-q", *extra,
    ]  # fmt: skip

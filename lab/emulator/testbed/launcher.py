"""``lab testbed up | status | down``: emulated nodes behind real OpenSSH servers.

::

    result = up(Path("inventory/emulated.yaml"), Path("testbed"))
    print(result.resolved_inventory)        # pytest ... --lab-inventory <this>
    for line in status(Path("testbed")).lines(): print(line)
    down(Path("testbed"))                   # stops exactly the pids it started

Layout of the test-bed directory::

    testbed.json              manifest: node → port, sshd pid, config (for status/down)
    client_ed25519(.pub)      the controller's key, authorized on every node
    known_hosts               [127.0.0.1]:PORT host keys (strict checking)
    inventory.yaml            the resolved inventory
    nodes/NAME/spec.json      emulator spec;  state.json  mutable state
    nodes/NAME/bin/           furiosa-smi, rbln-smi, nvidia-smi, npu-workload ... wrappers
    nodes/NAME/sshd/          sshd_config, host key, log, a private HOME with an empty .bashrc
    nodes/NAME/llm/           the node's emulated LLM endpoint when the inventory gives it a
                              ``serving:`` (config.json, port, server.log; lab.emulator.testbed.llm)
    nodes/NAME/bmc/           the node's Redfish BMC (sushy-tools) when the inventory gives it
                              a ``bmc:``: certificate, htpasswd, config, log (lab.emulator.bmc)
    bmc-password              generated BMC password (0600) when $LAB_TESTBED_BMC_PASSWORD
                              (or the node's bmc.password_env) is unset at ``up``

No root needed: sshd runs as the current user, who is also the SSH login user.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lab.emulator.bmc.launch import BmcProcess, bmc_command_marker, start_bmc
from lab.emulator.build import EmulatorConfigError, node_spec
from lab.emulator.defaults import NODE_DIR_ENV
from lab.emulator.exporter import EXPORTER_VENDORS, PORT_FILE
from lab.emulator.kcloud_exporter import PORT_ENV as KCLOUD_PORT_ENV
from lab.emulator.kcloud_exporter import PORT_FILE as KCLOUD_PORT_FILE
from lab.emulator.spec import NodeSpec
from lab.emulator.testbed.llm import (
    EndpointProcess,
    endpoint_config,
    is_endpoint,
    requested_port,
    start_endpoint,
)
from lab.emulator.testbed.manifest import Manifest, NodeProcess, TestbedError
from lab.emulator.testbed.nodes import lab_source_root, prepare_node_dir
from lab.emulator.testbed.processes import command_line, emulator_processes, is_testbed_sshd, stop_pids
from lab.emulator.testbed.resolved import write_resolved_inventory
from lab.inventory import load_inventory
from lab.inventory.model import Inventory, Node
from lab.transport.sshd import SshdServer, descendants, write_ed25519_keypair

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
EXPORTER_START_SECONDS = 15.0  # a loaded 2-core box starts Python + prometheus_client in well under this
START_WORKERS = 8  # sshd start-up is mostly waiting: a few threads overlap it


@dataclass
class UpResult:
    manifest: Manifest
    resolved_inventory: Path
    seconds: float
    stale_cleared: bool


def _host_key_line(public_line: str) -> str:
    return " ".join(public_line.split()[:2])  # drop the comment: "ssh-ed25519 AAAA..."


def _check_not_running(directory: Path) -> bool:
    """Refuse a second ``up`` over a live test-bed; True when a stale record was cleared."""
    manifest = Manifest.read(directory)
    if manifest is None:
        return False
    live = [node for node in manifest.nodes if is_testbed_sshd(node.pid, node.config)]
    if live:
        raise TestbedError(
            f"a test-bed is already running in {directory} ({len(live)} sshd, e.g. {live[0].name} "
            f"pid {live[0].pid} port {live[0].port}); run `lab testbed down --dir {directory}` first"
        )
    manifest.remove()
    return True


def _emulated_nodes(inventory: Inventory, source: Path) -> list[Node]:
    nodes = [node for node in inventory.nodes if node.emulated]
    if not nodes:
        raise EmulatorConfigError(f"{source} has no node with `emulated: true`: nothing to start")
    return nodes


def _start_exporter(node_dir: Path, spec: NodeSpec) -> int | None:
    """Start the node's vendor exporter (``lab.emulator.exporter``); its port, or None without one.

    It carries the node-dir marker in its environment, so ``down`` stops it with the node's
    other emulator processes.
    """
    if not any(device.vendor in EXPORTER_VENDORS for device in spec.devices):
        return None
    port_file = node_dir / PORT_FILE
    port_file.unlink(missing_ok=True)
    (node_dir / KCLOUD_PORT_FILE).unlink(missing_ok=True)  # a stale one would name a dead port
    environment = {**os.environ, NODE_DIR_ENV: str(node_dir), "PYTHONPATH": lab_source_root()}
    with open(node_dir / "exporter.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lab.emulator.exporter"],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + EXPORTER_START_SECONDS
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text(encoding="utf-8"))
        if process.poll() is not None:
            break
        time.sleep(0.02)
    stop_pids([process.pid])
    raise TestbedError(
        f"{node_dir.name}: the emulated exporter did not start (see {node_dir / 'exporter.log'})"
    )


def _start_one(directory: Path, node: Node, spec: NodeSpec, client_key: Path) -> SshdServer:
    node_dir = (directory / "nodes" / node.name).resolve()
    bin_dir = prepare_node_dir(node_dir, spec)
    # SYSFS_PATH: the node's own sysfs tree (AER counters), written by its emulated kernel
    environment = {
        "PATH": f"{bin_dir}:{SYSTEM_PATH}",
        NODE_DIR_ENV: str(node_dir),
        "SYSFS_PATH": str(node_dir / "sys"),
    }
    exporter_port = _start_exporter(node_dir, spec)
    if exporter_port is not None:
        environment["LAB_EXPORTER_PORT"] = str(exporter_port)  # nodes share a host: each its own port
    kcloud_port = node_dir / KCLOUD_PORT_FILE  # written before exporter.port, on FuriosaAI nodes
    if exporter_port is not None and kcloud_port.exists():
        environment[KCLOUD_PORT_ENV] = kcloud_port.read_text(encoding="utf-8").strip()
    server = SshdServer(node_dir / "sshd", set_env=environment, client_key_path=client_key)
    try:
        return server.start()
    except RuntimeError as error:
        raise TestbedError(str(error)) from error


def _bmc_password(directory: Path, variable: str) -> str:
    """The BMC password: from ``$variable`` when set, else generated once into bmc-password (0600)."""
    value = os.environ.get(variable)
    if value:
        return value
    stored = directory / "bmc-password"
    if not stored.exists():
        stored.touch(mode=0o600)
        stored.write_text(secrets.token_urlsafe(18), encoding="utf-8")
    return stored.read_text(encoding="utf-8").strip()


def bmc_environment(directory: Path, inventory: Inventory) -> dict[str, str]:
    """The BMC password variables the test-bed's BMCs need that this environment lacks.

    For the environment of a child process (the campaign's pytest) when ``up`` generated the
    password into ``directory/bmc-password``; never printed::

        env = {**os.environ, **bmc_environment(Path("testbed"), inventory)}
    """
    stored = directory / "bmc-password"
    variables = {node.bmc.password_env for node in inventory.nodes if node.bmc is not None}
    missing = sorted(variable for variable in variables if not os.environ.get(variable))
    if not missing or not stored.is_file():
        return {}
    password = stored.read_text(encoding="utf-8").strip()
    return dict.fromkeys(missing, password)


def _start_bmc(directory: Path, node: Node, sshd: SshdServer) -> BmcProcess:
    assert node.bmc is not None
    node_dir = (directory / "nodes" / node.name).resolve()
    password = _bmc_password(directory, node.bmc.password_env)
    try:
        return start_bmc(
            node_dir,
            node.name,
            user=node.bmc.user,
            password=password,
            sshd_pid=sshd.pid or 0,
            sshd_config=str(sshd.config_path),
        )
    except RuntimeError as error:
        raise TestbedError(str(error)) from error


def _start_llm(directory: Path, node: Node, config: dict[str, object]) -> EndpointProcess:
    node_dir = (directory / "nodes" / node.name).resolve()
    return start_endpoint(node_dir, config, requested_port(node))


def up(inventory_path: Path, directory: Path) -> UpResult:
    """Start every emulated node of ``inventory_path`` under ``directory``; see the module docstring."""
    began = time.monotonic()
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    stale = _check_not_running(directory)
    inventory_path = inventory_path.resolve()
    inventory = load_inventory(inventory_path)
    nodes = _emulated_nodes(inventory, inventory_path)
    client_key = directory / "client_ed25519"
    if not client_key.exists():
        write_ed25519_keypair(client_key, "lab-testbed-controller")
    started = time.time()
    # Every spec is built (and every fault parameter checked) before any sshd starts.
    specs = {node.name: node_spec(node, inventory.catalog, started) for node in nodes}
    llm_configs = {
        node.name: endpoint_config(node, inventory.catalog) for node in nodes if node.serving is not None
    }
    servers: dict[str, SshdServer] = {}
    bmcs: dict[str, BmcProcess] = {}
    futures: dict[str, Future[SshdServer]] = {}
    bmc_futures: dict[str, Future[BmcProcess]] = {}
    llms: dict[str, EndpointProcess] = {}
    llm_futures: dict[str, Future[EndpointProcess]] = {}
    try:
        with ThreadPoolExecutor(max_workers=START_WORKERS) as pool:
            futures = {
                node.name: pool.submit(_start_one, directory, node, specs[node.name], client_key)
                for node in nodes
            }
            errors: list[str] = []
            for name, future in futures.items():
                try:
                    servers[name] = future.result()
                except Exception as error:  # collect every failure; the started servers are stopped below
                    errors.append(f"{name}: {error}")
            # after the node directories exist (the sshd start prepared them)
            bmc_futures = {
                node.name: pool.submit(_start_bmc, directory, node, servers[node.name])
                for node in nodes
                if node.bmc is not None and node.name in servers
            }
            for name, bmc_future in bmc_futures.items():
                try:
                    bmcs[name] = bmc_future.result()
                except Exception as error:
                    errors.append(f"{name} BMC: {error}")
            llm_futures = {
                name: pool.submit(_start_llm, directory, inventory.node(name), config)
                for name, config in llm_configs.items()
                if name in servers
            }
            for name, llm_future in llm_futures.items():
                try:
                    llms[name] = llm_future.result()
                except Exception as error:
                    errors.append(f"{name} LLM endpoint: {error}")
        if errors:
            raise TestbedError("could not start the test-bed:\n" + "\n".join(errors))
        manifest = _write_outputs(
            inventory, inventory_path, directory, nodes, servers, client_key, started, bmcs, llms
        )
    except BaseException:
        # Ctrl-C while collecting: the pool has finished every start by now (its exit waits),
        # so servers not yet collected are stopped too, never orphaned
        for future in futures.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().stop()
        for server in servers.values():
            server.stop()
        stop_pids(emulator_processes(str(directory / "nodes")))  # exporters of nodes that started
        started_bmcs = [f.result().pid for f in bmc_futures.values() if f.done() and f.exception() is None]
        stop_pids(started_bmcs)
        stop_pids([f.result().pid for f in llm_futures.values() if f.done() and f.exception() is None])
        raise
    return UpResult(manifest, Path(manifest.resolved_inventory), time.monotonic() - began, stale)


def _write_outputs(
    inventory: Inventory,
    source: Path,
    directory: Path,
    nodes: list[Node],
    servers: dict[str, SshdServer],
    client_key: Path,
    started: float,
    bmcs: dict[str, BmcProcess] | None = None,
    llms: dict[str, EndpointProcess] | None = None,
) -> Manifest:
    host_keys = {name: _host_key_line(server.host_public_key) for name, server in servers.items()}
    ports = {name: server.port for name, server in servers.items()}
    known_hosts = directory / "known_hosts"
    known_hosts.write_text(
        "".join(f"[127.0.0.1]:{ports[node.name]} {host_keys[node.name]}\n" for node in nodes),
        encoding="utf-8",
    )
    bmcs = bmcs or {}
    llms = llms or {}
    resolved = write_resolved_inventory(
        inventory,
        source,
        nodes,
        ports,
        host_keys,
        client_key,
        directory / "inventory.yaml",
        bmcs,
        {name: llm.port for name, llm in llms.items()},
    )
    manifest = Manifest(
        directory=str(directory),
        inventory=str(source),
        resolved_inventory=str(resolved),
        client_key=str(client_key),
        known_hosts=str(known_hosts),
        started_at=started,
        nodes=[
            NodeProcess(
                name=node.name,
                port=ports[node.name],
                pid=servers[node.name].pid or 0,
                config=str(servers[node.name].config_path),
                node_dir=str((directory / "nodes" / node.name).resolve()),
                host_key=host_keys[node.name],
                bmc_pid=bmcs[node.name].pid if node.name in bmcs else 0,
                bmc_port=bmcs[node.name].port if node.name in bmcs else 0,
                bmc_fingerprint=bmcs[node.name].fingerprint if node.name in bmcs else "",
                llm_pid=llms[node.name].pid if node.name in llms else 0,
                llm_port=llms[node.name].port if node.name in llms else 0,
            )
            for node in nodes
        ],
    )
    manifest.write()
    load_inventory(resolved)  # proves the written file is a valid inventory
    return manifest


# --- status -------------------------------------------------------------------------------


@dataclass
class NodeStatus:
    name: str
    port: int
    pid: int
    running: bool
    answers: bool


@dataclass
class StatusResult:
    directory: Path
    nodes: list[NodeStatus]

    @property
    def healthy(self) -> bool:
        return bool(self.nodes) and all(node.running and node.answers for node in self.nodes)

    def lines(self) -> list[str]:
        width = max([len(node.name) for node in self.nodes] + [4])
        out = [f"{'NODE'.ljust(width)}  PORT   PID      STATE"]
        for node in self.nodes:
            state = "up" if node.running and node.answers else ("not answering" if node.running else "down")
            out.append(f"{node.name.ljust(width)}  {node.port:<5}  {node.pid:<7}  {state}")
        return out


def ssh_banner(port: int, timeout: float = 2.0) -> bool:
    """Whether 127.0.0.1:``port`` answers with an SSH identification string."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            return connection.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def status(directory: Path) -> StatusResult:
    """Which nodes of the test-bed in ``directory`` run and answer SSH."""
    manifest = Manifest.read(directory.resolve())
    if manifest is None:
        raise TestbedError(f"no test-bed in {directory} (start one with `lab testbed up --dir {directory}`)")
    nodes = []
    for node in manifest.nodes:
        running = is_testbed_sshd(node.pid, node.config)
        nodes.append(NodeStatus(node.name, node.port, node.pid, running, running and ssh_banner(node.port)))
    return StatusResult(directory, nodes)


# --- down ---------------------------------------------------------------------------------


@dataclass
class DownResult:
    stopped: list[int]
    stragglers: list[int]  # emulator processes outside any sshd (background workloads)
    survivors: list[int]


def down(directory: Path) -> DownResult:
    """Stop the sshd processes, their sessions and emulator processes of this test-bed, by pid."""
    directory = directory.resolve()
    manifest = Manifest.read(directory)
    if manifest is None:
        raise TestbedError(f"no test-bed in {directory}: nothing to stop")
    sshd_pids = [node.pid for node in manifest.nodes if is_testbed_sshd(node.pid, node.config)]
    bmc_pids = [
        node.bmc_pid
        for node in manifest.nodes
        if node.bmc_pid and bmc_command_marker(node.node_dir) in command_line(node.bmc_pid)
    ]
    llm_pids = [
        node.llm_pid for node in manifest.nodes if node.llm_pid and is_endpoint(node.llm_pid, node.node_dir)
    ]
    sessions = [child for pid in sshd_pids for child in descendants(pid)]
    outside = [
        pid
        for pid in emulator_processes(str(directory / "nodes"))
        if pid not in sessions and pid not in sshd_pids and pid not in bmc_pids and pid not in llm_pids
    ]
    exporters = [pid for pid in outside if "lab.emulator.exporter" in command_line(pid)]  # started by up()
    stragglers = [pid for pid in outside if pid not in exporters]
    survivors = stop_pids([*bmc_pids, *llm_pids, *sessions, *stragglers, *exporters, *sshd_pids])
    if survivors:
        raise TestbedError(f"could not stop pids {survivors}; the test-bed record in {directory} is kept")
    manifest.remove()
    return DownResult(sshd_pids, stragglers, survivors)

"""Integration: each emulated node's Redfish BMC (sushy-tools) read through the sushy client.

Real parts only: ``lab testbed up`` starts real sshd and sushy-tools processes; the client
talks HTTPS with the pinned certificate; the cards' power is read back through the node's
own vendor tool over SSH, so the wall figure is checked against what the cards report.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.emulator.bmc.power import PLATFORM_BASE_WATTS, PSU_EFFICIENCY
from lab.emulator.testbed.launcher import down, up
from lab.emulator.testbed.manifest import Manifest
from lab.emulator.testbed.processes import alive, command_line
from lab.errors import AuthenticationError, CertificateMismatch, CommandTimeout, UnreachableError
from lab.inventory import load_inventory
from lab.inventory.model import Inventory
from lab.performance.wall_power import WallPowerSampler
from lab.transport.redfish import RedfishClient
from tests.emulator.test_testbed import ssh

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "bmc-Pa55-word-7261"

INVENTORY = f"""\
version: 1
name: bmc-emulated
catalog: {REPO / "inventory" / "devices.yaml"}
profiles: {REPO / "inventory" / "profiles"}
defaults:
  emulated: true
  user: lab
nodes:
  - name: with-bmc
    operator: kt-cloud
    accelerators: [{{model: rngd, count: 2}}]
    bmc: {{user: admin, password_env: H17_TEST_BMC_PASSWORD, timeout: 5}}
  - name: without-bmc
    operator: kt-cloud
    accelerators: [{{model: rngd, count: 1}}]
  - name: frozen-bmc
    operator: kt-cloud
    accelerators: [{{model: rngd, count: 1}}]
    bmc: {{user: admin, password_env: H17_TEST_BMC_PASSWORD, timeout: 5}}
    emulation: {{faults: [{{kind: bmc-frozen-power}}]}}
  - name: hung-bmc
    operator: kt-cloud
    accelerators: [{{model: rngd, count: 1}}]
    bmc: {{user: admin, password_env: H17_TEST_BMC_PASSWORD, timeout: 1}}
    emulation: {{faults: [{{kind: bmc-timeout}}]}}
"""


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Manifest, Inventory]]:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("H17_TEST_BMC_PASSWORD", PASSWORD)
    root = tmp_path_factory.mktemp("bmc")
    source = root / "bmc.yaml"
    source.write_text(INVENTORY, encoding="utf-8")
    result = up(source, root / "testbed")
    try:
        yield result.manifest, load_inventory(result.resolved_inventory)
    finally:
        down(root / "testbed")
        monkeypatch.undo()


@pytest.mark.integration
def test_bmc_started_pinned_and_stopped_by_pid(testbed: tuple[Manifest, Inventory]) -> None:
    manifest, inventory = testbed
    node = inventory.node("with-bmc")
    assert node.bmc is not None and node.bmc.tls == "pinned"
    record = next(entry for entry in manifest.nodes if entry.name == "with-bmc")
    assert node.bmc.fingerprint == record.bmc_fingerprint and node.bmc.port == record.bmc_port
    assert alive(record.bmc_pid) and "lab.emulator.bmc.server" in command_line(record.bmc_pid)
    assert inventory.node("without-bmc").bmc is None
    assert next(entry for entry in manifest.nodes if entry.name == "without-bmc").bmc_pid == 0
    # the password is written nowhere: not in the resolved inventory, the manifest, the BMC's files
    written = [Path(manifest.resolved_inventory), Path(manifest.directory) / "testbed.json"]
    written += [path for path in (Path(record.node_dir) / "bmc").rglob("*") if path.is_file()]
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path


@pytest.mark.integration
def test_wall_power_follows_the_cards_the_node_reports(testbed: tuple[Manifest, Inventory]) -> None:
    manifest, inventory = testbed
    node = inventory.node("with-bmc")
    assert node.bmc is not None
    with RedfishClient(node.bmc, node=node.name) as bmc:
        reading = bmc.power()
        assert bmc.power_state() == "On"
        thermal = bmc.thermal()
    assert reading.source.startswith("redfish:/redfish/v1/Chassis/") and reading.tls == "pinned"
    cards = ssh(manifest, node.port, "furiosa-smi info --format json")
    if cards.returncode != 0:  # older furiosa-smi output: the table's Power column
        cards = ssh(manifest, node.port, "furiosa-smi info")
        powers = [float(line.split("|")[5].split()[0]) for line in cards.stdout.splitlines()[3:-1]]
    else:
        powers = [float(device["power"]) for device in json.loads(cards.stdout)]
    assert len(powers) == 2
    expected = (sum(powers) + PLATFORM_BASE_WATTS) / PSU_EFFICIENCY
    assert reading.watts == pytest.approx(expected, rel=0.02)  # card noise ±1 %, read at two instants
    assert thermal.fans and thermal.temperatures


@pytest.mark.integration
def test_a_session_client_connects_once_for_many_windows(testbed: tuple[Manifest, Inventory]) -> None:
    """A performance session samples dozens of LoadGen runs: with its own client passed in,
    the samplers neither reconnect nor resolve the Power path again, and leave it open."""
    manifest, inventory = testbed
    node = inventory.node("with-bmc")
    assert node.bmc is not None
    record = next(entry for entry in manifest.nodes if entry.name == "with-bmc")
    log = Path(record.node_dir) / "bmc" / "bmc.log"

    def requests_since(offset: int) -> list[str]:
        text = log.read_text(encoding="utf-8", errors="replace")[offset:]
        return [line.split('"')[1].split()[1] for line in text.splitlines() if '"GET ' in line]

    start = len(log.read_text(encoding="utf-8", errors="replace"))
    client = RedfishClient(node.bmc, node=node.name)
    try:
        for _ in range(3):
            with WallPowerSampler(node, interval_s=0.2, client=client) as sampler:
                time.sleep(0.3)
            assert len(sampler.series().watts) >= 2 and sampler.error is None
            assert client._root is not None  # left open for its owner
    finally:
        client.close()
    paths = requests_since(start)
    assert paths.count("/redfish/v1/") == 1, paths  # one connection (service root) for three windows
    assert paths.count("/redfish/v1/Chassis") == 1, paths  # the Power path resolved once
    assert len([p for p in paths if p.endswith("/Power")]) >= 6, paths


@pytest.mark.integration
def test_wrong_pin_wrong_password_unset_variable_are_infrastructure_errors(
    testbed: tuple[Manifest, Inventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, inventory = testbed
    node = inventory.node("with-bmc")
    assert node.bmc is not None
    wrong_pin = dataclasses.replace(node.bmc, fingerprint="00" * 32)
    with pytest.raises(CertificateMismatch, match="not the one pinned"):
        RedfishClient(wrong_pin, node=node.name).open()
    with pytest.raises(AuthenticationError, match="refused the credentials") as refused:
        RedfishClient(node.bmc, node=node.name, password="not-it").open().power()
    assert "not-it" not in str(refused.value)
    monkeypatch.delenv("H17_TEST_BMC_PASSWORD")
    with pytest.raises(AuthenticationError, match=r"\$H17_TEST_BMC_PASSWORD is not set"):
        RedfishClient(node.bmc, node=node.name)


def test_unreachable_and_silent_bmcs_end_within_the_deadline(testbed: tuple[Manifest, Inventory]) -> None:
    _, inventory = testbed
    node = inventory.node("with-bmc")
    assert node.bmc is not None
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(UnreachableError):
        RedfishClient(dataclasses.replace(node.bmc, port=closed), node=node.name).open()
    # a BMC that accepts the connection and never answers (a hung web server)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        silent = dataclasses.replace(node.bmc, port=listener.getsockname()[1], timeout=1.0)
        began = time.monotonic()
        with pytest.raises(CommandTimeout, match="no answer within 1 s"):
            RedfishClient(silent, node=node.name).open()
        assert time.monotonic() - began < 5.0
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for connection in accepted:
            connection.close()


@pytest.mark.integration
def test_bmc_faults_frozen_reading_and_timeout(testbed: tuple[Manifest, Inventory]) -> None:
    """A frozen sensor keeps its value while the cards' load changes (the suite then says
    ERROR: frozen); a wedged BMC ends in CommandTimeout within the inventory's deadline."""
    manifest, inventory = testbed
    frozen = inventory.node("frozen-bmc")
    assert frozen.bmc is not None
    with RedfishClient(frozen.bmc, node=frozen.name) as bmc:
        idle = bmc.power().watts
        load = ssh(
            manifest, frozen.port, "npu-workload run --device 0 --model resnet50 --batch 8 --seconds 2"
        )
        assert load.returncode == 0, load.stderr
        assert bmc.power().watts == idle  # the card was busy: a live sensor would have moved
    hung = inventory.node("hung-bmc")
    assert hung.bmc is not None
    began = time.monotonic()
    with pytest.raises(CommandTimeout, match="no answer within 1 s"):
        RedfishClient(hung.bmc, node=hung.name).open().power()
    assert time.monotonic() - began < 5.0


@pytest.mark.integration
def test_emulated_bmc_passes_sushys_schema_checks(testbed: tuple[Manifest, Inventory]) -> None:
    """Walk the emulated Redfish tree with sushy's resource models: each resource is parsed
    into declared fields and a missing required one (Id, Name, PowerControl...) raises.

    Why not DMTF's Redfish-Service-Validator (on PyPI): it validates against the DSP8010 CSDL
    schemas, which it downloads from dmtf.org or reads from the service's ``$metadata``;
    sushy-tools serves no ``$metadata`` and the lab's machines reach only package registries,
    so it cannot run offline. sushy's parsing is what the lab itself depends on; DSP0266's
    payload rules are checked on the raw documents besides."""
    import sushy

    from lab.transport.redfish import _power_resource

    _, inventory = testbed
    node = inventory.node("with-bmc")
    assert node.bmc is not None
    client = RedfishClient(node.bmc, node=node.name).open()
    try:
        root = client._root
        assert isinstance(root, sushy.Sushy) and root.redfish_version
        systems = root.get_system_collection()
        (system_path,) = systems.members_identities
        system = root.get_system(system_path)
        assert system.identity and system.power_state is sushy.PowerState.ON
        assert sushy.ResetType.FORCE_RESTART in system.get_allowed_reset_system_values()
        (chassis_path,) = root.get_chassis_collection().members_identities
        chassis = root.get_chassis(chassis_path)
        assert [sensor.identity for sensor in chassis.thermal.temperatures]  # MemberId is required
        power = _power_resource(root, f"{chassis_path}/Power")
        assert power.identity == "Power" and power.power_control[0].power_consumed_watts > 0
        managers = root.get_manager_collection().get_members()
        assert managers and all(manager.identity for manager in managers)
        fans = chassis.thermal.fans
        assert fans and all(fan.reading is not None and fan.reading_units for fan in fans)
        # DSP0266's payload rules for every resource the lab reads: @odata.id is where it was read,
        # @odata.type a versioned schema type (collections: unversioned), Id and Name present
        read = ["/redfish/v1/", systems.path, system_path, root.get_chassis_collection().path, chassis_path]
        read += [f"{chassis_path}/Power", f"{chassis_path}/Thermal"]
        for path in read:
            document = root._conn.get(path).json()
            assert document["@odata.id"].rstrip("/") == path.rstrip("/"), path
            kind = document["@odata.type"]
            if kind.endswith("Collection"):  # collections are unversioned: #XCollection.XCollection
                assert re.fullmatch(r"#(\w+Collection)\.\1", kind), kind
                assert document["Name"] and document["Members@odata.count"] == len(document["Members"])
            else:
                assert re.fullmatch(r"#\w+\.v\d+_\d+_\d+\.\w+", kind), kind
                assert document["Id"] and document["Name"], path
        for control in root._conn.get(f"{chassis_path}/Power").json()["PowerControl"]:
            assert control["MemberId"] and control["@odata.id"].startswith(f"{chassis_path}/Power#/")
    finally:
        client.close()


@pytest.mark.integration
def test_fans_follow_the_cards_and_intake_the_ambient(testbed: tuple[Manifest, Inventory]) -> None:
    manifest, inventory = testbed
    node = inventory.node("with-bmc")
    assert node.bmc is not None
    with RedfishClient(node.bmc, node=node.name) as bmc:
        idle = bmc.thermal()
        started = ssh(
            manifest, node.port, "nohup npu-workload run --device 0 --model resnet50 --batch 8 --seconds 3 "
            ">/dev/null 2>&1 </dev/null & sleep 1.5; echo ok"
        )  # fmt: skip
        assert started.stdout.strip() == "ok", started.stderr
        loaded = bmc.thermal()
    assert idle.temperatures["Chassis Intake Temp"] == 25.0  # the node's ambient (default 25 °C)
    assert loaded.fans["BaseBoard System Fan"] > idle.fans["BaseBoard System Fan"], (idle.fans, loaded.fans)

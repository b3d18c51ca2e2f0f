"""Integration: `lab testbed up|status|down` with real sshd processes and plain OpenSSH."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.emulator.testbed.launcher import _check_not_running
from lab.emulator.testbed.manifest import Manifest, NodeProcess, TestbedError
from lab.emulator.testbed.processes import alive, emulator_processes
from lab.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]

INVENTORY = """\
version: 1
name: tiny-emulated
catalog: {catalog}
profiles: {profiles}
defaults:
  emulated: true
  user: lab
nodes:
  - name: tiny-rngd-01
    operator: naver-cloud
    accelerators: [{{model: rngd, count: 2}}]
    expected: {{firmware: 0.0.15+af1daaa, pcie: Gen5 x16}}
    emulation:
      seed: 11
      faults:
        - {{kind: fell-off-bus, device: 1}}
  - name: tiny-rbln-01
    operator: kt-cloud
    accelerators: [{{model: atom-plus, count: 1}}]
    expected: {{driver: 3.0.0, firmware: 3.0.0}}
    emulation:
      seed: 12
      faults:
        - {{kind: wrong-firmware, device: 0, parameters: {{version: 2.9.1}}}}
  - name: tiny-h100-01
    operator: nhn-cloud
    accelerators: [{{model: h100-pcie, count: 1}}]
    emulation: {{seed: 13}}
"""


def lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", "testbed", *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def ssh(manifest: Manifest, port: int, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "ssh",
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={manifest.known_hosts}",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-i",
            manifest.client_key,
            "-p",
            str(port),
            "127.0.0.1",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_dead(pids: list[int], deadline: float = 10.0) -> list[int]:
    end = time.monotonic() + deadline
    while time.monotonic() < end and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


@pytest.mark.integration
def test_testbed_up_ssh_faults_status_down(tmp_path: Path) -> None:
    inventory = tmp_path / "tiny.yaml"
    inventory.write_text(
        INVENTORY.format(
            catalog=REPO / "inventory" / "devices.yaml", profiles=REPO / "inventory" / "profiles"
        )
    )
    directory = tmp_path / "testbed"
    started = lab("up", "--inventory", str(inventory), "--dir", str(directory))
    assert started.returncode == 0, started.stderr
    manifest = Manifest.read(directory)
    assert manifest is not None
    pids = [node.pid for node in manifest.nodes]
    try:
        resolved = Path(started.stdout.strip().splitlines()[-1])
        loaded = load_inventory(resolved)
        assert [node.name for node in loaded.nodes] == ["tiny-rngd-01", "tiny-rbln-01", "tiny-h100-01"]
        assert all(node.address == "127.0.0.1" and node.host_key.pinned for node in loaded.nodes)
        rngd = loaded.node("tiny-rngd-01")
        assert rngd.emulation is not None and rngd.emulation.seed == 11
        assert [(f.kind, f.device) for f in rngd.emulation.faults] == [("fell-off-bus", 1)]
        assert loaded.node("tiny-rbln-01").expected.driver == "3.0.0"
        ports = {node.name: node.port for node in loaded.nodes}

        table = ssh(manifest, ports["tiny-rngd-01"], "furiosa-smi info")
        assert table.returncode == 0, table.stderr
        lines = table.stdout.splitlines()
        assert lines[1] == "| Arch | Device | Firmware       | Temp.   | Power   | PCI-BDF      |"
        assert re.fullmatch(
            r"\| rngd \| npu0   \| 0\.0\.15\+af1daaa \| \d\d\.\d\d°C \| \d+\.\d\d W \| 0000:17:00\.0 \|",
            lines[3],
        )
        assert len(lines) == 5  # npu1 fell off the bus: missing, as on real hardware

        rbln = ssh(manifest, ports["tiny-rbln-01"], "rbln-smi --json")
        assert json.loads(rbln.stdout)["devices"][0]["fw_ver"] == "2.9.1"  # wrong-firmware visible
        assert ssh(manifest, ports["tiny-rbln-01"], "systemctl is-active rbln-smd").stdout == "active\n"
        gpu = ssh(
            manifest,
            ports["tiny-h100-01"],
            "nvidia-smi --query-gpu=name,pcie.link.gen.gpucurrent --format=csv,noheader",
        )
        assert gpu.stdout == "NVIDIA H100 PCIe, 5\n"

        # a foreign host key is refused under strict checking
        other = tmp_path / "other_known_hosts"
        other.write_text(
            Path(manifest.known_hosts)
            .read_text()
            .replace(f"[127.0.0.1]:{ports['tiny-h100-01']} ", "[127.0.0.1]:1 ")
        )
        refused = subprocess.run(
            [
                "ssh",
                "-F",
                "/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={other}",
                "-o",
                "BatchMode=yes",
                "-i",
                manifest.client_key,
                "-p",
                str(ports["tiny-h100-01"]),
                "127.0.0.1",
                "true",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 255 and "Host key verification failed" in refused.stderr

        state = lab("status", "--dir", str(directory))
        assert state.returncode == 0 and state.stdout.count(" up\n") == 3, state.stdout
        again = lab("up", "--inventory", str(inventory), "--dir", str(directory))
        assert again.returncode == 3 and "already running" in again.stderr and "Traceback" not in again.stderr

        # a background workload left by a session is stopped too
        launched = ssh(
            manifest,
            ports["tiny-rngd-01"],
            "nohup npu-workload run --device 0 --model resnet50 --seconds 600 >/dev/null 2>&1 &",
        )
        assert launched.returncode == 0, launched.stderr
        nodes_root = str(directory.resolve() / "nodes")
        end = time.monotonic() + 30  # a loaded 2-core CI machine can take seconds to start it
        while time.monotonic() < end and not emulator_processes(nodes_root):
            time.sleep(0.05)
        background = emulator_processes(nodes_root)
        assert background, "the background workload did not start"
        pids += background
    finally:
        stopped = lab("down", "--dir", str(directory))
    assert stopped.returncode == 0, stopped.stderr
    assert wait_dead(pids) == []
    assert Manifest.read(directory) is None
    assert lab("status", "--dir", str(directory)).returncode == 3


def test_stale_manifest_is_cleared_and_a_live_one_refused(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(finished.stdout)
    node = NodeProcess("n1", 2222, dead_pid, str(tmp_path / "sshd_config"), str(tmp_path), "ssh-ed25519 AAAA")
    Manifest(str(tmp_path), "inv.yaml", "res.yaml", "key", "kh", 0.0, [node]).write()
    assert _check_not_running(tmp_path) is True
    assert Manifest.read(tmp_path) is None
    # a live pid that is not our sshd (pid reuse) is not mistaken for a running test-bed
    node.pid = 1
    Manifest(str(tmp_path), "inv.yaml", "res.yaml", "key", "kh", 0.0, [node]).write()
    assert _check_not_running(tmp_path) is True


def test_unreadable_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "testbed.json").write_text("{not json")
    with pytest.raises(TestbedError, match="unreadable"):
        Manifest.read(tmp_path)

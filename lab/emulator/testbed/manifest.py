"""``testbed.json``: what ``lab testbed up`` started, so ``status``/``down`` find it by pid.

::

    manifest = Manifest.read(Path("testbed"))      # None when no test-bed was started there
    for node in manifest.nodes:
        print(node.name, node.port, node.pid)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.errors import InfrastructureError

MANIFEST_NAME = "testbed.json"


class TestbedError(InfrastructureError):
    """The test-bed could not be started, inspected or stopped (message says why and what to do)."""

    __test__ = False  # not a pytest test class despite the name


@dataclass
class NodeProcess:
    """One emulated node's sshd: where it listens and how to recognise its pid."""

    name: str
    port: int
    pid: int
    config: str  # the sshd_config path: part of the sshd's command line
    node_dir: str
    host_key: str  # "ssh-ed25519 AAAA..."
    bmc_pid: int = 0  # the node's Redfish BMC (sushy-tools), 0 when the inventory names none
    bmc_port: int = 0
    bmc_fingerprint: str = ""  # SHA-256 of its TLS certificate
    llm_pid: int = 0  # the node's emulated LLM endpoint (lab.emulator.llm_server), 0 without serving:
    llm_port: int = 0


@dataclass
class Manifest:
    """The running test-bed in one directory."""

    directory: str
    inventory: str
    resolved_inventory: str
    client_key: str
    known_hosts: str
    started_at: float
    nodes: list[NodeProcess] = field(default_factory=list)

    @staticmethod
    def path(directory: Path) -> Path:
        return directory / MANIFEST_NAME

    def write(self) -> None:
        target = self.path(Path(self.directory))
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, target)

    @classmethod
    def read(cls, directory: Path) -> Manifest | None:
        target = cls.path(directory)
        if not target.exists():
            return None
        try:
            data = json.loads(target.read_text(encoding="utf-8"))
            nodes = [NodeProcess(**node) for node in data.pop("nodes")]
            return cls(nodes=nodes, **data)
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise TestbedError(
                f"{target} is unreadable ({error}); stop any sshd it started by pid and delete the file"
            ) from error

    def remove(self) -> None:
        self.path(Path(self.directory)).unlink(missing_ok=True)

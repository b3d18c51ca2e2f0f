"""A one-node emulated test-bed on this machine, for adapter-vs-emulator parity tests.

Writes a node directory (``spec.json``) and a ``bin/`` of wrapper scripts named like the
real tools, then returns a ``LocalTransport`` whose PATH finds them first::

    transport = emulated_node(tmp_path, [device("rngd", "furiosaai", "rngd", "furiosa-smi")])
    FuriosaSmiAdapter(transport).list_devices()

Emulated time is pinned (``KCLOUD_EMU_TIME``) so readings are deterministic.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lab.emulator.defaults import NODE_DIR_ENV, TIME_ENV
from lab.emulator.spec import DeviceSpec, FaultEntry, NodeSpec
from lab.emulator.testbed.nodes import node_tools
from lab.transport.local import LocalTransport

TOOL_MODULES = {
    "furiosa-smi": "furiosa_smi",
    "furiosactl": "furiosactl",
    "rbln-smi": "rbln_smi",
    "rbln-stat": "rbln_stat",
    "nvidia-smi": "nvidia_smi",
    "sapeon-smi": "sapeon_smi",
    "rngd-diag": "rngd_diag",
    "rblnBandwidthLatencyTest": "rbln_bandwidth",
}


def device(
    model_key: str,
    vendor: str,
    product_name: str,
    tool: str,
    *,
    index: int = 0,
    pcie: tuple[int, int] = (5, 16),
    dies_per_card: int = 1,
    memory_gib: float = 48.0,
    tdp_watts: float = 180.0,
) -> DeviceSpec:
    return DeviceSpec(
        index=index,
        model_key=model_key,
        vendor=vendor,
        product_name=product_name,
        tool=tool,
        int8_tops=512.0,
        fp16_tflops=256.0,
        memory_gib=memory_gib,
        memory_bandwidth_gbps=1500.0,
        tdp_watts=tdp_watts,
        pcie_generation=pcie[0],
        pcie_width=pcie[1],
        dies_per_card=dies_per_card,
    )


def emulated_node(
    directory: Path,
    devices: Sequence[DeviceSpec],
    *,
    faults: Sequence[FaultEntry] = (),
    options: dict[str, object] | None = None,
    now: float = 120.0,
    driver_version: str | None = None,
) -> LocalTransport:
    spec = NodeSpec(
        node="emulated-test-node",
        seed=7,
        time_scale=1.0,
        start_wall=0.0,
        ambient_celsius=25.0,
        devices=tuple(devices),
        faults=tuple(faults),
        driver_version=driver_version,
        options=options,
    )
    return emulated_node_from_spec(directory, spec, now=now)


def emulated_node_from_spec(directory: Path, spec: NodeSpec, *, now: float) -> LocalTransport:
    """The node ``spec`` (e.g. from ``lab.emulator.build.node_spec``) at emulated time ``now``."""
    env = dict(os.environ)
    session = node_environment(directory, spec, now=now)
    session["PATH"] = f"{session['PATH']}{os.pathsep}{env.get('PATH', '')}"
    env.update(session)
    return LocalTransport(spec.node, default_timeout=30.0, env=env)


def node_environment(directory: Path, spec: NodeSpec, *, now: float) -> dict[str, str]:
    """Write the node directory and tool wrappers; return the variables a session needs.

    ``PATH`` holds only the wrappers' directory: append the system PATH as the caller needs.
    """
    node_dir = directory / "node"
    bin_dir = directory / "bin"
    node_dir.mkdir()
    bin_dir.mkdir()
    (node_dir / "spec.json").write_text(spec.to_json(), encoding="utf-8")
    for tool in node_tools(spec):  # only the node's own vendors' tools, as on a real server
        module = TOOL_MODULES.get(tool)
        if module is None:
            continue  # npu-workload, systemctl, lspci: run from lab.emulator by the tests that need them
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m lab.emulator.tools.{module} "$@"\n')
        wrapper.chmod(0o755)
    return {"PATH": str(bin_dir), NODE_DIR_ENV: str(node_dir), TIME_ENV: str(now)}

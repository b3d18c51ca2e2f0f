"""Prepare one emulated node's directory: ``spec.json``, a fresh state and ``bin/`` wrappers.

::

    bin_dir = prepare_node_dir(Path("testbed/nodes/rngd-01"), spec)
    # bin_dir/furiosa-smi, bin_dir/npu-workload, ... (small sh scripts)

Each wrapper is ``exec python -S -c 'from lab.emulator.tools.X import cli ...' "$@"`` with
the node directory and the path of the ``lab`` package fixed in it. Every tool call is a
new process, so its start-up is the emulated test-bed's main cost: ``-S`` skips ``site``
(and the editable install's import hook), which halves it, and PYTHONPATH points at the
source tree instead; calling ``cli()`` rather than ``python -m`` spares runpy and its
imports (~8 ms of CPU per call). Wrappers live only in the node's own ``bin/``, never on
the controller's PATH.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import lab
from lab.emulator.defaults import NODE_DIR_ENV
from lab.emulator.spec import NodeSpec

# command name → module under lab.emulator.tools
TOOLS: dict[str, str] = {
    "furiosa-smi": "furiosa_smi",
    "furiosactl": "furiosactl",
    "rbln-smi": "rbln_smi",
    "rbln-stat": "rbln_stat",
    "nvidia-smi": "nvidia_smi",
    "sapeon-smi": "sapeon_smi",
    "npu-workload": "npu_workload",
    "systemctl": "systemctl",
    "lspci": "lspci",
    "dmesg": "dmesg",
    "dcgmi": "dcgmi",
    "rbln-vs": "rbln_vs",
    "rngd-diag": "rngd_diag",
    "rblnBandwidthLatencyTest": "rbln_bandwidth",
}

COMMON_TOOLS = ("npu-workload", "systemctl", "lspci", "dmesg")
"""Installed on every emulated node (the workload runner and the OS's own commands)."""

INSTALLED_WITH: dict[str, tuple[str, ...]] = {
    "rbln-smi": ("rbln-stat", "rbln-vs", "rblnBandwidthLatencyTest"),
    "nvidia-smi": ("dcgmi",),
    "furiosa-smi": ("rngd-diag",),
}
"""Other commands a vendor's packages install beside its tool (rbln-stat: rbln-smi's old name;
the vendors' diagnostics: rbln-vs and rblnBandwidthLatencyTest, DCGM's dcgmi,
furiosa-toolkit-rngd's rngd-diag)."""


def node_tools(spec: NodeSpec) -> tuple[str, ...]:
    """The commands an emulated node carries: its devices' vendor tools and the common ones.

    A real server holds only its own vendor's packages, so an RNGD node has ``furiosa-smi``
    and no ``nvidia-smi`` or ``rbln-smi``: an adapter pointed at the wrong vendor fails there
    as it would on hardware (command not found), never reads another vendor's emulated tool.
    """
    vendor_tools: list[str] = []
    for device in spec.devices:
        for command in (device.tool, *INSTALLED_WITH.get(device.tool, ())):
            if command in TOOLS and command not in vendor_tools:
                vendor_tools.append(command)
    return (*vendor_tools, *COMMON_TOOLS)


def lab_source_root() -> str:
    """The directory holding the ``lab`` package (what PYTHONPATH needs)."""
    return str(Path(lab.__file__).resolve().parent.parent)


def wrapper_text(module: str, node_dir: Path, python: str | None = None) -> str:
    """The sh script that runs tool ``module`` for the node in ``node_dir``."""
    python = python or sys.executable
    program = f"from lab.emulator.tools.{module} import cli; raise SystemExit(cli())"
    return (
        "#!/bin/sh\n"
        f"{NODE_DIR_ENV}={shlex.quote(str(node_dir))} PYTHONPATH={shlex.quote(lab_source_root())} "
        f'exec {shlex.quote(python)} -S -c {shlex.quote(program)} "$@"\n'
    )


def prepare_node_dir(node_dir: Path, spec: NodeSpec, python: str | None = None) -> Path:
    """Write the spec, reset the state and write the tool wrappers; return the ``bin/`` path."""
    node_dir = node_dir.resolve()
    bin_dir = node_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "spec.json").write_text(spec.to_json(), encoding="utf-8")
    state = node_dir / "state.json"
    if state.exists():
        state.unlink()  # a new test-bed run starts from a cold, fault-free history
    for command in node_tools(spec):
        path = bin_dir / command
        path.write_text(wrapper_text(TOOLS[command], node_dir, python), encoding="utf-8")
        os.chmod(path, 0o755)
    for command in TOOLS:
        if command not in node_tools(spec):
            (bin_dir / command).unlink(missing_ok=True)  # left by an earlier run with other devices
    return bin_dir

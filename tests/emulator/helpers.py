"""Helpers of the emulator tests: hand-written node specs and a handle to run a node's tools."""

from __future__ import annotations

import io
import json
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.emulator.defaults import NODE_DIR_ENV, TIME_ENV
from lab.emulator.spec import DeviceSpec, FaultEntry, NodeSpec
from lab.emulator.state import NodeDir

# Catalog-like figures of the models the tests use (as in inventory/devices.yaml).
MODELS: dict[str, dict[str, object]] = {
    "rngd": dict(
        vendor="furiosaai",
        product_name="rngd",
        tool="furiosa-smi",
        int8_tops=512.0,
        fp16_tflops=256.0,
        memory_gib=48.0,
        memory_bandwidth_gbps=1500.0,
        tdp_watts=180.0,
        pcie_generation=5,
        pcie_width=16,
    ),
    "warboy": dict(
        vendor="furiosaai",
        product_name="warboy",
        tool="furiosactl",
        int8_tops=64.0,
        fp16_tflops=0.0,
        memory_gib=16.0,
        memory_bandwidth_gbps=66.0,
        tdp_watts=60.0,
        pcie_generation=4,
        pcie_width=8,
    ),
    "atom-plus": dict(
        vendor="rebellions",
        product_name="RBLN-CA12",
        tool="rbln-smi",
        int8_tops=128.0,
        fp16_tflops=32.0,
        memory_gib=16.0,
        memory_bandwidth_gbps=256.0,
        tdp_watts=150.0,
        pcie_generation=5,
        pcie_width=16,
    ),
    "atom-max": dict(
        vendor="rebellions",
        product_name="RBLN-CA25",
        tool="rbln-smi",
        int8_tops=512.0,
        fp16_tflops=128.0,
        memory_gib=64.0,
        memory_bandwidth_gbps=1000.0,
        tdp_watts=350.0,
        pcie_generation=5,
        pcie_width=16,
        dies_per_card=4,
    ),
    "h100-pcie": dict(
        vendor="nvidia",
        product_name="NVIDIA H100 PCIe",
        tool="nvidia-smi",
        int8_tops=1513.0,
        fp16_tflops=756.0,
        memory_gib=80.0,
        memory_bandwidth_gbps=2000.0,
        tdp_watts=350.0,
        pcie_generation=5,
        pcie_width=16,
    ),
    "sapeon-x220": dict(
        vendor="sapeon",
        product_name="X220",
        tool="sapeon-smi",
        int8_tops=200.0,
        fp16_tflops=50.0,
        memory_gib=32.0,
        memory_bandwidth_gbps=512.0,
        tdp_watts=150.0,
        pcie_generation=4,
        pcie_width=16,
        synthetic_figures=("int8_tops", "tdp_watts"),
    ),
}


def device_spec(model: str, index: int, tool_version: str = "") -> DeviceSpec:
    figures = dict(MODELS[model])
    return DeviceSpec(index=index, model_key=model, tool_version=tool_version, **figures)  # type: ignore[arg-type]


def node_spec(
    model: str,
    count: int = 2,
    *,
    name: str = "emu-01",
    seed: int = 7,
    faults: tuple[FaultEntry, ...] = (),
    time_scale: float = 1.0,
    start_wall: float = 1_700_000_000.0,
    firmware: str | None = None,
    driver: str | None = None,
    options: dict[str, object] | None = None,
    tool_version: str = "",
) -> NodeSpec:
    return NodeSpec(
        node=name,
        seed=seed,
        time_scale=time_scale,
        start_wall=start_wall,
        ambient_celsius=25.0,
        devices=tuple(device_spec(model, index, tool_version) for index in range(count)),
        faults=faults,
        firmware_version=firmware,
        driver_version=driver,
        options=options,
    )


@dataclass
class ToolRun:
    status: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


@dataclass
class EmulatedNode:
    """A prepared node directory plus ways to run its tools in-process or through the wrappers."""

    path: Path
    spec: NodeSpec
    monkeypatch: pytest.MonkeyPatch

    @property
    def node_dir(self) -> NodeDir:
        return NodeDir(str(self.path))

    def tool(self, module: str, *args: str, at: float | None = 0.0) -> ToolRun:
        """Run ``lab.emulator.tools.<module>.main`` in this process at emulated time ``at``."""
        import importlib

        self.monkeypatch.setenv(NODE_DIR_ENV, str(self.path))
        if at is None:
            self.monkeypatch.delenv(TIME_ENV, raising=False)
        else:
            self.monkeypatch.setenv(TIME_ENV, repr(at))
        main = importlib.import_module(f"lab.emulator.tools.{module}").main
        out, err = io.StringIO(), io.StringIO()
        from lab.emulator.tools.common import ToolUsageError

        with redirect_stdout(out), redirect_stderr(err):
            try:
                status = main(list(args))
            except ToolUsageError as error:
                print(error, file=err)
                status = 2
        return ToolRun(status, out.getvalue(), err.getvalue())

    def command(self, name: str, *args: str, at: float | None = None) -> list[str]:
        return [str(self.path / "bin" / name), *args]

    def environment(self, at: float | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in (NODE_DIR_ENV, TIME_ENV)}
        if at is not None:
            env[TIME_ENV] = repr(at)
        return env

    def run(self, name: str, *args: str, at: float | None = None, timeout: float = 20.0) -> ToolRun:
        """Run the wrapper script ``bin/<name>`` as a separate process (what SSH sessions do)."""
        done = subprocess.run(
            self.command(name, *args),
            env=self.environment(at),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return ToolRun(done.returncode, done.stdout, done.stderr)

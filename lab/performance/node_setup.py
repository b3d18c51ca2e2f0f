"""Preparing nodes for the agent in air-gapped labs: check what is missing, install from wheels.

::

    report = check_node(transport, choice)          # NodeCheck: python version, modules found/missing
    report.missing                                  # [Requirement(...), ...]
    prepare_node(transport, choice, wheel_dir)      # pip download here, put, pip install --no-index there

``prepare`` downloads on the controller (which reaches a package index) the wheels for the
node's Python version and platform, copies them over the transport (SFTP) into a fresh
directory and installs them there with ``pip install --no-index --find-links``. Vendor
SDKs are not on PyPI: they are reported, never installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lab.agent.backends.sapeon import NO_PUBLIC_RUNTIME
from lab.errors import CommandFailed, ToolOutputError
from lab.performance.backend_choice import BackendChoice
from lab.performance.requirements import Requirement, requirements_for
from lab.transport.base import Transport

# Run on the node with the module names as arguments: prints its Python and which import
# (a submodule reports its package's version; onnxruntime also lists its execution providers:
# CUDA or only the CPU).
_PROBE = (
    "import importlib, json, platform, sys\n"
    "found = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        module = importlib.import_module(name)\n"
    "        parts = name.split('.')\n"
    "        versions = [getattr(sys.modules.get('.'.join(parts[:n])), '__version__', None)"
    " for n in range(len(parts), 0, -1)]\n"
    "        found[name] = str(next((v for v in versions if v), 'present'))\n"
    "        if name == 'onnxruntime':\n"
    "            found[name] += ' (' + ', '.join(module.get_available_providers()) + ')'\n"
    "    except Exception as error:\n"
    "        found[name] = None\n"
    "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'machine': platform.machine(),"
    " 'modules': found}))\n"
)
# Files a node's labels name (BackendChoice.options key → label): they must be readable there.
_LABELLED_FILES = {"model_path": "perf-model-path", "inputs_path": "perf-inputs-path"}
# The vendor runtimes a node may carry, probed on every check: which one the node has.
RUNTIME_MODULES: dict[str, str] = {
    "furiosa.runtime.sync": "FuriosaRT",
    "rebel": "Rebellions rebel",
    "onnxruntime": "onnxruntime",
}
PIP_TIMEOUT_S = 600.0


@dataclass
class NodeCheck:
    node: str
    backend: str
    python: str
    python_version: str
    machine: str
    present: dict[str, str] = field(default_factory=dict)
    missing: list[Requirement] = field(default_factory=list)
    reason: str = ""  # why this backend (BackendChoice.reason)
    runtimes: dict[str, str | None] = field(default_factory=dict)  # RUNTIME_MODULES → version
    refusal: str | None = None  # the backend cannot run on this node at all (Sapeon)
    unreadable: list[str] = field(default_factory=list)  # labelled files the node cannot read

    @property
    def ok(self) -> bool:
        return not self.missing and self.refusal is None and not self.unreadable

    def lines(self) -> list[str]:
        python = f"{self.python} (Python {self.python_version}, {self.machine})"
        why = f" ({self.reason})" if self.reason else ""
        out = [f"{self.node}: backend {self.backend}{why}, {python}"]
        found = [f"{RUNTIME_MODULES[m]} {v}" for m, v in self.runtimes.items() if v is not None]
        out.append(f"  runtime  {'; '.join(found) if found else 'no vendor runtime found'}")
        if self.refusal is not None:
            out.append(f"  REFUSED  {self.refusal}")
        out += [f"  ok       {name} {version}" for name, version in sorted(self.present.items())]
        for requirement in self.missing:
            how = requirement.spec or requirement.note
            out.append(f"  MISSING  {requirement.module}  ({how})")
        out += [f"  MISSING  {item}" for item in self.unreadable]
        return out


def check_node(transport: Transport, choice: BackendChoice) -> NodeCheck:
    """Which of the agent's requirements import on the node (``CommandFailed`` when Python is missing)."""
    requirements = requirements_for(choice.name)
    modules = [requirement.module for requirement in requirements]
    modules += [module for module in RUNTIME_MODULES if module not in modules]
    command = (
        ["env", *(f"{k}={v}" for k, v in sorted(choice.environment.items()))] if choice.environment else []
    )
    result = transport.check([*command, choice.python, "-c", _PROBE, *modules])
    try:
        data = json.loads(result.stdout.strip().splitlines()[-1])
        found = data["modules"]
        version, machine = str(data["python"]), str(data["machine"])
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise ToolOutputError("unexpected output of the requirement probe", raw=result.stdout) from error
    check = NodeCheck(getattr(transport, "node_name", "node"), choice.name, choice.python, version, machine)
    check.reason = choice.reason
    if isinstance(found, dict):
        check.runtimes = {module: _version(found.get(module)) for module in RUNTIME_MODULES}
    if choice.name == "sapeon":
        check.refusal = NO_PUBLIC_RUNTIME
    for key, label in _LABELLED_FILES.items():
        path = choice.options.get(key)
        if isinstance(path, str) and not transport.run(["test", "-r", path]).ok:
            check.unreadable.append(f"{path}  (label {label}: no readable file there)")
    for requirement in requirements:
        value = found.get(requirement.module) if isinstance(found, dict) else None
        if value is None or (requirement.provider and requirement.provider not in str(value)):
            check.missing.append(requirement)
        else:
            check.present[requirement.module] = str(value)
    return check


def _version(value: object) -> str | None:
    return None if value is None else str(value)


def download_wheels(specs: list[str], wheel_dir: Path, python_version: str, machine: str) -> list[Path]:
    """``pip download`` binary wheels for the node's Python and platform into ``wheel_dir``."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    platforms = [f"manylinux_2_28_{machine}", f"manylinux2014_{machine}", f"manylinux_2_17_{machine}"]
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(wheel_dir)]
    command += ["--python-version", python_version]
    for platform in platforms:
        command += ["--platform", platform]
    done = subprocess.run(
        [*command, *specs], capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise ToolOutputError("pip download failed", raw=done.stdout + done.stderr, tool="pip")
    return sorted(wheel_dir.glob("*.whl"))


def install_wheels(transport: Transport, choice: BackendChoice, wheels: list[Path], specs: list[str]) -> str:
    """Copy ``wheels`` to a fresh directory on the node and ``pip install --no-index`` ``specs`` from it."""
    made = transport.check(["mktemp", "-d", "/tmp/kcloud-wheels.XXXXXXXX"]).stdout.strip()
    try:
        for wheel in wheels:
            transport.put(str(wheel), f"{made}/{wheel.name}")
        result = transport.run(
            [choice.python, "-m", "pip", "install", "--no-index", "--find-links", made, *specs],
            timeout=PIP_TIMEOUT_S,
        )
        if not result.ok:
            raise CommandFailed(result)
        return result.stdout
    finally:
        transport.run(["rm", "-rf", "--", made])


def prepare_node(
    transport: Transport, choice: BackendChoice, wheel_dir: Path, *, download: bool = True
) -> NodeCheck:
    """Install what ``check_node`` finds missing (pip-installable only); returns the check after."""
    before = check_node(transport, choice)
    specs = [requirement.spec for requirement in before.missing if requirement.spec]
    if specs:
        if download:
            wheels = download_wheels(specs, wheel_dir, before.python_version, before.machine)
        else:
            wheels = sorted(wheel_dir.glob("*.whl"))
        install_wheels(transport, choice, wheels, specs)
    return check_node(transport, choice)

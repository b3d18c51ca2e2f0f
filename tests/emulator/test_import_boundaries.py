"""The emulator stands in for hardware and nothing else: the suites, the device adapters, the
engines they drive and the agent's non-emulated backends import nothing from ``lab.emulator``
(statically, or by a string given to ``importlib``), so no suite path exists only on emulated
nodes. Only the agent's ``emulated`` backend may import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
GUARDED = ("testsuites", "lab/devices", "lab/agent", "lab/stability", "lab/performance")
ALLOWED = {"lab/agent/backends/emulated.py"}


def emulator_imports(source: str) -> list[str]:
    """Every ``lab.emulator`` module ``source`` imports (statements and string literals)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("lab.emulator")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module.startswith("lab.emulator"):
                found.append(node.module)
            elif node.module == "lab" and any(alias.name == "emulator" for alias in node.names):
                found.append("lab.emulator")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("lab.emulator")
            and " " not in node.value
        ):
            found.append(node.value)
    return found


def guarded_files() -> list[Path]:
    files = [path for folder in GUARDED for path in sorted((REPOSITORY / folder).rglob("*.py"))]
    return [path for path in files if path.relative_to(REPOSITORY).as_posix() not in ALLOWED]


def test_the_guard_sees_every_form_of_import() -> None:
    source = (
        "import lab.emulator.state\nfrom lab.emulator.reference import checksum\n"
        "from lab import emulator\nimportlib.import_module('lab.emulator.runner')\n"
        "from lab.devices import adapter_for\n'''docs mention lab.emulator in prose'''\n"
    )
    assert emulator_imports(source) == [
        "lab.emulator.state", "lab.emulator.reference", "lab.emulator", "lab.emulator.runner",
    ]  # fmt: skip


@pytest.mark.parametrize("folder", GUARDED)
def test_suites_adapters_engines_and_real_backends_import_nothing_from_the_emulator(folder: str) -> None:
    offenders = {
        path.relative_to(REPOSITORY).as_posix(): imports
        for path in guarded_files()
        if path.relative_to(REPOSITORY).as_posix().startswith(folder)
        and (imports := emulator_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_only_the_emulated_backend_is_exempt_and_it_does_use_the_emulator() -> None:
    (allowed,) = ALLOWED
    assert emulator_imports((REPOSITORY / allowed).read_text(encoding="utf-8"))

"""``lab node check`` against real sshd nodes, and ``prepare``'s offline install sequence."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main
from lab.errors import ToolOutputError
from lab.performance.backend_choice import BackendChoice
from lab.performance.node_setup import check_node, prepare_node
from lab.transport.fake import FakeTransport, ScriptedReply
from lab.transport.sshd import SshdServer

from .conftest import REPOSITORY, PerfTestbed

DOUBLES = REPOSITORY / "tests" / "agent" / "doubles"  # vendor SDK test doubles
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's: no LoadGen, no onnxruntime


def test_check_reports_an_emulated_node_ready(
    perf_testbed: PerfTestbed, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["node", "check", "--inventory", str(perf_testbed.started.resolved_inventory), "acc-warboy"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "acc-warboy: backend emulated (emulated node)" in out
    assert "ok       mlperf_loadgen" in out
    # the runtimes the node's Python imports: the controller's onnxruntime, no vendor SDK
    assert re.search(r"runtime  onnxruntime [0-9.]+ \(.*CPUExecutionProvider.*\)\n", out), out
    assert "FuriosaRT" not in out and "Rebellions" not in out


def _cpu_node_inventory(
    tmp_path: Path,
    server: SshdServer,
    python: str,
    backend: str = "onnxruntime-cpu",
    model: str = "cpu-x86-64",
) -> Path:
    text = f"""\
version: 1
name: cpu-reference
catalog: {REPOSITORY}/inventory/devices.yaml
profiles: {REPOSITORY}/inventory/profiles
nodes:
  - name: cpu-ref-01
    operator: kt-cloud
    address: 127.0.0.1
    port: {server.port}
    user: root
    auth: {{key_file: {server.client_key_path}}}
    host_key: [{json.dumps(server.host_public_key)}]
    accelerators: [{{model: {model}, count: 1}}]
    labels: {{{f"perf-backend: {backend}, " if backend else ""}perf-python: {python}}}
"""
    path = tmp_path / "cpu.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.skipif(not Path(SYSTEM_PYTHON).exists(), reason="needs a Python without LoadGen")
def test_check_lists_what_is_missing_and_exits_1(
    tmp_path: Path, sshd: SshdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = _cpu_node_inventory(tmp_path, sshd, SYSTEM_PYTHON)
    status = main(["node", "check", "--inventory", str(inventory), "cpu-ref-01"])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "MISSING  mlperf_loadgen  (mlcommons-loadgen==6.0.17)" in out
    assert "MISSING  onnxruntime  (onnxruntime==1.31.1)" in out


def test_check_names_the_vendor_runtime_the_node_has(
    tmp_path: Path, sshd: SshdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # the node's Python finds FuriosaRT (its test double, tests/agent/doubles) and LoadGen
    site = tmp_path / "site"
    site.mkdir()
    (site / "furiosa").symlink_to(DOUBLES / "furiosa")
    python = tmp_path / "python-with-furiosart"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    inventory = _cpu_node_inventory(tmp_path, sshd, str(python), backend="furiosa", model="rngd")
    status = main(["node", "check", "--inventory", str(inventory), "cpu-ref-01"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "cpu-ref-01: backend furiosa (label perf-backend: furiosa)" in out
    assert "runtime  FuriosaRT 0.10.0+test-double; onnxruntime " in out
    assert "ok       furiosa.runtime.sync 0.10.0+test-double" in out
    # the model and data set the labels name must be on the node
    model = tmp_path / "resnet50.enf"
    model.write_text("{}")
    text = inventory.read_text().replace(
        "perf-backend: furiosa,",
        f"perf-backend: furiosa, perf-model-path: {model}, perf-inputs-path: {tmp_path / 'absent.npy'},",
    )
    inventory.write_text(text)
    assert main(["node", "check", "--inventory", str(inventory), "cpu-ref-01"]) == 1
    out = capsys.readouterr().out
    assert f"MISSING  {tmp_path / 'absent.npy'}  (label perf-inputs-path: no readable file there)" in out
    assert str(model) not in out.split("MISSING", 1)[1]  # the model is there


@pytest.mark.skipif(not Path(SYSTEM_PYTHON).exists(), reason="needs a Python without the vendor SDKs")
def test_check_says_a_sapeon_node_has_no_public_runtime(
    tmp_path: Path, sshd: SshdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = _cpu_node_inventory(tmp_path, sshd, SYSTEM_PYTHON, backend="", model="sapeon-x220")
    status = main(["node", "check", "--inventory", str(inventory), "cpu-ref-01"])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "cpu-ref-01: backend sapeon (default for vendor sapeon)" in out
    assert "runtime  no vendor runtime found" in out
    assert "REFUSED  no public runtime exists for Sapeon X220/X330" in out


def test_check_wants_the_cuda_provider_for_an_nvidia_node(
    tmp_path: Path, sshd: SshdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # this Python's onnxruntime is the CPU build: present, but not what a GPU node needs
    inventory = _cpu_node_inventory(tmp_path, sshd, sys.executable, backend="", model="h100-pcie")
    status = main(["node", "check", "--inventory", str(inventory), "cpu-ref-01"])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "cpu-ref-01: backend onnxruntime-cuda (default for vendor nvidia)" in out
    assert "MISSING  onnxruntime  (onnxruntime-gpu with CUDAExecutionProvider" in out
    assert "ok       numpy" in out


def test_check_refuses_an_unknown_node(
    tmp_path: Path, sshd: SshdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = _cpu_node_inventory(tmp_path, sshd, SYSTEM_PYTHON)
    assert main(["node", "check", "--inventory", str(inventory), "nope"]) == 2
    assert "unknown node(s): nope" in capsys.readouterr().err


def _probe_answer(modules: dict[str, str | None]) -> str:
    return json.dumps({"python": "3.11", "machine": "x86_64", "modules": modules})


def test_prepare_copies_wheels_and_installs_them_offline(tmp_path: Path) -> None:
    fake = FakeTransport("air-gapped-01")
    answers = iter([_probe_answer({"mlperf_loadgen": None}), _probe_answer({"mlperf_loadgen": "6.0.17"})])
    fake.respond_with(r"^python3 -c ", lambda _text: ScriptedReply(stdout=next(answers)))
    fake.reply(["mktemp", "-d", "/tmp/kcloud-wheels.XXXXXXXX"], stdout="/tmp/kcloud-wheels.abc\n")
    fake.reply_matching(
        r"^python3 -m pip install", stdout="Successfully installed mlcommons-loadgen-6.0.17\n"
    )
    fake.reply_matching(r"^rm -rf", stdout="")
    wheel = tmp_path / "mlcommons_loadgen-6.0.17-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"wheel bytes")
    after = prepare_node(fake, BackendChoice("emulated", "python3"), tmp_path, download=False)
    assert after.ok and after.present == {"mlperf_loadgen": "6.0.17"}
    assert fake.files["/tmp/kcloud-wheels.abc/" + wheel.name] == b"wheel bytes"
    install = next(call for call in fake.calls if " pip install" in call)
    assert install == (
        "python3 -m pip install --no-index --find-links /tmp/kcloud-wheels.abc mlcommons-loadgen==6.0.17"
    )
    assert fake.calls[-2] == "rm -rf -- /tmp/kcloud-wheels.abc"


def test_check_with_unparseable_probe_output_is_a_tool_error() -> None:
    fake = FakeTransport("odd-01")
    fake.reply_matching(r"^python3 -c ", stdout="Python 2.7 says hello\n")
    with pytest.raises(ToolOutputError, match="requirement probe"):
        check_node(fake, BackendChoice("emulated", "python3"))


def _package_index_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def _fresh_node_python(directory: Path) -> str:
    """A new virtual environment standing for a bare node's Python: pip, and nothing else."""
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=180)
    return str(directory / "bin" / "python")


@pytest.mark.skipif(not _package_index_reachable(), reason="pip download needs a reachable package index")
def test_prepare_downloads_copies_and_installs_for_real_then_again_air_gapped(
    tmp_path: Path, sshd: SshdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The emulated backend needs only LoadGen (a 470 kB wheel): the real pip path stays quick.
    wheels = tmp_path / "wheels"
    for step, download in (("online", True), ("air-gapped", False)):
        python = _fresh_node_python(tmp_path / f"node-{step}")
        inventory = _cpu_node_inventory(tmp_path, sshd, python, backend="emulated")
        assert main(["node", "check", "--inventory", str(inventory), "cpu-ref-01"]) == 1
        assert "MISSING  mlperf_loadgen" in capsys.readouterr().out
        command = ["node", "prepare", "--inventory", str(inventory), "--wheel-dir", str(wheels), "cpu-ref-01"]
        status = main(command if download else [*command, "--no-download"])
        out = capsys.readouterr().out
        assert status == 0, (step, out)
        assert "ok       mlperf_loadgen" in out, (step, out)
        assert [wheel.name.split("-")[:2] for wheel in wheels.glob("*.whl")] == [
            ["mlcommons_loadgen", "6.0.17"]
        ]
        imported = subprocess.run(
            [python, "-c", "import mlperf_loadgen; print(mlperf_loadgen.__file__)"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert imported.returncode == 0 and imported.stdout.startswith(str(tmp_path / f"node-{step}")), (
            imported
        )

"""``lab node check`` against real sshd nodes, and ``prepare``'s offline install sequence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.cli import main
from lab.errors import ToolOutputError
from lab.performance.backend_choice import BackendChoice
from lab.performance.node_setup import check_node, prepare_node
from lab.transport.fake import FakeTransport, ScriptedReply
from lab.transport.sshd import SshdServer

from .conftest import REPOSITORY, PerfTestbed

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's: no LoadGen, no onnxruntime


def test_check_reports_an_emulated_node_ready(
    perf_testbed: PerfTestbed, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["node", "check", "--inventory", str(perf_testbed.started.resolved_inventory), "acc-warboy"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "acc-warboy: backend emulated" in out
    assert "ok       mlperf_loadgen" in out


def _cpu_node_inventory(tmp_path: Path, server: SshdServer, python: str) -> Path:
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
    accelerators: [{{model: t4, count: 1}}]
    labels: {{perf-backend: onnxruntime-cpu, perf-python: {python}}}
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

"""Fan-out (``run_on_nodes``) and ``lab exec``: per-node outcomes, never a traceback, exit codes."""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import pytest

from lab.cli import exec as exec_cli
from lab.errors import UnreachableError
from lab.inventory.model import HostKeyTrust
from lab.transport.fake import FakeTransport
from lab.transport.fanout import run_on_nodes
from lab.transport.pool import ConnectionPool
from lab.transport.result import ShellScript
from lab.transport.sshd import free_port, write_ed25519_keypair


def test_fanout_reports_every_kind_of_problem_per_node(sshd, sshd_factory, ssh_node, tmp_path: Path) -> None:
    other = sshd_factory()
    impostor = write_ed25519_keypair(tmp_path / "impostor")
    nodes = [
        ssh_node(sshd, name="good-1"),
        ssh_node(other, name="good-2"),
        ssh_node(sshd, name="down", port=free_port(), connect_timeout=0.5),
        ssh_node(other, name="spoofed", host_key=HostKeyTrust(pinned=(impostor,))),
    ]
    started = time.monotonic()
    outcomes = run_on_nodes(nodes, ["echo", "hi"], pool=ConnectionPool(), timeout=5)
    assert time.monotonic() - started < 5
    assert [o.node for o in outcomes] == ["good-1", "good-2", "down", "spoofed"]
    assert [o.status for o in outcomes] == ["ok", "ok", "error", "error"]
    assert outcomes[0].result is not None and outcomes[0].result.stdout == "hi\n"
    assert outcomes[0].trust_mode == "strict" and outcomes[0].host_key_fingerprint.startswith("SHA256:")
    assert outcomes[2].error_kind == "unreachable" and "down" in (outcomes[2].error or "")
    assert outcomes[3].error_kind == "host-key" and "CHANGED" in (outcomes[3].error or "")


def test_fanout_timeout_and_failure_statuses(sshd, ssh_node, unique_marker: str) -> None:
    nodes = [ssh_node(sshd, name="slow"), ssh_node(sshd, name="also-slow")]
    outcomes = run_on_nodes(nodes, ShellScript(f"sleep {unique_marker}"), pool=ConnectionPool(), timeout=0.5)
    assert [o.status for o in outcomes] == ["timeout", "timeout"]
    failed = run_on_nodes([ssh_node(sshd)], ["false"], pool=ConnectionPool())
    assert failed[0].status == "failed" and failed[0].result is not None and failed[0].result.exit_status == 1


def test_fanout_with_fake_transports_isolates_broken_nodes(node_builder) -> None:
    fakes = {name: FakeTransport(name) for name in ("f1", "f2", "f3")}
    fakes["f1"].reply(["uname"], stdout="Linux\n")
    fakes["f2"].fail_with(UnreachableError("no route", node="f2"))
    fakes["f3"].reply(["uname"], drop=True)
    outcomes = run_on_nodes(
        [node_builder(name) for name in fakes], ["uname"], transport_factory=lambda node: fakes[node.name]
    )
    assert [(o.status, o.error_kind) for o in outcomes] == [
        ("ok", None),
        ("error", "unreachable"),
        ("error", "connection-lost"),
    ]


# --- lab exec ---------------------------------------------------------------------------


def _inventory(tmp_path: Path, nodes: list[tuple[str, int, str, str]], key: Path) -> Path:
    catalog = Path(__file__).resolve().parents[2] / "inventory" / "devices.yaml"
    lines = [
        "version: 1",
        "name: exec-test",
        "description: lab exec test",
        f"catalog: {catalog}",
        "defaults:",
        "  user: root",
        f"  auth: {{key_file: {key}}}",
        "  timeouts: {connect: 2, command: 10}",
        "sites:",
        "  local:",
        "    operator: kt-cloud",
        "    nodes:",
    ]
    lines += [
        f"      - {{name: {name}, address: 127.0.0.1, port: {port}, tags: [{tag}]}}"
        for name, port, _, tag in nodes
    ]
    lines.append("host_keys:")
    lines += [f"  {name}: {host_key}" for name, _, host_key, _ in nodes]
    path = tmp_path / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _lab_exec(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="lab")
    exec_cli.register(parser.add_subparsers())
    arguments = parser.parse_args(["exec", *argv])
    status = arguments.handler(arguments)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def second_sshd(sshd, sshd_factory):
    """Another server authorizing the same client key (the inventory forbids shared addresses)."""
    return sshd_factory(client_key_path=sshd.client_key_path)


def _two_node_inventory(sshd, other, tmp_path: Path) -> Path:
    impostor = " ".join(write_ed25519_keypair(tmp_path / "impostor").split()[:2])
    host_key = " ".join(sshd.host_public_key.split()[:2])
    return _inventory(
        tmp_path,
        [("npu-01", sshd.port, host_key, "good"), ("npu-02", other.port, impostor, "bad")],
        sshd.client_key_path,
    )


def test_lab_exec_text_reports_each_node_and_exits_3_on_infrastructure_error(
    sshd, second_sshd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = _two_node_inventory(sshd, second_sshd, tmp_path)
    status, out, err = _lab_exec(["--inventory", str(inventory), "--", "echo", "hello world"], capsys)
    assert status == 3
    assert "== npu-01: OK  exit 0" in out and "   hello world" in out
    assert "== npu-02: ERROR" in out and "host-key" in out and "CHANGED" in out
    assert "Traceback" not in out + err
    assert "-- 2 nodes: 1 ok, 1 error" in out


def test_lab_exec_select_json_and_failure_exit(
    sshd, second_sshd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = _two_node_inventory(sshd, second_sshd, tmp_path)
    base = ["--inventory", str(inventory), "--select", "tag=good", "--format", "json"]
    status, out, _ = _lab_exec([*base, "--", "sh", "-c", "echo out; exit 5"], capsys)
    records = json.loads(out)
    assert status == 1
    assert [(r["node"], r["status"], r["exit_status"], r["stdout"]) for r in records] == [
        ("npu-01", "failed", 5, "out\n")
    ]
    assert records[0]["trust_mode"] == "strict"
    status, out, _ = _lab_exec([*base, "--", "true"], capsys)
    assert status == 0 and json.loads(out)[0]["status"] == "ok"


def test_lab_exec_timeout_is_reported_not_raised(
    sshd, second_sshd, tmp_path: Path, capsys, unique_marker: str
) -> None:
    inventory = _two_node_inventory(sshd, second_sshd, tmp_path)
    argv = [
        "--inventory",
        str(inventory),
        "--select",
        "tag=good",
        "--timeout",
        "0.5",
        "--",
        "sleep",
        unique_marker,
    ]
    status, out, _ = _lab_exec(argv, capsys)
    assert status == 3 and "== npu-01: TIMEOUT" in out


def test_lab_exec_usage_errors(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAB_INVENTORY", raising=False)
    assert _lab_exec(["--", "true"], capsys)[0] == 2
    assert _lab_exec(["--inventory", "x.yaml"], capsys)[0] == 2
    assert _lab_exec(["--inventory", "x.yaml", "--timeout", "0", "--", "true"], capsys)[0] == 2


def test_exit_status_rules() -> None:
    from lab.transport.fanout import NodeOutcome

    ok = NodeOutcome("a", "ok", 0.1)
    failed = NodeOutcome("b", "failed", 0.1)
    error = NodeOutcome("c", "error", 0.1)
    assert exec_cli.exit_status([ok]) == 0
    assert exec_cli.exit_status([ok, failed]) == 1
    assert exec_cli.exit_status([failed, error]) == 3
    out = io.StringIO()
    exec_cli.print_text([ok, failed], out)
    assert "-- 2 nodes: 1 ok, 1 failed" in out.getvalue()


def test_lab_main_dispatches_exec_and_reports_bad_inventory(
    sshd, second_sshd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lab.cli import main

    inventory = _two_node_inventory(sshd, second_sshd, tmp_path)
    assert main(["exec", "--inventory", str(inventory), "--select", "tag=good", "--", "true"]) == 0
    assert "== npu-01: OK" in capsys.readouterr().out
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nnodes: [\n")
    assert main(["exec", "--inventory", str(broken), "--", "true"]) == 2
    assert "Traceback" not in capsys.readouterr().err

"""Transport benchmark: our SSH transport against bare paramiko, on real sshd over loopback.

Run: ``.venv/bin/python benchmarks/bench_transport.py [--nodes 32] [--runs 60]``

Prints medians (and client CPU) for:
  (a) bare paramiko exec_command("true") on an open transport, stock (no TCP_NODELAY)
  (b) the same with TCP_NODELAY on the socket: the floor
  (c) SSHTransport.run(["true"]) on its pooled connection      target <= 1.10 x (b)
  (d) a new connection (TCP + kex + auth): bare paramiko vs ours
  (e) cold fan-out of one command to N sshd nodes: bare paramiko thread pool vs
      lab.transport.fanout.run_on_nodes                          target <= 1.3 x bare
Every baseline is measured in the same run, interleaved with ours.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import resource
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.transport.fanout import run_on_nodes
from lab.transport.pool import ConnectionPool
from lab.transport.ssh import SSHTransport
from lab.transport.sshd import SshdServer


def bare_client(server: SshdServer, *, nodelay: bool) -> paramiko.SSHClient:
    """A stock paramiko client with the host key pinned (RejectPolicy), as a careful user writes it."""
    client = paramiko.SSHClient()
    key_type, key_b64 = server.host_public_key.split()[:2]
    key = paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
    client.get_host_keys().add(f"[127.0.0.1]:{server.port}", key_type, key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    sock = None
    if nodelay:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.connect(
        "127.0.0.1",
        server.port,
        "root",
        key_filename=str(server.client_key_path),
        look_for_keys=False,
        allow_agent=False,
        sock=sock,
        timeout=10,
    )
    return client


def bare_true(client: paramiko.SSHClient) -> None:
    _, stdout, _ = client.exec_command("true")
    stdout.channel.recv_exit_status()


def timed(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--runs", type=int, default=60, help="commands per measurement round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-transport-"))
    servers: list[SshdServer] = []
    try:
        started = time.perf_counter()
        first = SshdServer(workdir / "node-00").start()
        servers.append(first)
        for index in range(1, arguments.nodes):
            servers.append(
                SshdServer(workdir / f"node-{index:02d}", client_key_path=first.client_key_path).start()
            )
        startup = time.perf_counter() - started
        nodes = [server.node(f"bench-{index:02d}", user="root") for index, server in enumerate(servers)]
        rows: list[tuple[str, float, str, str]] = []

        # (a)-(c): one open connection each, interleaved rounds so drift hits all alike
        stock, floor = bare_client(first, nodelay=False), bare_client(first, nodelay=True)
        pool = ConnectionPool()
        ours = SSHTransport(nodes[0], pool=pool)
        samples: dict[str, list[float]] = {"a": [], "b": [], "c": []}
        cpu: dict[str, float] = {"b": 0.0, "c": 0.0}
        for action in (lambda: bare_true(stock), lambda: bare_true(floor), lambda: ours.run(["true"])):
            timed(action, 5)  # warm-up
        for _ in range(arguments.rounds):
            samples["a"] += timed(lambda: bare_true(stock), max(5, arguments.runs // 6))
            # (b) and (c) alternate command by command, so load from other processes hits both alike
            for _ in range(arguments.runs):
                for key, action in (("b", lambda: bare_true(floor)), ("c", lambda: ours.run(["true"]))):
                    before_cpu, before = cpu_seconds(), time.perf_counter()
                    action()
                    samples[key].append(time.perf_counter() - before)
                    cpu[key] += cpu_seconds() - before_cpu
        stock.close()
        floor.close()
        pool.close_all()
        floor_ms = median_ms(samples["b"])
        per_cmd_cpu = {key: cpu[key] / len(samples[key]) * 1000 for key in cpu}
        rows.append(
            (
                "(a) bare paramiko exec, stock (no TCP_NODELAY)",
                median_ms(samples["a"]),
                f"{median_ms(samples['a']) / floor_ms:.2f} x (b)",
                "",
            )
        )
        rows.append(
            (
                "(b) bare paramiko exec, TCP_NODELAY [floor]",
                floor_ms,
                "1.00 x (b)",
                f"cpu {per_cmd_cpu['b']:.2f} ms/cmd",
            )
        )
        ratio_c = median_ms(samples["c"]) / floor_ms
        rows.append(
            (
                "(c) SSHTransport.run(['true'])",
                median_ms(samples["c"]),
                f"{ratio_c:.2f} x (b)  target <= 1.10 {'OK' if ratio_c <= 1.10 else 'MISSED'}",
                f"cpu {per_cmd_cpu['c']:.2f} ms/cmd",
            )
        )

        # (d) new connection: TCP + key exchange + auth (no command)
        bare_connect: list[float] = []
        our_connect: list[float] = []
        for index in range(10):
            started = time.perf_counter()
            bare_client(first, nodelay=True).close()
            bare_connect.append(time.perf_counter() - started)
            connection_pool = ConnectionPool()
            fresh = dataclasses.replace(nodes[0], name=f"connect-{index}")
            started = time.perf_counter()
            SSHTransport(fresh, pool=connection_pool).connect()
            our_connect.append(time.perf_counter() - started)
            connection_pool.close_all()
        rows.append(("(d) new connection, bare paramiko", median_ms(bare_connect), "", ""))
        rows.append(
            (
                "(d) new connection, SSHTransport.connect()",
                median_ms(our_connect),
                f"{median_ms(our_connect) / median_ms(bare_connect):.2f} x bare",
                "",
            )
        )

        # (e) cold fan-out: fresh connections to every node, one command each
        def bare_fanout() -> None:
            def one(server: SshdServer) -> int:
                client = bare_client(server, nodelay=False)
                try:
                    _, stdout, _ = client.exec_command("true")
                    return stdout.channel.recv_exit_status()
                finally:
                    client.close()

            with ThreadPoolExecutor(max_workers=len(servers)) as executor:
                assert all(status == 0 for status in executor.map(one, servers))

        def our_fanout() -> None:
            outcomes = run_on_nodes(nodes, ["true"], pool=ConnectionPool())
            assert all(outcome.status == "ok" for outcome in outcomes), outcomes

        fan: dict[str, list[float]] = {"bare": [], "ours": []}
        fan_cpu: dict[str, float] = {"bare": 0.0, "ours": 0.0}
        bare_fanout()
        our_fanout()
        for _ in range(arguments.rounds):
            for key, action in (("bare", bare_fanout), ("ours", our_fanout)):
                before = cpu_seconds()
                fan[key] += timed(action, 1)
                fan_cpu[key] += cpu_seconds() - before
        count = len(servers)
        bare_fan_ms = median_ms(fan["bare"])
        ratio_e = median_ms(fan["ours"]) / bare_fan_ms
        per_host = {key: fan_cpu[key] / arguments.rounds / count * 1000 for key in fan_cpu}
        rows.append(
            (
                f"(e) cold fan-out to {count} nodes, bare paramiko threads",
                bare_fan_ms,
                "1.00 x bare",
                f"cpu {per_host['bare']:.1f} ms/host",
            )
        )
        rows.append(
            (
                f"(e) cold fan-out to {count} nodes, run_on_nodes",
                median_ms(fan["ours"]),
                f"{ratio_e:.2f} x bare  target <= 1.3 {'OK' if ratio_e <= 1.3 else 'MISSED'}",
                f"cpu {per_host['ours']:.1f} ms/host",
            )
        )

        print(f"sshd servers: {count} started in {startup:.2f} s (loopback, 127.0.0.1)")
        print(f"{'measurement':<58} {'median ms':>10}  {'ratio':<34} client CPU")
        for label, value, ratio, extra in rows:
            print(f"{label:<58} {value:>10.2f}  {ratio:<34} {extra}")
        return 0
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())

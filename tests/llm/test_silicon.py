"""Proof of which silicon served a run: the emulated endpoint's load on its cards, read back by the adapter.

The endpoint's :class:`CardLoad` puts busy intervals on an emulated ATOM-Max node's state; its
``rbln-smi`` (the emulated tool, in-process at fixed emulated times) prints them, the real
Rebellions adapter reads them, and :func:`prove_served` decides which cards worked. The
transport below only routes the adapter's commands to the emulated tool (a test double of the
transport layer, lower than what is tested).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.devices import adapter_for
from lab.devices.base import DeviceAdapter
from lab.emulator.llm_load import LEASE_S, CardLoad
from lab.llm.silicon import CardActivity, SiliconProof, prove_served
from lab.performance.result import AgentResult
from lab.performance.telemetry import telemetry_commands
from lab.transport.base import Transport
from lab.transport.result import Command, CommandResult, ShellScript, render_command
from tests.emulator.conftest import make_node as make_node  # the emulated node fixture
from tests.emulator.helpers import EmulatedNode

DIES = 4  # an ATOM-Max card shows four devices in rbln-smi


class ToolTransport(Transport):
    """Runs ``rbln-smi ARGS`` as the emulated tool at the emulated time ``at``."""

    def __init__(self, node: EmulatedNode) -> None:
        self.node = node
        self.node_name = "emu"
        self.at = 0.0

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        assert not isinstance(command, ShellScript)
        program, *arguments = list(command)
        assert program == "rbln-smi", program
        done = self.node.tool("rbln_smi", *arguments, at=self.at)
        return CommandResult("emu", render_command(list(command)), done.status, done.stdout, done.stderr, 0.0)

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        raise NotImplementedError

    def get(self, remote_path: str, local_path: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release."""


def test_proof_rules() -> None:
    busy, idle = CardActivity(0, 97.0, 300.0, 60.0), CardActivity(1, 1.0, 61.0, 60.0)
    assert SiliconProof((0,), {0: busy, 1: idle}, samples=3).problem() is None
    wrong = SiliconProof((1,), {0: busy, 1: idle}, samples=3)
    assert wrong.active == (0,)
    problem = wrong.problem()
    assert problem is not None and problem.startswith("not served by the cards under test")
    assert "card(s) [1] under test stayed idle" in problem and "load appeared on card(s) [0]" in problem
    both = SiliconProof((0,), {0: busy, 1: CardActivity(1, 90.0, 280.0, 60.0)}, samples=3).problem()
    assert both is not None and "card(s) [0] under test" not in both and "card(s) [1], not asked for" in both
    assert "no readable vendor-tool sample" in str(SiliconProof((0,), {}, samples=0).problem())
    unreadable = SiliconProof((0,), {0: CardActivity(0, None, None, None)}, samples=2).problem()
    assert unreadable is not None and "no utilisation or power" in unreadable
    # a tool without utilisation: power rising from idle, or busy from the first sample (≥ half TDP)
    assert CardActivity(0, None, 58.0, 9.0).active is True
    assert CardActivity(0, None, 59.0, 57.0, tdp_watts=60.0).active is True
    assert CardActivity(0, None, 10.0, 9.0, tdp_watts=60.0).active is False


def test_the_endpoint_s_load_shows_on_its_cards_through_the_vendor_tool(
    make_node: Callable[..., EmulatedNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    node = make_node("atom-max", 2)
    transport = ToolTransport(node)

    def factory(inner: Transport) -> DeviceAdapter:
        return adapter_for("rbln-smi", inner)

    commands = telemetry_commands(factory, transport)
    monkeypatch.setenv("KCLOUD_EMU_TIME", "10.0")
    load = CardLoad(str(node.path), cards=[1])
    load.step()  # the engine's first step at t = 10: card 1 busy for one lease

    def run(*times: float) -> AgentResult:
        samples = []
        for at in times:
            transport.at = at
            outputs = [transport.run(command) for command in commands]
            samples.append(
                {"t": at, "outputs": [{"exit": out.exit_status, "stdout": out.stdout} for out in outputs]}
            )
        return AgentResult("emu", {"telemetry": {"samples": samples}})

    during = run(10.2, 10.0 + LEASE_S * 0.8)
    served = prove_served(during, factory, commands, targets=(1,), dies_per_card=DIES)
    assert served.active == (1,) and served.problem() is None
    assert set(served.cards) == {0, 1}  # eight dies read back as two cards
    assert (served.cards[1].peak_utilization_percent or 0) > 90
    assert (served.cards[0].peak_utilization_percent or 0) < 5
    mislabelled = prove_served(during, factory, commands, targets=(0,), dies_per_card=DIES)
    assert "card(s) [0] under test stayed idle and load appeared on card(s) [1]" in str(mislabelled.problem())

    monkeypatch.setenv("KCLOUD_EMU_TIME", "10.6")
    load.step()  # past half the lease: extended, not a second interval
    monkeypatch.setenv("KCLOUD_EMU_TIME", "10.7")
    load.step()  # within the extended lease: no state write
    assert len(node.node_dir.read().device(1).busy) == 1
    extended = prove_served(run(10.0 + LEASE_S * 1.4), factory, commands, targets=(1,), dies_per_card=DIES)
    assert extended.active == (1,)
    after = prove_served(run(12.0 + LEASE_S), factory, commands, targets=(1,), dies_per_card=DIES)
    assert after.active == ()  # the engine stopped stepping: idle once the lease ran out

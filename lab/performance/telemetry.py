"""Device telemetry during a run: which commands the agent samples, and reading its samples back.

The agent only runs commands and keeps their raw output; reading them is the vendor
adapter's job (``lab.devices``), here on the controller. The commands are learnt by
listing the devices once through a recording transport, and each sample is read back by
the same adapter through a replaying transport::

    commands = telemetry_commands(adapter_factory, transport)        # [["rbln-smi", "--json"]]
    # a tool's probe (nvidia-smi --help-query-gpu) is read once here, not sampled: commands.fixed
    series = card_series(result, adapter_factory, tool_indexes=[0])  # CardSample per sample
    mean_power(series, window=result.window)                         # W, over LoadGen's window

Power here is the card's *board* power as its tool reports it, not MLPerf's wall power.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from lab.devices.base import DeviceAdapter
from lab.devices.model import DeviceReport
from lab.errors import InfrastructureError
from lab.performance.result import AgentResult
from lab.transport.base import Transport
from lab.transport.result import Command, CommandResult, ShellScript, render_command
from lab.transport.wrapper import TransportWrapper

AdapterFactory = Callable[[Transport], DeviceAdapter]


class RecordingTransport(TransportWrapper):
    """Passes commands through to ``inner`` and remembers their argument vectors (``commands``)
    and what each successful one printed (``outputs``)."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.commands: list[list[str]] = []
        self.outputs: dict[tuple[str, ...], str] = {}
        self.results: dict[tuple[str, ...], CommandResult] = {}

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        if isinstance(command, ShellScript):
            raise InfrastructureError("the device adapter uses shell text: it cannot be sampled by the agent")
        self.commands.append(list(command))
        result = super().run(command, timeout=timeout, stdin=stdin, raise_on_timeout=raise_on_timeout)
        if result.ok:
            self.outputs[tuple(command)] = result.stdout
        self.results[tuple(command)] = result
        return result


class ReplayTransport(Transport):
    """Answers each known command with the output the agent recorded for it."""

    def __init__(self, outputs: Mapping[str, CommandResult], node_name: str = "node") -> None:
        self.outputs = outputs
        self.node_name = node_name

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        text = render_command(command)
        try:
            return self.outputs[text]
        except KeyError:
            raise InfrastructureError(f"no recorded telemetry output for {text!r}") from None

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        raise InfrastructureError("a replayed telemetry sample has no files")

    def get(self, remote_path: str, local_path: str) -> None:
        raise InfrastructureError("a replayed telemetry sample has no files")

    def close(self) -> None:
        """Nothing to release."""


class TelemetryCommands(list[list[str]]):
    """The argument vectors the agent samples, plus ``fixed``: the results of the commands the
    adapter reads once per run (``DeviceAdapter.fixed_arguments``), recorded when the list was
    learnt and replayed with every sample."""

    fixed: dict[str, CommandResult]

    def __init__(self, commands: Sequence[list[str]] = (), fixed: Mapping[str, CommandResult] | None = None):
        super().__init__(commands)
        self.fixed = dict(fixed or {})


def telemetry_commands(factory: AdapterFactory, transport: Transport) -> TelemetryCommands:
    """The argument vectors a device listing runs (it also proves the tool works before the run)."""
    recorder = RecordingTransport(transport)
    adapter = factory(recorder)
    adapter.list_devices()
    fixed = {(adapter.program, *arguments) for arguments in adapter.fixed_arguments()}
    unique: list[list[str]] = []
    for command in recorder.commands:
        if command not in unique and tuple(command) not in fixed:
            unique.append(command)
    recorded = {
        render_command(list(command)): result
        for command, result in recorder.results.items()
        if command in fixed
    }
    return TelemetryCommands(unique, recorded)


@dataclass(frozen=True)
class CardSample:
    """One telemetry sample of the cards a run used (power summed, temperature the hottest)."""

    t: float
    power_watts: float | None
    temperature_celsius: float | None
    utilization_percent: float | None
    throttled: bool | None


def _reports(
    sample: Mapping[str, object], commands: Sequence[Sequence[str]], factory: AdapterFactory, node: str
) -> tuple[DeviceReport, ...] | None:
    outputs = sample.get("outputs")
    if not isinstance(outputs, list) or len(outputs) != len(commands):
        return None
    recorded: dict[str, CommandResult] = dict(getattr(commands, "fixed", {}))
    for command, output in zip(commands, outputs, strict=True):
        if not isinstance(output, dict) or output.get("exit") != 0:
            return None  # the tool failed at that instant: the sample is a gap, not a zero
        text = render_command(list(command))
        recorded[text] = CommandResult(node, text, 0, str(output.get("stdout", "")), "", 0.0)
    return factory(ReplayTransport(recorded, node)).list_devices()


def sample_reports(
    result: AgentResult, factory: AdapterFactory, commands: Sequence[Sequence[str]]
) -> list[tuple[DeviceReport, ...]]:
    """Every readable sample of the run as the adapter reads it: all the node's cards, in tool order."""
    telemetry = result.data.get("telemetry")
    samples = telemetry.get("samples") if isinstance(telemetry, dict) else None
    readable = []
    for sample in samples if isinstance(samples, list) else []:
        if isinstance(sample, dict):
            reports = _reports(sample, commands, factory, result.node)
            if reports is not None:
                readable.append(reports)
    return readable


def card_series(
    result: AgentResult,
    factory: AdapterFactory,
    commands: Sequence[Sequence[str]],
    tool_indexes: Sequence[int],
) -> list[CardSample]:
    """Per-sample readings of the cards whose tool index (first die) is in ``tool_indexes``."""
    telemetry = result.data.get("telemetry")
    samples = telemetry.get("samples") if isinstance(telemetry, dict) else None
    series: list[CardSample] = []
    for sample in samples if isinstance(samples, list) else []:
        if not isinstance(sample, dict) or not isinstance(sample.get("t"), int | float):
            continue
        reports = _reports(sample, commands, factory, result.node)
        if reports is None:
            continue
        chosen = [report for report in reports if report.identity.index in tool_indexes]
        if len(chosen) != len(tool_indexes):
            continue
        powers = [r.telemetry.power_watts for r in chosen]
        temperatures = [
            r.telemetry.temperature_celsius for r in chosen if r.telemetry.temperature_celsius is not None
        ]
        utilizations = [
            r.telemetry.utilization_percent for r in chosen if r.telemetry.utilization_percent is not None
        ]
        throttles = [r.telemetry.thermally_throttled for r in chosen]
        series.append(
            CardSample(
                t=float(sample["t"]),
                power_watts=sum(p for p in powers if p is not None)
                if all(p is not None for p in powers)
                else None,
                temperature_celsius=max(temperatures) if temperatures else None,
                utilization_percent=sum(utilizations) / len(utilizations) if utilizations else None,
                throttled=any(throttles) if all(t is not None for t in throttles) else None,
            )
        )
    return series


def mean_power(series: Sequence[CardSample], window: tuple[float, float]) -> float | None:
    """Mean board power of the samples inside LoadGen's performance window (None: none there)."""
    start, end = window
    inside = [s.power_watts for s in series if start <= s.t <= end and s.power_watts is not None]
    return sum(inside) / len(inside) if inside else None

"""The node agent as the suites' one workload runner: smoke, run, hold and windowed soaks.

The same agent that runs LoadGen (``lab.agent``, pushed over SFTP as a zipapp) runs every
workload the functional and stability suites need, on whatever backend the inventory picks
for the node (``lab.performance.backend_choice``): the emulated card, onnxruntime on a CPU
reference node, or a vendor runtime. No suite path differs between emulated and real nodes::

    workloads = NodeWorkloads(transport, node, catalog)
    outputs = workloads.smoke(0, inputs)                  # the card's outputs (float rows)
    done = workloads.run(0, queries=20, timeout=30)       # WorkloadOutcome(status="ok", ...)
    stream = workloads.start("Windows", 0, seconds=600, window=60)   # a WorkloadStream
    workloads.close()

``WorkloadOutcome.status`` is "ok", "busy" (another process owns the card), or "error" with
``kind`` "device" (the card could not be opened: the card's fault) or "runtime"/"" (the node
lacks the runner or its runtime: infrastructure, never the card's fault).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.errors import InfrastructureError
from lab.inventory.model import DeviceModel, Node
from lab.performance.agent_runner import AgentRunner
from lab.performance.backend_choice import choose_backend
from lab.performance.settings import PerfSettings
from lab.performance.tasks import TaskData, load_task
from lab.stability.stream import WorkloadStream
from lab.transport.base import Transport

START_GRACE_S = 60.0  # the agent's own deadline: the work's wall time plus start-up


class RunnerUnavailable(InfrastructureError):
    """The node cannot run the workload runner (no Python, no runtime, no model): ERROR, not FAIL."""


@dataclass(frozen=True, slots=True)
class WorkloadOutcome:
    """What a finished agent call reported."""

    status: str  # ok | busy | error
    kind: str  # for errors: device (the card's fault) | runtime / "" (the node's)
    detail: str
    result: Mapping[str, object]

    @property
    def card_fault(self) -> bool:
        return self.status == "error" and self.kind == "device"


class NodeWorkloads:
    """Runs workload requests through the node agent (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        node: Node,
        catalog: Mapping[str, DeviceModel],
        *,
        model: str = "resnet50",
        batch: int = 1,
    ) -> None:
        self.transport = transport
        self.node = node
        self.backend = choose_backend(node, catalog)
        self.runner = AgentRunner(transport, python=self.backend.python, environment=self.backend.environment)
        self.model = model
        self.batch = batch
        self._model_path: str | None = None
        self._inputs_path: str | None = None
        self.task_name = PerfSettings.accuracy_task  # the default task: its model and inputs

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def _options(self, device: int, *, outputs: bool = False) -> dict[str, object]:
        options: dict[str, object] = {"model": self.model, "batch": self.batch, **self.backend.options}
        # the emulated card computes the model's outputs only for the smoke check; its timings
        # come from the card model, so other workloads need no model file on the node
        wants_model = self.backend.name == "onnxruntime-cpu" or (self.backend.name == "emulated" and outputs)
        if "model_path" not in options and wants_model:
            if self._model_path is None:
                self._model_path = self.runner.push_file(self.task.files.model)
            options["model_path"] = self._model_path
        if self.backend.name == "onnxruntime-cpu" and "inputs_path" not in options:
            # a real engine runs the task's real samples (the emulated card's timing needs none)
            if self._inputs_path is None:
                self._inputs_path = self.runner.push_file(self.task.files.inputs)
            options["inputs_path"] = self._inputs_path
        if self.backend.name == "onnxruntime-cpu":
            # the host CPU has no owner of its own: the agents on this node claim it by a lock
            where = f"{self.node.name}@{self.node.address}:{self.node.port}"
            digest = hashlib.sha256(where.encode()).hexdigest()[:12]
            options["claim"] = f"/tmp/kcloud-agent-claim-{digest}-{device}.lock"
        return options

    @property
    def task(self) -> TaskData:
        return load_task(self.task_name)

    def request(self, scenario: str, device: int, *, deadline: float, **fields: object) -> dict[str, object]:
        """An agent request for one card."""
        options = self._options(device, outputs=scenario == "Smoke")
        if "inputs_path" in options:
            fields.setdefault("sample_count", self.task.sample_count)  # the QSL: the data set's rows
        return {
            "scenario": scenario,
            "backend": {
                "name": self.backend.name,
                "options": options,
            },
            "devices": [device],
            "deadline_s": max(1.0, deadline),
            **fields,
        }

    def call(self, request: Mapping[str, object], *, timeout: float, label: str) -> WorkloadOutcome:
        """Run ``request`` to completion; a hang past ``timeout`` raises ``CommandTimeout``."""
        command, _ = self.runner.prepare(request, label)
        result = self.transport.run(command, timeout=timeout)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        try:
            data = json.loads(lines[-1]) if lines else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            detail = (result.stderr.strip() or result.stdout.strip() or f"exit {result.exit_status}")[-500:]
            raise RunnerUnavailable(
                f"{self.node.name}: the workload runner (node agent, {self.backend.python}) "
                f"did not run: {detail}"
            )
        status = str(data.get("status", "error"))
        return WorkloadOutcome(status, str(data.get("kind", "")), str(data.get("error", "")), data)

    def smoke(
        self, device: int, inputs: Sequence[Sequence[float]], *, timeout: float = 120.0
    ) -> list[list[float]]:
        """The card's outputs for ``inputs``; ``RunnerUnavailable`` when the node cannot run it."""
        request = self.request("Smoke", device, deadline=timeout, inputs=[list(row) for row in inputs])
        outcome = self.call(request, timeout=timeout + START_GRACE_S, label="smoke")
        if outcome.status != "ok":
            if outcome.card_fault:
                raise CardUnavailable(f"npu{device} could not run the smoke model: {outcome.detail}")
            raise RunnerUnavailable(
                f"{self.node.name}: the smoke workload failed: {outcome.status}: {outcome.detail}"
            )
        outputs = outcome.result.get("outputs")
        if not isinstance(outputs, list):
            raise RunnerUnavailable(f"{self.node.name}: the agent returned no outputs")
        return [[float(value) for value in row] for row in outputs]

    def run(self, device: int, *, queries: int, timeout: float) -> WorkloadOutcome:
        """Run ``queries`` queries on the card (``CommandTimeout`` when it does not finish in time)."""
        request = self.request("Run", device, deadline=timeout, query_count=queries)
        return self.call(request, timeout=timeout + START_GRACE_S, label="run")

    def start(
        self, scenario: str, device: int, *, seconds: float, window: float | None = None, wall_seconds: float
    ) -> WorkloadStream:
        """Start a ``Hold`` or ``Windows`` workload in the background (``seconds``: node seconds)."""
        fields: dict[str, object] = {"seconds": seconds}
        if window is not None:
            fields["window_s"] = window
        request = self.request(scenario, device, deadline=wall_seconds + START_GRACE_S, **fields)
        command, _ = self.runner.prepare(request, scenario.lower())
        return WorkloadStream.start(self.transport, command, device=device)

    def close(self) -> None:
        """Remove the agent's directory on the node."""
        self.runner.cleanup()


class CardUnavailable(RuntimeError):
    """The card could not be opened by its runtime (e.g. it fell off the bus): the card's fault."""

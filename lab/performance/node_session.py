"""Everything a performance test needs on one node: backend, settings, agent runner, telemetry.

::

    with PerformanceSession(transport, node, catalog, profile, duration_override=2.0) as perf:
        plan = perf.plan(catalog["rngd"])                  # requests with telemetry of furiosa-smi
        offline = perf.run(plan.offline([0]), "offline")   # AgentResult, logs fetched locally
        power = perf.mean_power(offline, catalog["rngd"], tool_indexes=[0])
        card, run = perf.accuracy(catalog["rngd"], 0, target_fraction=0.99)   # CardAccuracy, AgentResult
        audit = audit_logs(accuracy_log_of(offline), accuracy_log_of(run))  # TEST01 (lab.performance.audit)

Every run's samples are the accuracy task's data set (``lab.performance.tasks``; the profile's
``accuracy_task``): its model and inputs are pushed to the node once, unless the inventory
points the backend at a model already there.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from lab.devices import adapter_for
from lab.inventory.model import DeviceModel, Node, Profile
from lab.performance.accuracy import CardAccuracy
from lab.performance.agent_runner import ACCURACY_LOG, AgentRunner
from lab.performance.backend_choice import BackendChoice, choose_backend
from lab.performance.host_busy import HostPressure, computes_on_this_machine
from lab.performance.result import AgentError, AgentResult
from lab.performance.scenarios import ScenarioPlan
from lab.performance.settings import PerfSettings
from lab.performance.tasks import TaskData, load_task, read_accuracy_log
from lab.performance.telemetry import CardSample, card_series, mean_power, telemetry_commands
from lab.performance.wall_power import RESULT_KEY as WALL_POWER_KEY
from lab.performance.wall_power import WallPowerWatch, WallSeries
from lab.transport.base import Transport

LOCAL_TIMING_LOCK = Path(tempfile.gettempdir()) / "kcloud-lab-local-loadgen.lock"


@contextmanager
def _local_timing_lock() -> Iterator[None]:
    """Machine-wide turn-taking for LoadGen runs on nodes that share this machine's cores (a file
    lock: xdist workers are processes, and in-process locks mean nothing across them)."""
    handle = os.open(LOCAL_TIMING_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def accuracy_log_of(result: AgentResult) -> Path:
    """The local copy of the run's LoadGen accuracy log (fetched with its other logs)."""
    for path in result.evidence:
        if path.endswith(ACCURACY_LOG):
            return Path(path)
    raise AgentError("the run kept outputs but its LoadGen accuracy log was not fetched", node=result.node)


class PerformanceSession:
    def __init__(
        self,
        transport: Transport,
        node: Node,
        catalog: Mapping[str, DeviceModel],
        profile: Profile,
        *,
        duration_override: float | None = None,
    ) -> None:
        self.transport = transport
        self.node = node
        self.catalog = catalog
        self.settings = PerfSettings.from_profile(
            profile.settings, profile=profile.name, duration_override=duration_override
        )
        self.backend = choose_backend(node, catalog)
        self.runner = AgentRunner(transport, python=self.backend.python, environment=self.backend.environment)
        self.local_logs = Path(tempfile.mkdtemp(prefix="kcloud-loadgen-logs."))
        self._commands: dict[str, list[list[str]]] = {}
        self.wall = (
            WallPowerWatch(node, interval_s=self.settings.telemetry_interval_s)
            if node.bmc is not None
            else None
        )
        self.host = HostPressure(node, self.settings.host_busy_cpu_pressure)  # the busy-host rule

    @property
    def worst_cpu_pressure(self) -> float | None:
        """The largest share of a run, over this session's runs, in which the node's host had
        tasks waiting for a CPU (Linux PSI; None where unknown)."""
        return self.host.worst

    @worst_cpu_pressure.setter
    def worst_cpu_pressure(self, pressure: float | None) -> None:
        self.host.worst = pressure

    def telemetry_for(self, model: DeviceModel | None) -> list[list[str]]:
        """The vendor tool commands to sample for ``model`` (none for a CPU reference node)."""
        if model is None:
            return []
        if model.key not in self._commands:
            self._commands[model.key] = telemetry_commands(lambda t: adapter_for(model, t), self.transport)
        return self._commands[model.key]

    @property
    def task(self) -> TaskData:
        """The accuracy task (built on the controller on first use)."""
        return load_task(self.settings.accuracy_task)

    def plan(self, model: DeviceModel | None) -> ScenarioPlan:
        """Requests for this node's backend, the task's model and inputs pushed on first use."""
        backend = self.backend
        task = self.task
        options = dict(backend.options)
        if task.on_node:  # a task file's model and inputs are already on the node: nothing to push
            options.setdefault("model_path", str(task.files.model))
            options.setdefault("inputs_path", str(task.files.inputs))
        if "model_path" not in options:
            options["model_path"] = self.runner.push_file(task.files.model)
            if backend.name == "onnxruntime-cpu" and task.ops_per_sample is not None:
                options["ops_per_sample"] = task.ops_per_sample
        if "inputs_path" not in options:
            options["inputs_path"] = self.runner.push_file(task.files.inputs)
        backend = BackendChoice(backend.name, backend.python, backend.environment, options)
        return ScenarioPlan(self.settings, backend, self.telemetry_for(model), sample_count=task.sample_count)

    def accuracy(
        self, model: DeviceModel | None, device: int, *, target_fraction: float
    ) -> tuple[CardAccuracy, AgentResult]:
        """The card's LoadGen AccuracyOnly run, its log scored by the task's metric (the
        result's ``log`` is the fetched log's local path until the caller files it as evidence)."""
        result = self.run(self.plan(model).accuracy(device), f"accuracy-npu{device}")
        log = accuracy_log_of(result)
        outputs = read_accuracy_log(log)
        return CardAccuracy.judge(self.task, outputs, target_fraction=target_fraction, log=str(log)), result

    def run(self, request: Mapping[str, object], label: str) -> AgentResult:
        if not computes_on_this_machine(self.node):
            result = self._run_sampling_wall_power(request, label)
        else:
            # Emulated and loopback nodes all compute on this machine's cores: two LoadGen runs
            # at once (two xdist workers) would measure each other, not the device. They take turns.
            with _local_timing_lock():
                result = self._run_sampling_wall_power(request, label)
        self.host.note(result.host_cpu_pressure)
        return result

    def _run_sampling_wall_power(self, request: Mapping[str, object], label: str) -> AgentResult:
        """The run, with the BMC's wall power sampled through it when the node has a BMC (a BMC
        that cannot be read leaves only ``efficiency-wall`` ERROR: ``WallPowerWatch``)."""
        if self.wall is None:
            return self.runner.run(request, evidence_dir=self.local_logs, label=label)
        return self.wall.around(lambda: self.runner.run(request, evidence_dir=self.local_logs, label=label))

    def wall_series(self, result: AgentResult) -> WallSeries | None:
        """The run's wall power series (None: the node has no BMC)."""
        return WallSeries.from_json(result.data.get(WALL_POWER_KEY))

    def host_busy_reason(self) -> str | None:
        """Why a missed limit cannot be blamed on the device, or None when it can
        (:class:`lab.performance.host_busy.HostPressure`)."""
        return self.host.reason()

    def series(
        self, result: AgentResult, model: DeviceModel, tool_indexes: Sequence[int]
    ) -> list[CardSample]:
        return card_series(result, lambda t: adapter_for(model, t), self.telemetry_for(model), tool_indexes)

    def mean_power(
        self, result: AgentResult, model: DeviceModel, tool_indexes: Sequence[int]
    ) -> float | None:
        """Mean board power of those cards over LoadGen's performance window (W)."""
        return mean_power(self.series(result, model, tool_indexes), result.window)

    def close(self) -> None:
        try:
            self.runner.cleanup()
        finally:
            shutil.rmtree(self.local_logs, ignore_errors=True)
            if self.wall is not None:
                self.wall.close()

    def __enter__(self) -> PerformanceSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

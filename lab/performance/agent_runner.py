"""Push the agent to a node over the transport, run it with a deadline, fetch its result and logs.

::

    runner = AgentRunner(transport, python="python3", environment={})
    result = runner.run(request, evidence_dir=Path("evidence"), files=[model_path])

* The zipapp is built from ``lab/agent`` at push time and copied with ``put`` (SFTP on SSH
  nodes) into a fresh directory made by ``mktemp -d`` on the node; so are the request and
  any ``files`` (a model). ``request["output_dir"]`` is filled in by the runner.
* The command is an argument vector (never shell text built from inventory values).
* A crash (no result, an error result, non-zero exit) or a hang (past ``deadline_s`` plus a
  grace) raises ``AgentError`` — an ``InfrastructureError``, so the outcome is ERROR, with
  the agent's stderr attached.
* LoadGen's summary and detail logs are fetched next to the evidence when asked, and its
  accuracy log (``mlperf_log_accuracy.json``) when the run kept outputs (an accuracy run, or a
  performance run logging a sample of them for the TEST01 audit).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from lab.errors import CommandTimeout, TransportError
from lab.performance.result import AgentError, AgentResult
from lab.performance.zipapp import build_agent
from lab.transport.base import Transport

DEADLINE_GRACE_S = 30.0  # the transport's deadline: the agent's own, plus start-up and output
LOG_FILES = ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "user.conf")
ACCURACY_LOG = "mlperf_log_accuracy.json"


class AgentRunner:
    """Runs agent requests on one node (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        *,
        python: str = "python3",
        environment: Mapping[str, str] | None = None,
        build_dir: Path | None = None,
    ) -> None:
        self.transport = transport
        self.python = python
        self.environment = dict(environment or {})
        self.build_dir = build_dir or Path(tempfile.gettempdir()) / "kcloud-lab-agent"
        self._remote_dir: str | None = None
        self._remote_agent: str | None = None
        self._pushed: dict[str, str] = {}
        self._runs = 0

    @property
    def node(self) -> str:
        return getattr(self.transport, "node_name", "node")

    def _workdir(self) -> str:
        if self._remote_dir is None:
            made = self.transport.check(["mktemp", "-d", "/tmp/kcloud-agent.XXXXXXXX"])
            self._remote_dir = made.stdout.strip()
            if not self._remote_dir.startswith("/tmp/kcloud-agent."):
                raise AgentError(f"mktemp printed an unexpected path {self._remote_dir!r}", node=self.node)
        return self._remote_dir

    def push_file(self, local: Path) -> str:
        """Copy ``local`` into the node's agent directory once; returns its remote path."""
        key = str(local.resolve())
        if key not in self._pushed:
            remote = f"{self._workdir()}/{local.name}"
            self.transport.put(str(local), remote)
            self._pushed[key] = remote
        return self._pushed[key]

    def agent_path(self) -> str:
        if self._remote_agent is None:
            self._remote_agent = self.push_file(build_agent(self.build_dir))
        return self._remote_agent

    def command(self, request_path: str) -> list[str]:
        """The argument vector that runs the agent on the node."""
        prefix = ["env", *(f"{name}={value}" for name, value in sorted(self.environment.items()))]
        return [*(prefix if self.environment else []), self.python, self.agent_path(), request_path]

    def prepare(
        self, request: Mapping[str, object], label: str = "run"
    ) -> tuple[list[str], dict[str, object]]:
        """Push ``request`` (its ``output_dir`` filled in) and return the command that runs it and
        the request as sent: for callers that run the agent themselves (in the background)."""
        self._runs += 1
        name = f"{label}-{self._runs}"
        workdir = self._workdir()
        payload = dict(request)
        payload["output_dir"] = f"{workdir}/{name}"
        local_request = Path(tempfile.mkdtemp(prefix="kcloud-request.")) / f"{name}.json"
        try:
            local_request.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
            remote_request = f"{workdir}/{name}.json"
            self.transport.put(str(local_request), remote_request)
        finally:
            shutil.rmtree(local_request.parent, ignore_errors=True)
        return self.command(remote_request), payload

    def run(
        self,
        request: Mapping[str, object],
        *,
        evidence_dir: Path | None = None,
        label: str = "run",
    ) -> AgentResult:
        """Run one request; ``AgentError`` (→ ERROR) when the agent crashes, hangs or fails."""
        command, payload = self.prepare(request, label)
        name = str(payload["output_dir"]).rsplit("/", 1)[-1]
        deadline = float(payload.get("deadline_s", 600.0))  # type: ignore[arg-type]
        try:
            outcome = self.transport.run(command, timeout=deadline + DEADLINE_GRACE_S)
        except CommandTimeout as error:
            stderr = error.result.stderr if error.result is not None else ""
            raise AgentError(
                f"the agent did not finish within {deadline + DEADLINE_GRACE_S:g} s and was killed",
                node=self.node,
                stderr=stderr,
            ) from error
        if outcome.exit_status != 0:
            detail = _error_line(outcome.stdout) or f"exit status {outcome.exit_status}"
            raise AgentError(f"the agent failed: {detail}", node=self.node, stderr=outcome.stderr)
        result = AgentResult.parse(outcome.stdout, node=self.node, stderr=outcome.stderr)
        if evidence_dir is not None:
            logs = result.data.get("logs")
            wanted = (
                (*LOG_FILES, ACCURACY_LOG) if isinstance(logs, dict) and "accuracy" in logs else LOG_FILES
            )
            fetched = self._fetch_logs(payload["output_dir"], evidence_dir, name, wanted)
            result = replace(result, evidence=fetched)
        return result

    def _fetch_logs(
        self, remote_dir: object, evidence_dir: Path, name: str, wanted: Sequence[str] = LOG_FILES
    ) -> tuple[str, ...]:
        evidence_dir.mkdir(parents=True, exist_ok=True)
        fetched: list[str] = []
        for log in wanted:
            local = evidence_dir / f"{name}-{log}"
            try:
                self.transport.get(f"{remote_dir}/{log}", str(local))
            except (TransportError, OSError) as error:
                raise AgentError(f"cannot fetch LoadGen's {log}: {error}", node=self.node) from error
            fetched.append(str(local))
        return tuple(fetched)

    def cleanup(self) -> None:
        """Remove the agent's directory on the node (its logs have been fetched)."""
        if self._remote_dir is not None:
            self.transport.run(["rm", "-rf", "--", self._remote_dir])
            self._remote_dir = None
            self._remote_agent = None
            self._pushed.clear()


def _error_line(stdout: str) -> str | None:
    lines: Sequence[str] = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        data = json.loads(lines[-1])
    except ValueError:
        return lines[-1][:500]
    return str(data.get("error")) if isinstance(data, dict) and data.get("error") else None

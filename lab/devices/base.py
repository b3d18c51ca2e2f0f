"""The device adapter interface: run a vendor tool through a Transport, return the common model.

::

    from lab.devices import adapter_for

    adapter = adapter_for(inventory.catalog["rngd"], transport)   # picks FuriosaSmiAdapter
    for report in adapter.list_devices():
        print(report.identity.device, report.telemetry.temperature_celsius)

Errors (all ``InfrastructureError``, so the outcome is ERROR, never a device FAIL):

* the tool exits non-zero (missing tool, driver not loaded, "No devices were found") →
  ``CommandFailed`` with the command's stdout and stderr attached;
* the tool runs past the deadline → ``CommandTimeout`` (from the transport);
* the tool prints something the parser does not expect → ``ToolOutputError`` with the raw text.

A device *missing* from the tool's output is not an error here: adapters return what the
tool shows, and the functional suite compares that with the inventory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from lab.devices.model import DeviceProcess, DeviceReport
from lab.transport.base import Transport


class DeviceAdapter(ABC):
    """Reads one vendor tool on one node. Subclasses set ``tool`` and implement the queries.

    ``program`` overrides the executable name (e.g. ``rbln-stat``, the deprecated name of
    ``rbln-smi``, or an absolute path); ``timeout`` is the per-command deadline in seconds
    (None: the node's default).
    """

    tool: ClassVar[str]
    management_daemon: ClassVar[str | None] = None
    """The vendor service a certification checks is up (``systemctl is-active``), if any."""
    management_daemon_aliases: ClassVar[tuple[str, ...]] = ()
    """Other names the same service has on other driver releases (Rebellions: ``rbln_daemon``
    before ``rbln-smd``); a check accepts whichever of them is active."""
    reset_unavailable_reason: ClassVar[str | None] = None
    """Why ``reset_arguments`` is None (which document shows no reset), for the drill's SKIP."""
    runs_workloads: ClassVar[bool] = True
    """Offered as the ``workload`` feature of ``@pytest.mark.lab_feature``. The suites no longer
    ask for it: every node runs its workloads through the node agent (``lab.agent``)."""

    def __init__(
        self, transport: Transport, *, program: str | None = None, timeout: float | None = None
    ) -> None:
        self.transport = transport
        self.program = program or self.tool
        self.timeout = timeout

    @abstractmethod
    def list_devices(self) -> tuple[DeviceReport, ...]:
        """Every device the tool shows, in the tool's order, with identity, link, telemetry, health."""

    @abstractmethod
    def processes(self) -> tuple[DeviceProcess, ...] | None:
        """Processes (or runtime contexts) holding a device; None when the tool cannot list them."""

    def fixed_arguments(self) -> tuple[tuple[str, ...], ...]:
        """Argument vectors whose output does not change while the node runs (a tool's probe of
        what it supports, e.g. ``nvidia-smi --help-query-gpu``): a telemetry sampler reads them
        once per run instead of once per sample."""
        return ()

    def reset_arguments(self, index: int) -> list[str] | None:
        """The tool's arguments to reset device ``index``; None when the tool has no reset."""
        return None

    @property
    def supports_reset(self) -> bool:
        return self.reset_arguments(0) is not None

    @property
    def reset_skip_reason(self) -> str:
        """Why this adapter cannot reset a device, for a SKIP ("furiosa-smi documents no device reset …")."""
        return self.reset_unavailable_reason or f"{self.tool} has no device reset"

    def reset(self, index: int) -> str:
        """Reset device ``index`` (the tool's own index) and return what the tool printed.

        A refusal (device busy, missing) raises ``CommandFailed`` with the tool's message;
        an adapter whose tool has no reset raises ``NotImplementedError`` (check
        ``supports_reset`` first).
        """
        arguments = self.reset_arguments(index)
        if arguments is None:
            raise NotImplementedError(f"{self.tool} has no device reset")
        return self.run_tool(arguments)

    def run_tool(self, arguments: Sequence[str]) -> str:
        """Run the tool with ``arguments`` (an argument vector, never shell text) and return stdout.

        A non-zero exit raises ``CommandFailed`` (stdout and stderr attached).
        """
        result = self.transport.check([self.program, *arguments], timeout=self.timeout)
        return result.stdout

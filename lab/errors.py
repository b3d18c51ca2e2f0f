"""The project's exception tree.

Two families matter to every caller:

* ``InfrastructureError`` and its children mean *the lab could not measure*: the node
  was unreachable, its host key was refused, a command timed out, a tool printed
  something unparseable. The pytest plugin records these as ERROR, never as a failure
  of the device under test.
* A *verdict* against the device is an ``AssertionError`` (``CriterionFailed``), so that
  pytest, JUnit and Allure all classify it as a failure, not as a broken test.

``InventoryError`` is bad input data (a YAML mistake); it carries every problem found,
each with file:line:column, and the CLI exits with status 2 on it.

Causes are always chained (``raise ... from exc``) so the original error stays visible
in logs without being shown to users as a traceback.

::

    LabError
    ├── InventoryError                 bad inventory / catalog / profile data
    ├── InfrastructureError            → outcome ERROR
    │   ├── TransportError
    │   │   ├── UnreachableError       TCP connect / banner / jump host failed
    │   │   ├── AuthenticationError    no accepted credential
    │   │   ├── HostKeyError           unknown or changed host key
    │   │   ├── CommandTimeout         wall-clock deadline expired
    │   │   └── ConnectionLost         the connection dropped mid-command
    │   ├── CommandFailed              check() saw a non-zero exit status
    │   ├── ToolOutputError            a vendor tool printed something unexpected
    │   └── LeaseError                 the node is leased by someone else
    └── (verdicts are AssertionError: CriterionFailed)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.transport.result import CommandResult


class LabError(Exception):
    """Base of every error the framework raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake found in an input file, located precisely.

    ``str(problem)`` gives the compiler-style line users see::

        lab.yaml:12:9: nodes.n3.accelerators[0].model: unknown device model 'rngd2' (did you mean 'rngd'?)
    """

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InventoryError(LabError):
    """Inventory, catalog or profile data is invalid. ``problems`` lists every mistake found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        summary = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the inventory:\n{summary}")


class InfrastructureError(LabError):
    """The lab could not do its job; never counted against the device under test."""


class TransportError(InfrastructureError):
    """Reaching a node or running a command on it failed."""

    def __init__(self, message: str, *, node: str | None = None) -> None:
        self.node = node
        super().__init__(f"{node}: {message}" if node else message)


class UnreachableError(TransportError):
    """TCP connect, SSH banner, key exchange or a jump host failed or timed out."""


class AuthenticationError(TransportError):
    """The node refused every credential offered."""


class HostKeyError(TransportError):
    """The node's host key is unknown (and the trust mode does not allow learning it) or changed."""


class CertificateMismatch(HostKeyError):
    """A BMC's TLS certificate is not the one pinned in the inventory (or cannot be checked)."""


class BmcError(TransportError):
    """A BMC answered with an HTTP error or with something that is not the Redfish expected."""


class CommandTimeout(TransportError):
    """A command ran past its wall-clock deadline; its remote process group was killed."""

    def __init__(self, message: str, *, node: str | None = None, result: CommandResult | None = None) -> None:
        self.result = result
        super().__init__(message, node=node)


class ConnectionLost(TransportError):
    """The connection dropped while a command or transfer was in flight."""


class CommandFailed(InfrastructureError):
    """``check()`` saw a non-zero exit status; the result (stdout, stderr) is attached."""

    def __init__(self, result: CommandResult) -> None:
        self.result = result
        super().__init__(result.describe_failure())


class ToolOutputError(InfrastructureError):
    """A vendor tool printed output the adapter cannot parse; ``raw`` holds the text."""

    def __init__(self, message: str, *, raw: str, tool: str | None = None) -> None:
        self.raw = raw
        self.tool = tool
        excerpt = raw if len(raw) <= 2000 else raw[:2000] + "\n[... truncated]"
        prefix = f"{tool}: " if tool else ""
        super().__init__(f"{prefix}{message}\n--- raw output ---\n{excerpt}")


class LeaseError(InfrastructureError):
    """The node is leased by another owner (or the lease could not be taken or released)."""


class CriterionFailed(AssertionError):
    """The device missed a certification criterion: a verdict, not an infrastructure problem."""

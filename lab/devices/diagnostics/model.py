"""What a vendor diagnostic reports: tests with a status, per device, in two categories."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from lab.errors import CommandFailed
from lab.transport.base import Transport

STATUSES = ("pass", "fail", "warn", "skip")
CATEGORIES = ("software", "hardware")


@dataclass(frozen=True, slots=True)
class DiagTest:
    """One test's result on one device (``entity`` "" when the tool reports it node-wide)."""

    name: str
    category: str  # "software" or "hardware"
    status: str  # "pass", "fail", "warn" or "skip"
    entity: str = ""
    message: str = ""

    def describe(self) -> str:
        where = f"[{self.entity}]" if self.entity else ""
        return f"{self.name}{where}: {self.message}" if self.message else f"{self.name}{where}"


@dataclass(frozen=True, slots=True)
class DiagnosticRun:
    """A diagnostic's whole result."""

    tool: str
    level: int
    tests: tuple[DiagTest, ...]

    def failed(self, category: str) -> tuple[DiagTest, ...]:
        return tuple(t for t in self.tests if t.category == category and t.status == "fail")

    def ran(self, category: str) -> tuple[DiagTest, ...]:
        return tuple(t for t in self.tests if t.category == category and t.status != "skip")


class Diagnostic(ABC):
    """A vendor diagnostic tool: its command line per level and its output parser."""

    tool: str
    levels: Sequence[int]

    @abstractmethod
    def arguments(self, level: int) -> list[str]:
        """The command line for ``level``."""

    @abstractmethod
    def parse(self, text: str, level: int) -> DiagnosticRun:
        """Parse the tool's output; ``ToolOutputError`` on anything unexpected."""

    def exit_ok(self, status: int | None) -> bool:
        """Whether an exit status still carries a parseable result (a failed test is not a crash)."""
        return status == 0

    def run(self, transport: Transport, level: int, *, timeout: float | None = None) -> DiagnosticRun:
        if level not in self.levels:
            raise ValueError(f"{self.tool}: level {level} is not one of {list(self.levels)}")
        result = transport.run(self.arguments(level), timeout=timeout)
        if not self.exit_ok(result.exit_status):
            raise CommandFailed(result)
        return self.parse(result.stdout, level)

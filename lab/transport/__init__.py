"""Command execution on test-bed nodes: the ``Transport`` interface and its implementations."""

from lab.transport.base import Transport
from lab.transport.result import Command, CommandResult, ShellScript, render_command

__all__ = ["Command", "CommandResult", "ShellScript", "Transport", "render_command"]

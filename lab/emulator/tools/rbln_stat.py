"""Emulated ``rbln-stat``: the deprecated name of ``rbln-smi`` (same output, a notice on stderr)."""

from __future__ import annotations

import sys

from lab.emulator.tools.common import run_tool
from lab.emulator.tools.rbln_smi import main


def cli() -> int:
    """The entry point of the node's ``rbln-stat`` wrapper."""
    print("rbln-stat is deprecated; use rbln-smi", file=sys.stderr)
    return run_tool("rbln-stat", main)


if __name__ == "__main__":
    sys.exit(cli())

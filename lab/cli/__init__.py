"""The ``lab`` command.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` — a function taking
the parsed arguments and returning the exit status. To add a subcommand, write the module
and name it in ``SUBCOMMAND_MODULES``.

Exit statuses (the contract scripts and nightly CI rely on):

====  ===========================================================
0     success
1     a check ran and found failures (e.g. a node's command failed)
2     bad input: usage error, invalid inventory
3     infrastructure error (unreachable node, timeout, ...)
130   interrupted (Ctrl-C)
====  ===========================================================

In those terms: ``lab campaign`` exits 0 when the campaign ran to the end (1 with
``--strict`` when the verdict is not PASS/MARGINAL); ``lab verify`` exits 1 for a tampered,
wrongly signed or unsigned report; ``lab history check`` (the nightly gate) exits 1 for a
new FAIL or a metric regression, 0 when the only FAILs are known ones (they failed in the
previous run too), and 3 when nothing regressed but new ERRORs or INCOMPLETE tests mean the
lab could not measure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lab import __version__
from lab.errors import InfrastructureError, InventoryError, LabError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3
EXIT_INTERRUPTED = 130

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "lab.cli.campaign",
    "lab.cli.inventory",
    "lab.cli.exec",
    "lab.cli.testbed",
    "lab.cli.report",
    "lab.cli.history",
    "lab.cli.node",
    "lab.cli.kcloud",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab", description="K-Cloud test-bed certification lab.")
    parser.add_argument("--version", action="version", version=f"kcloud-lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lab`` console script; returns the exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.handler(arguments)
        return status
    except InventoryError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        count = len(error.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InfrastructureError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    except LabError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

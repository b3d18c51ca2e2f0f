"""A ``systemctl`` stub inside emulated nodes: ``systemctl is-active UNIT`` only.

Answers for the management daemons a functional check asks about — ``rbln-smd``
(Rebellions), ``nvidia-persistenced`` (NVIDIA), ``furiosa-smi-daemon``… : ``active``
(exit 0) when the node holds that vendor's devices, ``inactive`` (exit 3) otherwise, like
the real command. Installed only in the node's own ``bin/``; anything else exits 1.
"""

from __future__ import annotations

import sys

from lab.emulator.state import NodeDir, NodeStateError

DAEMONS = {
    "rbln-smd": "rebellions",
    "rbln_daemon": "rebellions",  # the same daemon's unit name on older drivers (RSMD docs)
    "nvidia-persistenced": "nvidia",
    "nvidia-dcgm": "nvidia",
    "furiosa-smi-daemon": "furiosaai",
    "sapeon-daemon": "sapeon",
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "is-active":
        print("systemctl (emulated node): only 'systemctl is-active UNIT' is available", file=sys.stderr)
        return 1
    unit = argv[1].removesuffix(".service")
    try:
        vendors = {device.vendor for device in NodeDir.from_environment().spec.devices}
    except NodeStateError as error:
        print(f"systemctl: {error}", file=sys.stderr)
        return 1
    if DAEMONS.get(unit) in vendors:
        print("active")
        return 0
    print("inactive")
    return 3


def cli() -> int:
    """The entry point of the node's ``systemctl`` wrapper."""
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(cli())

"""A ``systemctl`` stub inside emulated nodes: ``systemctl is-active UNIT`` only.

Answers for the management daemons a functional check asks about — ``rbln-smd``
(Rebellions), ``nvidia-persistenced`` (NVIDIA), ``furiosa-smi-daemon``… : ``active``
(exit 0) when the node holds that vendor's devices, ``inactive`` (exit 3) otherwise, like
the real command. Installed only in the node's own ``bin/``; anything else exits 1.

Rebellions' daemon has the unit name of the release the catalog names (``tool_version``, the
RBLN SDK's): ``rbln_daemon`` before 0.10.4 (the earliest docs.rbln.ai release found naming
``rbln-smd``; earlier RSMD pages run ``systemctl status rbln_daemon``), ``rbln-smd`` from
then on and in the current release — so a check must accept either name, as it must on
real servers of both ages.
"""

from __future__ import annotations

import sys

from lab.emulator.state import NodeDir, NodeStateError

RBLN_SMD_SINCE = (0, 10, 4)
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
        devices = NodeDir.from_environment().spec.devices
    except NodeStateError as error:
        print(f"systemctl: {error}", file=sys.stderr)
        return 1
    vendors = {device.vendor for device in devices}
    rebellions = [device.tool_version for device in devices if device.vendor == "rebellions"]
    if rebellions and unit == _absent_rbln_unit(rebellions[0]):
        vendors.discard("rebellions")
    if DAEMONS.get(unit) in vendors:
        print("active")
        return 0
    print("inactive")
    return 3


def _absent_rbln_unit(tool_version: str) -> str:
    """The Rebellions daemon name the node's release does not have."""
    parts = tool_version.split(".")
    if not tool_version or not all(part.isdigit() for part in parts):
        return "rbln_daemon"  # the current release
    release = tuple(int(part) for part in parts)
    return "rbln-smd" if release < RBLN_SMD_SINCE else "rbln_daemon"


def cli() -> int:
    """The entry point of the node's ``systemctl`` wrapper."""
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(cli())

"""The declarative YAML inventory: nodes, the device catalog and certification profiles.

::

    from lab.inventory import load_inventory
    inventory = load_inventory("inventory/gwangju.yaml")   # raises InventoryError with every problem

The loader (PyYAML, paramiko for host-key parsing) is imported on first use, so code that
only needs the data model — the emulator's tools, the pytest plugin at start-up — stays light.
"""

from typing import TYPE_CHECKING, Any

from lab.inventory.model import (
    AcceleratorSpec,
    Auth,
    Axis,
    Criterion,
    DeviceModel,
    Emulation,
    ExpectedVersions,
    FaultSpec,
    Figure,
    HostKeyTrust,
    Inventory,
    Limits,
    Location,
    Node,
    PcieLink,
    Profile,
)

if TYPE_CHECKING:
    from lab.inventory.loader import load_inventory
    from lab.inventory.selection import SelectionError, select_nodes

_LAZY = {
    "load_inventory": "lab.inventory.loader",
    "SelectionError": "lab.inventory.selection",
    "select_nodes": "lab.inventory.selection",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lab.inventory' has no attribute {name!r}")


__all__ = [
    "AcceleratorSpec",
    "Auth",
    "Axis",
    "Criterion",
    "DeviceModel",
    "Emulation",
    "ExpectedVersions",
    "FaultSpec",
    "Figure",
    "HostKeyTrust",
    "Inventory",
    "Limits",
    "Location",
    "Node",
    "PcieLink",
    "Profile",
    "SelectionError",
    "load_inventory",
    "select_nodes",
]

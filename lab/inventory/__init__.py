"""The declarative YAML inventory: nodes, the device catalog and certification profiles.

::

    from lab.inventory import load_inventory
    inventory = load_inventory("inventory/gwangju.yaml")   # raises InventoryError with every problem
"""

from lab.inventory.loader import load_inventory
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
from lab.inventory.selection import SelectionError, select_nodes

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

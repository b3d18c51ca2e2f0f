"""Device adapters: read each vendor's management tool into one common model.

::

    from lab.devices import adapter_for, node_power_watts

    adapter = adapter_for(inventory.catalog[node.accelerators[0].model], transport)
    reports = adapter.list_devices()
    print([r.identity.device for r in reports], node_power_watts(reports))

See ``lab.devices.model`` for the model and docs/devices.md for each vendor's format.
"""

from lab.devices.base import DeviceAdapter
from lab.devices.model import (
    CardReport,
    DeviceHealth,
    DeviceIdentity,
    DeviceProcess,
    DeviceReport,
    DeviceTelemetry,
    DeviceVersions,
    ThrottleReason,
    group_cards,
    node_power_watts,
)
from lab.devices.registry import ADAPTERS, adapter_for

__all__ = [
    "ADAPTERS",
    "CardReport",
    "DeviceAdapter",
    "DeviceHealth",
    "DeviceIdentity",
    "DeviceProcess",
    "DeviceReport",
    "DeviceTelemetry",
    "DeviceVersions",
    "ThrottleReason",
    "adapter_for",
    "group_cards",
    "node_power_watts",
]

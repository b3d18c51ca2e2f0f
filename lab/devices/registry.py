"""Which adapter reads which vendor tool: one dict, keyed by the catalog's ``tool`` name.

The catalog (``inventory/devices.yaml``) names a tool per device model, so YAML picks the
adapter::

    adapter = adapter_for(inventory.catalog["atom-max"], transport)   # RebellionsAdapter
    adapter = adapter_for("nvidia-smi", transport, timeout=30)        # by tool name

To add a vendor, write an adapter module (a ``DeviceAdapter`` subclass) and add one line
to ``ADAPTERS``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import partial
from typing import Protocol

from lab.devices.base import DeviceAdapter
from lab.devices.cpu import HostCpuAdapter
from lab.devices.furiosa import FuriosactlAdapter, FuriosaSmiAdapter
from lab.devices.nvidia import NvidiaSmiAdapter
from lab.devices.rebellions import RebellionsAdapter
from lab.devices.sapeon import SapeonSmiAdapter
from lab.errors import InventoryError, Problem
from lab.inventory.model import DeviceModel
from lab.transport.base import Transport


class AdapterFactory(Protocol):
    def __call__(
        self, transport: Transport, *, program: str | None = None, timeout: float | None = None
    ) -> DeviceAdapter: ...


ADAPTER_CLASSES: Mapping[str, type[DeviceAdapter]] = {
    "furiosa-smi": FuriosaSmiAdapter,
    "furiosactl": FuriosactlAdapter,
    "rbln-smi": RebellionsAdapter,
    "rbln-stat": RebellionsAdapter,
    "nvidia-smi": NvidiaSmiAdapter,
    "sapeon-smi": SapeonSmiAdapter,
    "lscpu": HostCpuAdapter,
}
"""The adapter class per tool name, for what a class tells without a transport (its features)."""

ADAPTERS: Mapping[str, AdapterFactory] = {
    "furiosa-smi": FuriosaSmiAdapter,
    "furiosactl": FuriosactlAdapter,
    "rbln-smi": RebellionsAdapter,
    # The deprecated name of rbln-smi; same JSON, so the same adapter runs the old program.
    "rbln-stat": partial(RebellionsAdapter, program="rbln-stat"),
    "nvidia-smi": NvidiaSmiAdapter,
    "sapeon-smi": SapeonSmiAdapter,
    "lscpu": HostCpuAdapter,
}


def adapter_for(
    model_or_tool: DeviceModel | str, transport: Transport, *, timeout: float | None = None
) -> DeviceAdapter:
    """The adapter for a catalog entry's tool (or a tool name), bound to ``transport``.

    An unknown tool raises ``InventoryError`` pointing at the catalog entry, with a suggestion.
    """
    tool = model_or_tool if isinstance(model_or_tool, str) else model_or_tool.tool
    factory = ADAPTERS.get(tool)
    if factory is None:
        raise InventoryError([_unknown_tool_problem(model_or_tool, tool)])
    return factory(transport, timeout=timeout)


def _unknown_tool_problem(model_or_tool: DeviceModel | str, tool: str) -> Problem:
    close = difflib.get_close_matches(tool, list(ADAPTERS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(ADAPTERS))})"
    message = f"no device adapter for tool {tool!r}{hint}"
    if isinstance(model_or_tool, str) or model_or_tool.location is None:
        where = "<catalog>" if isinstance(model_or_tool, str) else f"<catalog {model_or_tool.key}>"
        return Problem(file=where, line=0, column=0, path="tool", message=message)
    location = model_or_tool.location
    return Problem(
        file=location.file,
        line=location.line,
        column=location.column,
        path=f"{model_or_tool.key}.tool",
        message=message,
    )


def features_of(tool: str) -> frozenset[str]:
    """What the adapter for ``tool`` offers beyond the basics, for ``@pytest.mark.lab_feature``.

    >>> sorted(features_of("nvidia-smi"))
    ['management-daemon', 'reset', 'workload']
    >>> sorted(features_of("rbln-smi"))   # no documented reset command
    ['management-daemon', 'workload']
    >>> sorted(features_of("lscpu"))
    []
    """
    adapter = ADAPTER_CLASSES.get(tool)
    if adapter is None:
        return frozenset()
    features = set()
    if adapter.management_daemon is not None:
        features.add("management-daemon")
    if adapter.reset_arguments is not DeviceAdapter.reset_arguments:
        features.add("reset")
    if adapter.runs_workloads:
        features.add("workload")
    return frozenset(features)

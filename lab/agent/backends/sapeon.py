"""Sapeon X220 / X330: no public runtime exists, so there is no backend — said plainly.

Sapeon's SDK was never published (no package index, no public API documentation; Sapeon
Korea merged into Rebellions in 2024). Rather than fall back silently to another backend,
asking for ``sapeon`` (or leaving a Sapeon node without a ``perf-backend`` label) fails with
this explanation, and ``lab node check`` prints it::

    create("sapeon", 0, {})   # BackendError: no public runtime exists for Sapeon ...
"""

from __future__ import annotations

from .base import Backend, BackendError

NO_PUBLIC_RUNTIME = (
    "no public runtime exists for Sapeon X220/X330 (the SDK was never published), so the lab "
    "cannot drive the card; set the node's perf-backend label only if the vendor supplies one"
)


class SapeonBackend(Backend):
    name = "sapeon"
    exercised = False

    def __init__(self, device: int, options: dict[str, object]) -> None:
        raise BackendError(NO_PUBLIC_RUNTIME)

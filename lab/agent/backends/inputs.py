"""The data set's per-sample inputs on the node: one .npy file, row ``i`` is LoadGen's sample ``i``.

The controller ships it (``options["inputs_path"]``) with the model, or the inventory points at
one already on the node; backends feed these rows, never zeros::

    rows = load_inputs("/tmp/kcloud-agent.x/inputs.npy", sample_count=450)   # float32 [450, 64]
"""

from __future__ import annotations

from typing import Any

from .base import BackendError


def load_inputs(path: str, sample_count: int) -> Any:
    """The data set's per-sample inputs (.npy [N, ...] float32); ``BackendError`` when unreadable
    or shorter than the QSL's ``sample_count``."""
    try:
        import numpy

        rows = numpy.load(path, allow_pickle=False)
    except (ImportError, OSError, ValueError) as error:
        raise BackendError(f"cannot read the inputs {path}: {error}") from error
    if rows.ndim < 2 or len(rows) < sample_count:
        raise BackendError(f"{path}: {rows.shape} holds fewer than the {sample_count} samples asked for")
    return numpy.ascontiguousarray(rows, dtype=numpy.float32)

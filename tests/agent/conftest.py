"""Vendor SDK test doubles (``doubles/``) importable under the vendors' module names, per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy
import pytest

DOUBLES = Path(__file__).parent / "doubles"
VENDOR_MODULES = ("furiosa", "furiosa.runtime", "furiosa.runtime.sync", "rebel")


@pytest.fixture
def sdk_doubles(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    """The furiosa, rebel and CUDA onnxruntime doubles, imported fresh (their ``CALLS`` empty)."""
    for name in VENDOR_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(DOUBLES))
    import furiosa.runtime.sync
    import rebel

    sys.path.insert(0, str(DOUBLES))
    try:
        import onnxruntime_cuda
    finally:
        sys.path.remove(str(DOUBLES))
    furiosa.runtime.sync.DELAY_S = 0.0
    onnxruntime_cuda.CALLS.clear()
    onnxruntime_cuda.CUDA_AVAILABLE = True
    monkeypatch.setitem(sys.modules, "onnxruntime", onnxruntime_cuda)
    yield {"furiosa": furiosa.runtime.sync, "rebel": rebel, "onnxruntime-cuda": onnxruntime_cuda}
    for name in VENDOR_MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, numpy.ndarray]:
    """Eight real-looking samples of 16 features (no zero rows), saved as the agent receives them."""
    rows = numpy.random.default_rng(5).uniform(0.5, 2.0, (8, 16)).astype(numpy.float32)
    path = tmp_path / "inputs.npy"
    numpy.save(path, rows)
    return path, rows

"""The smoke-test reference computation, importable without any emulator state.

``npu-workload smoke`` runs it on the emulated node; the functional suite recomputes the
golden value on the controller with the same function and compares checksums::

    from lab.emulator.reference import reference_checksum
    golden = reference_checksum()          # '9c4f...' (16 hex digits)

A fixed-seed integer matrix multiply (32 × 32, int8-range inputs, int32 accumulate) — a
real computation whose every output element feeds the checksum, so a wrong result
anywhere changes it.
"""

from __future__ import annotations

from _blake2 import blake2b

REFERENCE_SIZE = 32


def _matrix(seed: int, salt: int, size: int) -> list[list[int]]:
    # A 32-bit LCG (Numerical Recipes constants): stable across Python versions and platforms.
    state = (seed * 2654435761 + salt * 40503 + 1) & 0xFFFFFFFF
    rows: list[list[int]] = []
    for _ in range(size):
        row: list[int] = []
        for _ in range(size):
            state = (1664525 * state + 1013904223) & 0xFFFFFFFF
            row.append((state >> 24) - 128)  # int8 range
        rows.append(row)
    return rows


def reference_product(seed: int = 0, size: int = REFERENCE_SIZE) -> list[list[int]]:
    """``A × B`` for the fixed-seed int8 matrices A and B (int32 results)."""
    a = _matrix(seed, 1, size)
    b_columns = list(zip(*_matrix(seed, 2, size), strict=True))
    return [[sum(x * y for x, y in zip(row, column, strict=True)) for column in b_columns] for row in a]


def checksum(product: list[list[int]]) -> str:
    """16-hex-digit digest over every element (little-endian int32)."""
    digest = blake2b(digest_size=8)
    for row in product:
        digest.update(b"".join(value.to_bytes(4, "little", signed=True) for value in row))
    return digest.hexdigest()


def reference_checksum(seed: int = 0, size: int = REFERENCE_SIZE) -> str:
    """The golden checksum of the reference computation."""
    return checksum(reference_product(seed, size))

"""Deterministic noise: a hash of (seed, keys) instead of a stateful random generator.

Any tool invocation, in any process, at the same emulated time draws the same value, so
two runs with the same seed and the same sequence of (time, queries) print the same bytes::

    uniform(7, "temp", 0, 120)          # in [0, 1)
    normal(7, "jitter", 0, 41)          # standard normal (Box-Muller over two uniforms)
"""

from __future__ import annotations

import math

# _blake2 directly: hashlib pulls in OpenSSL bindings (~5 ms per tool start).
from _blake2 import blake2b

_SCALE = float(1 << 64)


def uniform(seed: int, *keys: object) -> float:
    """A value in [0, 1) fixed by ``seed`` and ``keys`` (their ``repr`` is hashed)."""
    text = repr((seed, *keys)).encode()
    digest = blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def hex_digits(seed: int, *keys: object, digits: int = 32) -> str:
    """``digits`` hex digits (at most 128) fixed by ``seed`` and ``keys``: identities (UUID, serial)."""
    text = repr((seed, *keys)).encode()
    return blake2b(text, digest_size=64).hexdigest()[:digits]


def symmetric(seed: int, *keys: object) -> float:
    """A value in [-1, 1) fixed by ``seed`` and ``keys``."""
    return 2.0 * uniform(seed, *keys) - 1.0


def normal(seed: int, *keys: object) -> float:
    """A standard-normal value fixed by ``seed`` and ``keys``."""
    u1 = uniform(seed, *keys, "n1")
    u2 = uniform(seed, *keys, "n2")
    # 1 - u1 is in (0, 1]: log never sees zero.
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def quantize(t: float, step: float = 1.0) -> int:
    """The bucket of emulated time ``t``: noise changes once per ``step`` seconds, not per call."""
    return math.floor(t / step)

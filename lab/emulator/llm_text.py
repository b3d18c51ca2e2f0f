"""What the emulated LLM says: a deterministic greedy continuation of a prompt.

The emulated card serves a "model" whose greedy output is a fixed function of the prompt,
so a fixed prompt set has fixed reference outputs (as a real model's greedy decoding does)
and a card corrupting tokens is caught by comparing with them. Tokens are words; a prompt
of *n* words is *n* input tokens.

::

    continuation("Explain KV caches", max_tokens=16)   # (["alpha", ...], "stop" or "length")
    continuation("Explain KV caches", 500, ignore_eos=True)   # 500 tokens, "length" (vLLM's ignore_eos)
"""

from __future__ import annotations

import hashlib

# fmt: off
VOCABULARY = (
    "the", "a", "card", "token", "cache", "model", "serve", "batch", "queue", "prefill", "decode",
    "memory", "bandwidth", "latency", "throughput", "power", "board", "rack", "node", "kernel",
    "tensor", "layer", "weight", "head", "attention", "vector", "matrix", "stream", "request",
    "reply", "first", "last", "next", "value", "key", "page", "block",
)
# fmt: on
NATURAL_MIN, NATURAL_SPAN = 12, 48  # the model ends its answer (EOS) after 12…59 tokens


def _digest(prompt: str, index: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{index}\0{prompt}".encode(), digest_size=8).digest(), "big")


def natural_length(prompt: str) -> int:
    """How many tokens the model writes before its end-of-sequence token."""
    return NATURAL_MIN + _digest(prompt, -1) % NATURAL_SPAN


def continuation(prompt: str, max_tokens: int, ignore_eos: bool = False) -> tuple[list[str], str]:
    """The greedy output tokens for ``prompt`` and the finish reason ("stop" at EOS, else "length").

    ``ignore_eos``: decoding goes on past the end-of-sequence token up to ``max_tokens`` (vLLM's
    and llama.cpp's ``ignore_eos``), as benchmarks ask for a fixed output length; the tokens
    before it are the same greedy ones.
    """
    natural = max_tokens + 1 if ignore_eos else natural_length(prompt)
    count = min(natural, max_tokens)
    words = [VOCABULARY[_digest(prompt, index) % len(VOCABULARY)] for index in range(count)]
    return words, "stop" if natural <= max_tokens else "length"


def input_tokens(prompt: str) -> int:
    """Tokens of a prompt (words; at least one)."""
    return max(1, len(prompt.split()))

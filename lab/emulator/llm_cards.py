"""What an emulated card's LLM endpoint costs, derived from the card's catalog entry.

Serving a Llama-3.1-8B-class model, decoding is bound by memory bandwidth (every step reads
all weights once) and prefill by compute (two operations per parameter per prompt token at
a fraction of the card's peak). The precision is BF16 where the catalog gives the card a
16-bit figure, else INT8 (Warboy is INT8-only). A card without a bandwidth figure
(Sapeon: unpublished) gets :class:`LlmCard`'s defaults, said by ``derived_from``.

::

    card, precision, source = card_for(catalog["rngd"])
    card.decode_step_s(1)    # ≈ 0.0107 s: 16 GB of BF16 weights at 1.5 TB/s
    precision                # "bf16"
"""

from __future__ import annotations

from lab.emulator.llm_timing import LlmCard
from lab.inventory.model import DeviceModel

MODEL_PARAMETERS = 8.0e9  # Llama-3.1-8B class
PREFILL_UTILISATION = 0.4  # share of peak compute a prefill step reaches (vLLM-class engines: 30-50 %)
KV_BYTES_PER_TOKEN = 131_072  # Llama-3.1-8B: 2 (K, V) × 32 layers × 8 KV heads × 128 × 2 bytes
CONTEXT_TOKENS = 128  # typical context of a running request (prompt + output so far)
MIN_KV_TOKENS = 4096  # a card the weights nearly fill still holds a few requests (offloaded or sharded)
MIN_DECODE_S = 0.005  # below this the emulator's own per-token work would dominate the schedule
GIB = 1 << 30


def precision_of(model: DeviceModel) -> str:
    """The precision the emulated endpoint serves on ``model``: bf16 where it has a 16-bit peak, else int8."""
    return "bf16" if model.fp16_tflops.known else "int8"


def card_for(model: DeviceModel) -> tuple[LlmCard, str, str]:
    """(timing model, precision, what it was derived from) of ``model`` serving an 8B model."""
    precision = precision_of(model)
    bytes_per_parameter = 2.0 if precision == "bf16" else 1.0
    weights = MODEL_PARAMETERS * bytes_per_parameter
    bandwidth = model.memory_bandwidth_gbps.value
    peak = model.fp16_tflops.value if precision == "bf16" else model.int8_tops.value
    if not bandwidth or not peak:
        return LlmCard(), precision, f"defaults: {model.key} has no published bandwidth/peak figure"
    bandwidth_bps = bandwidth * 1e9
    operations = peak * 1e12 * PREFILL_UTILISATION
    memory = model.memory_gib.value
    kv_tokens = int((memory * GIB - weights) / KV_BYTES_PER_TOKEN) if memory else LlmCard().kv_capacity_tokens
    card = LlmCard(
        prefill_s_per_token=2 * MODEL_PARAMETERS / operations,
        decode_base_s=max(MIN_DECODE_S, weights / bandwidth_bps),
        # each running request adds its KV-cache reads and its share of the step's compute
        decode_s_per_running=(
            CONTEXT_TOKENS * KV_BYTES_PER_TOKEN / bandwidth_bps + 2 * MODEL_PARAMETERS / operations
        ),
        kv_capacity_tokens=max(MIN_KV_TOKENS, kv_tokens),
    )
    unit = "TFLOPS" if precision == "bf16" else "TOPS"
    return card, precision, f"{model.key}: {bandwidth:g} GB/s, {peak:g} {unit}"

"""What an emulated card's LLM endpoint costs, derived from the card's catalog entry.

Serving a Llama-3.1-8B-class model, decoding is bound by memory bandwidth (every step reads
all weights once) and prefill by compute (two operations per parameter per prompt token at
a fraction of the card's peak). The default precision is BF16 where the catalog gives the
card a 16-bit figure, else INT8 (Warboy is INT8-only); an 8-bit precision (fp8, int8) halves
the weights read per step and prefills at the catalog's 8-bit peak (``int8_tops``: RNGD's FP8
and INT8 peaks are the same 512). A card without a bandwidth figure (Sapeon: unpublished)
gets :class:`LlmCard`'s defaults, said by ``derived_from``. Every running request also reads
its context's keys and values at each decode step (``decode_s_per_context_token``).

::

    card, precision, source = card_for(catalog["rngd"])
    card.decode_step_s(1)    # ≈ 0.0107 s: 16 GB of BF16 weights at 1.5 TB/s
    precision                # "bf16"
    card_for(catalog["rngd"], "fp8")[0].decode_step_s(1)   # ≈ 0.0053 s: 8 GB of FP8 weights
"""

from __future__ import annotations

from lab.emulator.llm_timing import LlmCard
from lab.inventory.model import DeviceModel

MODEL_PARAMETERS = 8.0e9  # Llama-3.1-8B class
PREFILL_UTILISATION = 0.4  # share of peak compute a prefill step reaches (vLLM-class engines: 30-50 %)
KV_BYTES_PER_TOKEN = 131_072  # Llama-3.1-8B: 2 (K, V) × 32 layers × 8 KV heads × 128 × 2 bytes
SIXTEEN_BIT = ("bf16", "fp16")
EIGHT_BIT = ("fp8", "int8")
PRECISIONS = SIXTEEN_BIT + EIGHT_BIT
MIN_KV_TOKENS = 4096  # a card the weights nearly fill still holds a few requests (offloaded or sharded)
MIN_DECODE_S = 0.005  # below this the emulator's own per-token work would dominate the schedule
GIB = 1 << 30


def precision_of(model: DeviceModel) -> str:
    """The precision the emulated endpoint serves on ``model``: bf16 where it has a 16-bit peak, else int8."""
    return "bf16" if model.fp16_tflops.known else "int8"


class UnsupportedPrecision(ValueError):
    """The card cannot serve the model at that precision (no such peak in its catalog entry)."""


def card_for(model: DeviceModel, precision: str | None = None) -> tuple[LlmCard, str, str]:
    """(timing model, precision, what it was derived from) of ``model`` serving an 8B model at
    ``precision`` (default :func:`precision_of`)."""
    precision = precision or precision_of(model)
    if precision not in PRECISIONS:
        raise UnsupportedPrecision(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    sixteen = precision in SIXTEEN_BIT
    if sixteen and not model.fp16_tflops.known and model.int8_tops.known:
        raise UnsupportedPrecision(f"{model.key} has no 16-bit peak in the catalog: it serves no {precision}")
    bytes_per_parameter = 2.0 if sixteen else 1.0
    weights = MODEL_PARAMETERS * bytes_per_parameter
    bandwidth = model.memory_bandwidth_gbps.value
    peak = model.fp16_tflops.value if sixteen else model.int8_tops.value
    if not bandwidth or not peak:
        return LlmCard(), precision, f"defaults: {model.key} has no published bandwidth/peak figure"
    bandwidth_bps = bandwidth * 1e9
    operations = peak * 1e12 * PREFILL_UTILISATION
    memory = model.memory_gib.value
    kv_tokens = int((memory * GIB - weights) / KV_BYTES_PER_TOKEN) if memory else LlmCard().kv_capacity_tokens
    card = LlmCard(
        prefill_s_per_token=2 * MODEL_PARAMETERS / operations,
        decode_base_s=max(MIN_DECODE_S, weights / bandwidth_bps),
        # each running request adds its share of the step's compute, and its context's KV reads
        decode_s_per_running=2 * MODEL_PARAMETERS / operations,
        decode_s_per_context_token=KV_BYTES_PER_TOKEN / bandwidth_bps,
        kv_capacity_tokens=max(MIN_KV_TOKENS, kv_tokens),
    )
    unit = "TFLOPS" if sixteen else "TOPS"
    return card, precision, f"{model.key}: {bandwidth:g} GB/s, {peak:g} {unit}"

"""A tiny Llama-architecture model in GGUF, written by the project itself (random weights, fixed seed).

The real CPU serving engine (llama.cpp's server) needs a model file; downloading one is not
allowed and not needed: the harness is proven on *timing and protocol*, and greedy decoding
of random weights is still deterministic, so references for its accuracy set are its own
first greedy run. Written with the ``gguf`` package (llama.cpp's own GGUF writer); the
tokenizer is a SentencePiece-style ("llama") vocabulary of special tokens, the 256 byte
fallback tokens and a few hundred word pieces.

::

    path = write_tiny_llama(Path("out/tiny-llama.gguf"))   # ~2 MB, 2 layers, 64-d
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

_WORD_TEXT = (
    "the a of to and in is it that for on with as was at by be this are from or an have not but card token "
    "cache model serve batch queue prefill decode memory bandwidth latency throughput power board rack node "
    "kernel tensor layer weight head attention vector matrix stream request reply first last next value key "
    "page block time per output input length server offline rate test lab run pass fail error report"
)
WORDS = tuple(_WORD_TEXT.split())


@dataclass(frozen=True)
class TinyLlama:
    """Shape of the model; small enough to decode hundreds of tokens/s on one CPU core."""

    embedding: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    feed_forward: int = 128
    context: int = 4096  # the K-Cloud canonical prompts run ~600 byte-level tokens
    seed: int = 20260101

    @property
    def head_dim(self) -> int:
        return self.embedding // self.heads


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types (gguf.TokenType values) of the tiny model's vocabulary."""
    import gguf

    tokens = ["<unk>", "<s>", "</s>"]
    types = [int(gguf.TokenType.UNKNOWN), int(gguf.TokenType.CONTROL), int(gguf.TokenType.CONTROL)]
    tokens += [f"<0x{byte:02X}>" for byte in range(256)]
    types += [int(gguf.TokenType.BYTE)] * 256
    pieces = sorted({f"\u2581{word}" for word in WORDS} | {chr(c) for c in range(ord("a"), ord("z") + 1)})
    tokens += pieces
    types += [int(gguf.TokenType.NORMAL)] * len(pieces)
    scores = [0.0] * 259 + [-float(index) for index in range(len(pieces))]
    return tokens, scores, types


def write_tiny_llama(path: Path, shape: TinyLlama | None = None) -> Path:
    """Write the model to ``path`` (overwritten) and return it."""
    import gguf
    import numpy as np

    shape = shape or TinyLlama()
    random = np.random.default_rng(shape.seed)
    tokens, scores, types = vocabulary()
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("kcloud-lab tiny llama (random weights)")
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.embedding)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.feed_forward)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_dimension_count(shape.head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)

    def weight(*dims: int) -> Any:  # numpy shape (rows, cols): GGUF stores ne reversed
        return (random.standard_normal(dims) * 0.08).astype(np.float32)

    kv = shape.kv_heads * shape.head_dim
    writer.add_tensor("token_embd.weight", weight(len(tokens), shape.embedding))
    for layer in range(shape.layers):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", np.ones(shape.embedding, dtype=np.float32))
        writer.add_tensor(f"{prefix}.attn_q.weight", weight(shape.embedding, shape.embedding))
        writer.add_tensor(f"{prefix}.attn_k.weight", weight(kv, shape.embedding))
        writer.add_tensor(f"{prefix}.attn_v.weight", weight(kv, shape.embedding))
        writer.add_tensor(f"{prefix}.attn_output.weight", weight(shape.embedding, shape.embedding))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", np.ones(shape.embedding, dtype=np.float32))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", weight(shape.feed_forward, shape.embedding))
        writer.add_tensor(f"{prefix}.ffn_up.weight", weight(shape.feed_forward, shape.embedding))
        writer.add_tensor(f"{prefix}.ffn_down.weight", weight(shape.embedding, shape.feed_forward))
    writer.add_tensor("output_norm.weight", np.ones(shape.embedding, dtype=np.float32))
    output = weight(len(tokens), shape.embedding)
    # only word pieces are ever predicted: a byte-fallback token alone is half a UTF-8 character,
    # which llama.cpp's stream holds back and its full response prints as U+FFFD (the two differ)
    output[: 3 + 256] = 0.0
    writer.add_tensor("output.weight", output)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path

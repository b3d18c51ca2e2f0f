"""The tiny Llama GGUF the project writes: a valid GGUF with llama.cpp's tensor names and shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.llm.tiny_model import TinyLlama, vocabulary, write_tiny_llama

gguf = pytest.importorskip("gguf", reason="the tiny model is written with the [cpu-reference] extra")


def test_the_model_reads_back_as_a_llama_gguf_with_the_shapes_llama_cpp_expects(tmp_path: Path) -> None:
    shape = TinyLlama()
    reader = gguf.GGUFReader(str(write_tiny_llama(tmp_path / "tiny.gguf", shape)))
    assert reader.fields["general.architecture"].contents() == "llama"
    assert reader.fields["llama.block_count"].contents() == shape.layers
    assert reader.fields["llama.attention.head_count_kv"].contents() == shape.kv_heads
    tensors = {tensor.name: [int(n) for n in tensor.shape] for tensor in reader.tensors}
    vocab = len(vocabulary()[0])
    # GGUF dimensions are ne[0] first: the embedding is (n_embd, n_vocab), K is (n_embd, n_kv·head_dim)
    assert tensors["token_embd.weight"] == [shape.embedding, vocab]
    assert tensors["blk.1.attn_k.weight"] == [shape.embedding, shape.kv_heads * shape.head_dim]
    assert tensors["blk.0.ffn_down.weight"] == [shape.feed_forward, shape.embedding]
    assert len(tensors) == 2 + 9 * shape.layers + 1
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    assert tokens[:3] == ["<unk>", "<s>", "</s>"] and "<0x41>" in tokens


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = write_tiny_llama(tmp_path / "a.gguf").read_bytes()
    assert write_tiny_llama(tmp_path / "b.gguf").read_bytes() == first
    assert write_tiny_llama(tmp_path / "c.gguf", TinyLlama(seed=1)).read_bytes() != first

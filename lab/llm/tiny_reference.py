"""An independent reference for the tiny Llama: its forward pass and tokenizer in numpy, from the GGUF file.

The accuracy references of the CPU node must not be the engine's own output (an echo proves
nothing): this module reads the model file with ``gguf.GGUFReader`` and computes what llama.cpp
should compute, written from the architecture, not from llama.cpp's code paths:

* tokenizer: SentencePiece as llama.cpp runs it for ``tokenizer.ggml.model = llama`` — BOS, a
  space prefix, spaces as ``▁``, then bigram merges of adjacent symbols by vocabulary score
  (highest first, leftmost on ties) and byte fallback (``<0xE2>``…) for what is not a piece;
* each layer: RMSNorm, Q/K/V projections, RoPE in llama.cpp's "normal" layout for arch
  ``llama`` (adjacent pairs ``x[2i], x[2i+1]`` rotated by ``pos · 10000^(-2i/d)``), causal
  attention with grouped KV heads (query head ``h`` reads KV head ``h // (heads / kv_heads)``),
  scaled by ``1/√d``; then RMSNorm and the SwiGLU feed-forward ``down(silu(gate·x) ⊙ up·x)``;
* greedy decoding (argmax) until EOS or ``max_tokens``, in float64.

::

    model = TinyReference.load(Path("tiny.gguf"))
    ids = model.tokenize("Explain KV caches.")          # [1, 229, 153, 132, 72, …]
    out = model.greedy(ids, max_tokens=48)              # generated token ids
    model.text(out)                                     # " first attention but …"

Write the reference set the suite judges a CPU node with (``serving.references``)::

    python -m lab.llm.tiny_reference --prompts testsuites/llm/data/references.json \\
        --out testsuites/llm/data/tiny-llama-references.json
"""

from __future__ import annotations

import argparse
import heapq
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROPE_BASE = 10000.0  # llama.cpp's default when the file names no llama.rope.freq_base
SPACE = "\u2581"


@dataclass
class TinyReference:
    """The model's weights (float64) and vocabulary, read from its GGUF file."""

    weights: dict[str, Any]
    tokens: list[str]
    scores: list[float]
    heads: int
    kv_heads: int
    layers: int
    eps: float
    rope_base: float
    bos: int
    eos: int

    @classmethod
    def load(cls, path: Path) -> TinyReference:
        import numpy as np
        from gguf import GGUFReader

        reader = GGUFReader(str(path))

        def scalar(key: str, default: object = None) -> Any:
            field = reader.fields.get(key)
            if field is None:
                return default
            return field.parts[field.data[0]][0]

        tokens_field = reader.fields["tokenizer.ggml.tokens"]
        tokens = [bytes(tokens_field.parts[i]).decode("utf-8") for i in tokens_field.data]
        scores_field = reader.fields["tokenizer.ggml.scores"]
        scores = [float(scores_field.parts[i][0]) for i in scores_field.data]
        # GGUF stores a matrix (rows, cols) = (out, in): y = W @ x
        weights = {t.name: np.asarray(t.data, dtype=np.float64) for t in reader.tensors}
        return cls(
            weights=weights,
            tokens=tokens,
            scores=scores,
            heads=int(scalar("llama.attention.head_count")),
            kv_heads=int(scalar("llama.attention.head_count_kv")),
            layers=int(scalar("llama.block_count")),
            eps=float(scalar("llama.attention.layer_norm_rms_epsilon")),
            rope_base=float(scalar("llama.rope.freq_base", ROPE_BASE)),
            bos=int(scalar("tokenizer.ggml.bos_token_id")),
            eos=int(scalar("tokenizer.ggml.eos_token_id")),
        )

    # --- tokenizer ---------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` with BOS, as llama.cpp's SentencePiece tokenizer gives them."""
        ids = {token: index for index, token in enumerate(self.tokens)}
        symbols = list((" " + text).replace(" ", SPACE))  # one symbol per character to start
        alive = [True] * len(symbols)
        after = [*range(1, len(symbols)), -1]
        before = list(range(-1, len(symbols) - 1))
        queue: list[tuple[float, int, int, str]] = []  # (-score, left, right, merged): best, leftmost

        def offer(left: int, right: int) -> None:
            if left < 0 or right < 0:
                return
            merged = symbols[left] + symbols[right]
            if merged in ids:
                heapq.heappush(queue, (-self.scores[ids[merged]], left, right, merged))

        for index in range(len(symbols) - 1):
            offer(index, index + 1)
        while queue:
            _, left, right, merged = heapq.heappop(queue)
            if not (alive[left] and alive[right]) or symbols[left] + symbols[right] != merged:
                continue  # a stale pair: one side merged elsewhere since it was offered
            symbols[left], alive[right] = merged, False
            after[left] = after[right]
            if after[right] >= 0:
                before[after[right]] = left
            offer(before[left], left)
            offer(left, after[left])
        out = [self.bos]
        for symbol, keep in zip(symbols, alive, strict=True):
            if not keep:
                continue
            if symbol in ids:
                out.append(ids[symbol])
            else:  # byte fallback (no merge made it a piece, so no smaller piece exists either)
                out += [ids[f"<0x{byte:02X}>"] for byte in symbol.encode("utf-8")]
        return out

    def text(self, ids: list[int]) -> str:
        """The text of generated tokens as an OpenAI endpoint streams it (``▁`` is a space)."""
        data = bytearray()
        for index in ids:
            token = self.tokens[index]
            if token.startswith("<0x") and token.endswith(">") and len(token) == 6:
                data.append(int(token[3:5], 16))
            elif index not in (self.bos, self.eos):
                data += token.replace(SPACE, " ").encode("utf-8")
        return data.decode("utf-8", errors="replace")

    # --- forward pass ------------------------------------------------------------------

    def logits(self, ids: list[int]) -> Any:
        """Logits of the next token after ``ids`` (the whole sequence recomputed: tiny model)."""
        import numpy as np

        w = self.weights
        x = w["token_embd.weight"][ids]  # (n, d)
        n, d = x.shape
        head_dim = d // self.heads
        group = self.heads // self.kv_heads
        positions = np.arange(n, dtype=np.float64)[:, None]
        frequencies = self.rope_base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
        angle = positions * frequencies[None, :]  # (n, head_dim/2)
        cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
        mask = np.triu(np.full((n, n), -np.inf), k=1)

        def rms(v: Any, weight: Any) -> Any:
            return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + self.eps) * weight

        def rope(v: Any) -> Any:  # (n, heads, head_dim): adjacent pairs (llama.cpp's "normal" layout)
            even, odd = v[..., 0::2], v[..., 1::2]
            out = np.empty_like(v)
            out[..., 0::2] = even * cos - odd * sin
            out[..., 1::2] = even * sin + odd * cos
            return out

        for layer in range(self.layers):
            p = f"blk.{layer}."
            h = rms(x, w[p + "attn_norm.weight"])
            q = rope((h @ w[p + "attn_q.weight"].T).reshape(n, self.heads, head_dim))
            k = rope((h @ w[p + "attn_k.weight"].T).reshape(n, self.kv_heads, head_dim))
            v = (h @ w[p + "attn_v.weight"].T).reshape(n, self.kv_heads, head_dim)
            heads = []
            for head in range(self.heads):
                kv = head // group
                scores = q[:, head, :] @ k[:, kv, :].T / np.sqrt(head_dim) + mask
                scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
                heads.append((scores / scores.sum(axis=-1, keepdims=True)) @ v[:, kv, :])
            x = x + np.concatenate(heads, axis=-1) @ w[p + "attn_output.weight"].T
            h = rms(x, w[p + "ffn_norm.weight"])
            gate = h @ w[p + "ffn_gate.weight"].T
            x = (
                x
                + ((gate / (1.0 + np.exp(-gate))) * (h @ w[p + "ffn_up.weight"].T))
                @ w[p + "ffn_down.weight"].T
            )
        return rms(x[-1], w["output_norm.weight"]) @ w["output.weight"].T

    def greedy(self, ids: list[int], max_tokens: int) -> list[int]:
        """Greedy continuation of ``ids``: at most ``max_tokens`` tokens, EOS not included."""
        import numpy as np

        sequence, out = list(ids), []
        for _ in range(max_tokens):  # bounded by max_tokens
            best = int(np.argmax(self.logits(sequence)))
            if best == self.eos:
                break
            out.append(best)
            sequence.append(best)
        return out


def reference_set(model: Path, prompts: list[tuple[str, int]], seed: int | None = None) -> dict[str, object]:
    """The reference-set JSON (lab.inventory.llm_references) of ``model`` for (prompt, max_tokens)."""
    reference = TinyReference.load(model)
    samples = []
    for prompt, max_tokens in prompts:
        generated = reference.greedy(reference.tokenize(prompt), max_tokens)
        samples.append({"prompt": prompt, "max_tokens": max_tokens, "reference": reference.text(generated)})
    return {
        "about": f"Greedy outputs of the tiny Llama (lab/llm/tiny_model.py, seed {seed}) computed in numpy "
        "from its GGUF file by lab/llm/tiny_reference.py, independently of the engine that serves it.",
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.llm.tiny_reference", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--prompts", type=Path, required=True, help="a reference set whose prompts to use")
    parser.add_argument("--out", type=Path, required=True, help="the reference set to write")
    parser.add_argument("--seed", type=int, default=None, help="the tiny model's seed (default: its own)")
    args = parser.parse_args(argv)
    from lab.inventory.llm_references import read_reference_set
    from lab.llm.tiny_model import TinyLlama, write_tiny_llama

    samples = read_reference_set(args.prompts)
    shape = TinyLlama() if args.seed is None else TinyLlama(seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        model = write_tiny_llama(Path(folder) / "tiny.gguf", shape)
        prompts = [(str(s["prompt"]), int(str(s["max_tokens"]))) for s in samples]
        data = reference_set(model, prompts, shape.seed)
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(prompts)} references")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The real CPU engine for the LLM benchmarks: llama.cpp's server and its own account of the work.

Used by bench_llm_fidelity.py and bench_llm_peer.py (``--engine llama``)::

    with real_engine(folder, parallel=16) as address:
        before = engine_counters(address)
        ...                                    # any tool drives it
        baseline = EngineBaseline.between(before, engine_counters(address), requests=32)
        baseline.prefill_ms, baseline.tpot_ms  # the engine's own means over those requests

There is no model ground truth for a real engine; the "true" side is what llama.cpp itself
timed: per request, its ``timings`` (``prompt_ms``: the prefill that yields the first token;
``predicted_ms`` over ``predicted_n`` tokens, timed from the first token to the last, so
``predicted_n - 1`` steps), and over a run its Prometheus counters (``/metrics``). The
engine runs with its prompt cache off (a prompt seen before would skip its prefill) and one
slot per stream (a request waiting for a slot is not in ``prompt_ms``).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lab.llm.cpu_engine import cpu_engine
from lab.llm.tiny_model import WORDS, TinyLlama, write_tiny_llama

MODEL = "tiny-llama"
# wider and deeper than the suite's 64-d tiny model, so that prefill and decode take the engine
# milliseconds (the suite's model decodes in 0.17 ms: every figure would be the client's overhead)
BENCH_SHAPE = TinyLlama(embedding=512, layers=8, heads=8, kv_heads=4, feed_forward=1536)


# the words the prompts are made of: the model's own, less those starting with "a" (llama.cpp's
# tokenizer joins the space with "a", a piece): the peers' tokenizer then counts what the engine
# counts, less its BOS token
PROMPT_WORDS = tuple(word for word in WORDS if not word.startswith("a"))


def prompts(count: int, words: int = 9) -> list[str]:
    """``count`` distinct prompts of ``words`` words (about 7 tokens each: 3 bytes for the space,
    one per letter): 9 words are about 64 input tokens."""
    size = len(PROMPT_WORDS)
    return [
        " ".join(PROMPT_WORDS[(index * 7 + k * 3) % size] for k in range(words)) + f" {index}"
        for index in range(count)
    ]


@contextmanager
def real_engine(folder: Path, *, parallel: int, shape: TinyLlama = BENCH_SHAPE) -> Iterator[str]:
    """llama.cpp's server on 127.0.0.1 serving the tiny Llama (written to ``folder``); stopped by pid."""
    model = write_tiny_llama(folder / "tiny-llama.gguf", shape)
    with cpu_engine(
        model, alias=MODEL, parallel=parallel, threads=1, metrics=True, prompt_cache=False
    ) as address:
        yield address


def engine_counters(address: str) -> dict[str, float]:
    """llama.cpp's Prometheus counters, by name without the ``llamacpp:`` prefix."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    counters: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:"):
            name, _, value = line.partition(" ")
            counters[name.removeprefix("llamacpp:")] = float(value)
    return counters


@dataclass(frozen=True)
class EngineBaseline:
    """The engine's own means over the requests one tool sent (counters read before and after)."""

    prefill_ms: float  # mean prefill per request: llama.cpp's TTFT without HTTP and queueing
    tpot_ms: float  # decode seconds per step after the first token
    output_tokens: float

    @classmethod
    def between(cls, before: dict[str, float], after: dict[str, float], requests: int) -> EngineBaseline:
        def delta(name: str) -> float:
            return after[name] - before[name]

        tokens = delta("tokens_predicted_total")
        return cls(
            prefill_ms=delta("prompt_seconds_total") * 1000 / requests,
            tpot_ms=delta("tokens_predicted_seconds_total") * 1000 / max(tokens - requests, 1.0),
            output_tokens=tokens,
        )


def request_truth(timings: dict[str, float]) -> tuple[float, float | None]:
    """One request's TTFT and TPOT (ms) as llama.cpp timed them (its ``timings`` object)."""
    steps = timings.get("predicted_n", 0.0) - 1
    tpot = timings["predicted_ms"] / steps if steps > 0 else None
    return timings["prompt_ms"], tpot


TOKENIZER = """
import json, sys
from tokenizers import Tokenizer, decoders, models, normalizers
from transformers import PreTrainedTokenizerFast
tokens = json.loads(sys.argv[2])
vocab = {token: index for index, token in enumerate(tokens)}
# llama.cpp's SPM tokenizer starts from characters and joins neighbours whose join is a piece.
# "\\u2581" alone is no piece (a byte-fallback triple), so only "\\u2581a" and its extensions
# (an, and, as, at) can ever be joined; every other word is letters after the three bytes.
# BPE without merges does exactly that for text without words starting with "a" (PROMPT_WORDS).
model = models.BPE(vocab, [], unk_token="<unk>", byte_fallback=True, fuse_unk=True)
tokenizer = Tokenizer(model)
space = "\\u2581"
tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend(space), normalizers.Replace(" ", space)])
tokenizer.decoder = decoders.Sequence(
    [decoders.ByteFallback(), decoders.Fuse(), decoders.Replace(space, " "), decoders.Strip(" ", 1, 0)]
)
PreTrainedTokenizerFast(
    tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
).save_pretrained(sys.argv[1])
"""


def write_hf_tokenizer(model: Path, folder: Path, python: Path) -> Path:
    """An HF tokenizer directory built from the GGUF's own SPM vocabulary (no download), with the
    ``tokenizers``/``transformers`` of the peer tool's interpreter ``python``."""
    import gguf

    reader = gguf.GGUFReader(str(model))
    field = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[index]).decode() for index in field.data]
    subprocess.run(
        [str(python), "-c", TOKENIZER, str(folder), json.dumps(tokens)], check=True, capture_output=True
    )
    (folder / "config.json").write_text('{"model_type": "llama"}')
    return folder

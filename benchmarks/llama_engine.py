"""The real CPU engine for the LLM benchmarks: llama.cpp's server and its own account of the work.

Used by bench_llm_fidelity.py and bench_llm_peer.py (``--engine llama``)::

    with real_engine(folder, parallel=16) as engine:
        start = engine.log_offset()
        ...                                   # any tool drives engine.address
        timed = engine.timed_since(start)     # [EngineRequest(prefill_ms, tpot_ms)], one per request

There is no model ground truth for a real engine; the "true" side is what llama.cpp itself
timed for each request: ``prompt_ms`` (the prefill that yields the first token) and
``predicted_ms`` over ``predicted_n`` tokens, timed from the first token to the last (so
``predicted_n - 1`` steps). It gives them in the last event of each stream (``timings``:
what bench_llm_fidelity pairs with each of our requests) and logs the same figures per request
(``print_timing``): read from the log, they are the baseline for any tool (bench_llm_peer). The
engine runs with its prompt cache off (a prompt seen before would skip its prefill) and one slot
per stream (a request waiting for a slot is not in ``prompt_ms``).
"""

from __future__ import annotations

import json
import re
import subprocess
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
_PREFILL = re.compile(r"task (\d+) \| prompt eval time = +([\d.]+) ms / +(\d+) tokens")
_DECODE = re.compile(r"task (\d+) \| +eval time = +([\d.]+) ms / +(\d+) tokens")


def prompts(count: int, words: int = 9) -> list[str]:
    """``count`` distinct prompts of ``words`` words (about 7 tokens each: 3 bytes for the space,
    one per letter): 9 words are about 64 input tokens."""
    size = len(PROMPT_WORDS)
    return [
        " ".join(PROMPT_WORDS[(index * 7 + k * 3) % size] for k in range(words)) + f" {index}"
        for index in range(count)
    ]


@dataclass(frozen=True)
class EngineRequest:
    """One request as llama.cpp timed it."""

    prefill_ms: float  # its TTFT without HTTP, the client and waiting for other slots' batches
    tpot_ms: float | None  # per decode step after the first token (None: one token only)

    @classmethod
    def of(cls, prompt_ms: float, predicted_ms: float, predicted_n: float) -> EngineRequest:
        return cls(prompt_ms, predicted_ms / (predicted_n - 1) if predicted_n > 1 else None)


@dataclass(frozen=True)
class Engine:
    address: str  # host:port
    log: Path  # the server's log: one print_timing pair per finished request

    def log_offset(self) -> int:
        return self.log.stat().st_size

    def timed_since(self, offset: int) -> list[EngineRequest]:
        """The requests the engine finished after ``offset`` of its log, as it timed them."""
        with self.log.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
        prefill = {task: float(ms) for task, ms, _ in _PREFILL.findall(text)}
        timed = []
        for task, ms, tokens in _DECODE.findall(text):
            if task in prefill:
                timed.append(EngineRequest.of(prefill[task], float(ms), float(tokens)))
        return timed


@contextmanager
def real_engine(folder: Path, *, parallel: int, shape: TinyLlama = BENCH_SHAPE) -> Iterator[Engine]:
    """llama.cpp's server on 127.0.0.1 serving the tiny Llama (written to ``folder``); stopped by pid."""
    model = write_tiny_llama(folder / "tiny-llama.gguf", shape)
    log = folder / "engine.log"
    with cpu_engine(model, alias=MODEL, parallel=parallel, threads=1, prompt_cache=False, log=log) as address:
        yield Engine(address, log)


def request_truth(timings: dict[str, float]) -> EngineRequest:
    """One request as llama.cpp timed it, from its stream's ``timings`` object."""
    return EngineRequest.of(timings["prompt_ms"], timings["predicted_ms"], timings.get("predicted_n", 0.0))


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

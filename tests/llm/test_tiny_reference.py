"""The numpy reference of the tiny Llama against llama.cpp, and the reference set the suite judges with.

Tokenization: ours (SentencePiece as llama.cpp runs it, lab/llm/tiny_reference.py) must give
the ids of the engine's ``POST /tokenize``; decoding: llama.cpp's greedy token ids (``POST
/completion`` with ``return_tokens``) must equal numpy's, for every prompt of the set. The
committed reference set must be what the numpy model writes today (not a stale copy).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from lab.inventory.llm_references import read_reference_set
from lab.llm.cpu_engine import cpu_engine
from lab.llm.tiny_model import write_tiny_llama
from lab.llm.tiny_reference import TinyReference

pytest.importorskip("gguf", reason="the tiny model is written with the [cpu-reference] extra")
REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCES = REPOSITORY / "testsuites" / "llm" / "data" / "tiny-llama-references.json"
MODEL = "tiny-llama"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny.gguf")


@pytest.fixture(scope="module")
def reference(model_file: Path) -> TinyReference:
    return TinyReference.load(model_file)


@pytest.fixture(scope="module")
def greedy(reference: TinyReference) -> list[list[int]]:
    """numpy's greedy token ids for each sample of the committed set (computed once: ~3 s)."""
    return [
        reference.greedy(reference.tokenize(str(s["prompt"])), int(str(s["max_tokens"])))
        for s in read_reference_set(REFERENCES)
    ]


def test_the_tokenizer_merges_by_score_and_falls_back_to_bytes(reference: TinyReference) -> None:
    ids = reference.tokenize("what a Card")
    pieces = [reference.tokens[i] for i in ids]
    # no "▁w…" piece can be reached by merges, "▁a" can; "C" is no piece: its byte
    space = ["<0xE2>", "<0x96>", "<0x81>"]
    assert pieces == ["<s>", *space, "w", "h", "a", "t", "\u2581a", *space, "<0x43>", "a", "r", "d"]
    assert reference.text([reference.tokens.index("\u2581card"), reference.tokens.index("s")]) == " cards"


@pytest.mark.integration
@pytest.mark.slow
def test_llama_cpp_greedy_tokens_equal_the_numpy_forward_pass(
    model_file: Path, reference: TinyReference, greedy: list[list[int]]
) -> None:
    pytest.importorskip("xllamacpp", reason="the CPU engine comes with the [cpu-reference] extra")
    samples = read_reference_set(REFERENCES)
    with cpu_engine(model_file, alias=MODEL, parallel=1) as address:

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            request = urllib.request.Request(
                f"http://{address}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, object] = json.load(response)
            return answer

        for sample, expected in zip(samples, greedy, strict=True):
            prompt, max_tokens = str(sample["prompt"]), int(str(sample["max_tokens"]))
            ours = reference.tokenize(prompt)
            theirs = post("/tokenize", {"content": prompt, "add_special": True})["tokens"]
            assert ours == theirs, prompt
            done = post(
                "/completion",
                {"prompt": prompt, "n_predict": max_tokens, "temperature": 0, "return_tokens": True},
            )
            assert done["tokens"] == expected, prompt
            assert done["content"] == reference.text(expected) == sample["reference"]


def test_the_committed_reference_set_is_what_the_numpy_model_writes(
    reference: TinyReference, greedy: list[list[int]]
) -> None:
    committed = read_reference_set(REFERENCES)
    assert [s["reference"] for s in committed] == [reference.text(ids) for ids in greedy]
    assert len(greedy) == 6 and all(
        len(ids) == s["max_tokens"] for ids, s in zip(greedy, committed, strict=True)
    )
    # and it is not the emulated engine's set it was made from
    emulated = read_reference_set(REPOSITORY / "testsuites" / "llm" / "data" / "references.json")
    assert [s["reference"] for s in emulated] != [s["reference"] for s in committed]

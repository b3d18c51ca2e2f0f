"""An LLM accuracy reference set: greedy reference outputs of one model for a fixed prompt set.

A node's ``serving.references`` names the set its endpoint's model is judged against (the
suite's default set, ``testsuites/llm/data/references.json``, belongs to the emulated
engine). The file is JSON::

    {"about": "how the references were made",
     "samples": [{"prompt": "...", "max_tokens": 48, "reference": "..."}]}

::

    samples = read_reference_set(Path("testsuites/llm/data/tiny-llama-references.json"))
    samples[0]["prompt"], samples[0]["reference"]

A missing file, bad JSON or a sample without its three fields raises ``ReferenceSetError``
whose message says where (the JSON's line for a syntax error) and what a sample needs.
"""

from __future__ import annotations

import json
from pathlib import Path

Sample = dict[str, object]


class ReferenceSetError(ValueError):
    """The reference set cannot be used; the message says where and why."""


def read_reference_set(path: Path) -> list[Sample]:
    """The samples of the reference set at ``path`` (see the module docstring for the format)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ReferenceSetError(f"cannot read the reference set {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReferenceSetError(f"{path}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from None
    samples = data.get("samples") if isinstance(data, dict) else None
    if not isinstance(samples, list) or not samples:
        raise ReferenceSetError(f'{path}: expected {{"samples": [...]}} with at least one sample')
    for index, sample in enumerate(samples):
        if not (
            isinstance(sample, dict)
            and isinstance(sample.get("prompt"), str)
            and isinstance(sample.get("reference"), str)
            and isinstance(sample.get("max_tokens"), int)
            and not isinstance(sample.get("max_tokens"), bool)
            and sample["max_tokens"] > 0
        ):
            raise ReferenceSetError(
                f"{path}: samples[{index}] needs prompt (text), max_tokens (a positive integer) "
                "and reference (text)"
            )
    return samples

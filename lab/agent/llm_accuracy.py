"""Accuracy of greedy outputs: exact match and ROUGE-L against references, and TEST06-style checks.

ROUGE-L is the F-measure of the longest common subsequence of whitespace tokens (MLPerf's
Llama tasks score with ``rouge_score``'s ``rougeL``; without its stemming and tokenizer
rules this is the same measure on plain lower-case words). TEST06 (MLPerf's audit test for
LLMs) checks that the first token reported is the response's first token, that the output
stops at EOS (finish "stop") or at the length asked for (finish "length" with exactly
``max_tokens`` tokens), and that the length stays within bounds; a request sent with
``ignore_eos`` (decode past EOS) must deliver exactly ``max_tokens`` tokens, so the output length
asked for is the length delivered. Tokens are counted as the
stream's events (one token each on llama.cpp's server, vLLM and the emulated engine); where
the stream's ``usage`` reports a count too (``reported_tokens``), the two must agree, so an
engine whose events are not one token each breaks the rule visibly instead of miscounting.

::

    rouge_l("the card serves", "the card served")        # 0.666…
    score = score_outputs([("out a", "ref a")]); score["exact_match"], score["rouge_l"]
    problems = audit_test06(tokens, first_token, finish_reason, max_tokens)   # [] when it holds
"""

from __future__ import annotations


def _lcs(first: list[str], second: list[str]) -> int:
    previous = [0] * (len(second) + 1)
    for word in first:
        current = [0]
        for index, other in enumerate(second):
            current.append(previous[index] + 1 if word == other else max(previous[index + 1], current[-1]))
        previous = current
    return previous[-1]


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F-measure of ``output`` against ``reference`` (0 … 1)."""
    produced, expected = output.lower().split(), reference.lower().split()
    if not produced or not expected:
        return 1.0 if produced == expected else 0.0
    common = _lcs(produced, expected)
    if common == 0:
        return 0.0
    precision, recall = common / len(produced), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def score_outputs(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Exact-match share and mean ROUGE-L over (output, reference) pairs."""
    if not pairs:
        raise ValueError("no outputs to score")
    exact = sum(1 for output, reference in pairs if output.split() == reference.split())
    return {
        "exact_match": exact / len(pairs),
        "rouge_l": sum(rouge_l(output, reference) for output, reference in pairs) / len(pairs),
    }


def audit_test06(
    tokens: list[str],
    first_token: str | None,
    finish_reason: str | None,
    max_tokens: int,
    min_tokens: int = 1,
    ignore_eos: bool = False,
    reported_tokens: int | None = None,
) -> list[str]:
    """What TEST06 would reject in one response ([] when it holds)."""
    problems: list[str] = []
    if not tokens:
        return ["no output tokens"]
    if reported_tokens is not None and reported_tokens != len(tokens):
        problems.append(
            f"the endpoint's usage counts {reported_tokens} completion tokens, its stream carried "
            f"{len(tokens)}: tokens cannot be counted from this stream"
        )
    if first_token != tokens[0]:
        problems.append(f"first token reported {first_token!r} is not the response's first {tokens[0]!r}")
    if finish_reason not in ("stop", "length"):
        problems.append(f"stream ended without a finish reason ({finish_reason!r}): cut mid-response")
    elif finish_reason == "length" and len(tokens) != max_tokens:
        problems.append(f"finish 'length' after {len(tokens)} tokens, {max_tokens} were asked")
    if len(tokens) > max_tokens:
        problems.append(f"{len(tokens)} tokens exceed max_tokens {max_tokens}: EOS/length not respected")
    if len(tokens) < min_tokens:
        problems.append(f"{len(tokens)} tokens is under the minimum {min_tokens}")
    if ignore_eos and len(tokens) < max_tokens:
        problems.append(f"{len(tokens)} tokens with ignore_eos: {max_tokens} were asked and not delivered")
    elif ignore_eos and finish_reason == "stop":
        problems.append("finish 'stop' although ignore_eos was asked: the engine stopped at EOS")
    return problems

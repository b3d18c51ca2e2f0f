"""ROUGE-L, exact match and the TEST06 checks on hand-made outputs."""

from __future__ import annotations

import pytest

from lab.agent.llm_accuracy import audit_test06, rouge_l, score_outputs


def test_rouge_l_is_the_lcs_f_measure() -> None:
    # LCS of "the card serves tokens" and "the card streams tokens fast" is 3 words:
    # precision 3/4, recall 3/5 → F = 2·0.75·0.6 / 1.35
    assert rouge_l("the card serves tokens", "the card streams tokens fast") == pytest.approx(2 / 3)
    assert rouge_l("a b c", "a b c") == 1.0
    assert rouge_l("x y", "a b") == 0.0


def test_score_outputs_counts_exact_matches_only_when_all_words_agree() -> None:
    score = score_outputs([("a b c", "a b c"), ("a b d", "a b c")])
    assert score["exact_match"] == 0.5
    assert score["rouge_l"] == pytest.approx((1.0 + 2 / 3) / 2)


def test_test06_holds_for_a_clean_stream_and_names_each_violation() -> None:
    assert audit_test06(["a", "b"], "a", "stop", max_tokens=8) == []
    assert audit_test06(["a", "b"], "a", "length", max_tokens=2) == []
    assert "first token" in audit_test06(["a", "b"], "b", "stop", 8)[0]
    assert "cut mid-response" in audit_test06(["a", "b"], "a", None, 8)[0]
    assert "were asked" in audit_test06(["a", "b"], "a", "length", 8)[0]
    assert any("exceed" in problem for problem in audit_test06(["a"] * 9, "a", "stop", 8))


def test_test06_counts_tokens_from_the_stream_only_where_the_endpoints_own_count_agrees() -> None:
    assert audit_test06(["a", "b"], "a", "length", max_tokens=2, reported_tokens=2) == []
    # an engine whose events are not one token each (llama-cpp-python 0.3: 12 events, usage 16)
    problems = audit_test06(["a", "b"], "a", "length", max_tokens=2, reported_tokens=3)
    assert problems == [
        "the endpoint's usage counts 3 completion tokens, its stream carried 2: tokens cannot be counted "
        "from this stream"
    ]

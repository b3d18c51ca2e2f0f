"""The outcome vocabulary: combining order and the pytest/JUnit/Allure mapping."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.criteria import MARGINAL_MARKER, OUTCOME_MAPPING, Outcome, combine, outcome_of_exception
from lab.errors import CommandTimeout, CriterionFailed, HostKeyError, ToolOutputError, UnreachableError

outcomes = st.sampled_from(list(Outcome))


def test_combine_picks_the_worst_in_documented_order() -> None:
    order = ["SKIP", "PASS", "MARGINAL", "FAIL", "ERROR", "INCOMPLETE"]
    for lower, higher in itertools.pairwise(order):
        assert combine([Outcome(lower), Outcome(higher)]) is Outcome(higher)
        assert combine([Outcome(higher), Outcome(lower)]) is Outcome(higher)


def test_error_hides_a_fail_but_the_fail_must_be_rerun_not_lost() -> None:
    assert combine([Outcome.PASS, Outcome.FAIL, Outcome.ERROR]) is Outcome.ERROR


def test_skip_is_neutral_and_only_all_skip_is_skip() -> None:
    assert combine([]) is Outcome.SKIP
    assert combine([Outcome.SKIP, Outcome.SKIP]) is Outcome.SKIP
    assert combine([Outcome.SKIP, Outcome.PASS, Outcome.SKIP]) is Outcome.PASS


@given(st.lists(outcomes), st.lists(outcomes))
def test_combine_is_associative_and_order_free(left: list[Outcome], right: list[Outcome]) -> None:
    whole = combine(left + right)
    assert whole is combine([combine(left), combine(right)])
    assert whole is combine(list(reversed(left + right)))
    assert whole in [*left, *right] or (whole is Outcome.SKIP)


def test_every_outcome_has_a_mapping() -> None:
    assert set(OUTCOME_MAPPING) == set(Outcome)


@pytest.mark.parametrize(
    ("outcome", "pytest_outcome", "junit", "allure"),
    [
        (Outcome.PASS, "passed", None, "passed"),
        (Outcome.MARGINAL, "passed", None, "passed"),
        (Outcome.FAIL, "failed", "failure", "failed"),
        (Outcome.ERROR, "error", "error", "broken"),
        (Outcome.SKIP, "skipped", "skipped", "skipped"),
        (Outcome.INCOMPLETE, None, "error", "unknown"),
    ],
)
def test_mapping_table(outcome: Outcome, pytest_outcome: str | None, junit: str | None, allure: str) -> None:
    mapping = outcome.mapping
    assert (mapping.pytest, mapping.junit, mapping.allure) == (pytest_outcome, junit, allure)


def test_only_fail_counts_against_the_device_and_only_marginal_needs_a_marker() -> None:
    assert [o for o in Outcome if o.mapping.counts_against_device] == [Outcome.FAIL]
    assert [o for o in Outcome if o.mapping.marked] == [Outcome.MARGINAL]
    assert MARGINAL_MARKER == ("lab.outcome", "MARGINAL")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (CriterionFailed("link Gen4, expected Gen5"), Outcome.FAIL),
        (AssertionError("plain assert"), Outcome.FAIL),
        (CommandTimeout("deadline"), Outcome.ERROR),
        (UnreachableError("no route", node="n1"), Outcome.ERROR),
        (HostKeyError("changed key", node="n1"), Outcome.ERROR),
        (ToolOutputError("bad csv", raw="???"), Outcome.ERROR),
        (TypeError("bug in the test"), Outcome.ERROR),
    ],
)
def test_exceptions_map_to_fail_only_for_verdicts(exc: BaseException, expected: Outcome) -> None:
    assert outcome_of_exception(exc) is expected


def test_parse_accepts_any_case_and_names_valid_outcomes() -> None:
    assert Outcome.parse(" marginal ") is Outcome.MARGINAL
    with pytest.raises(ValueError, match="PASS, MARGINAL, FAIL, ERROR, SKIP, INCOMPLETE"):
        Outcome.parse("broken")

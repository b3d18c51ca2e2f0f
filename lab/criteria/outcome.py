"""The outcome vocabulary, how outcomes combine, and how they map onto pytest, JUnit and Allure.

Six outcomes, used end to end (measurement → test record → run):

=============  ==========================================================================
PASS           every criterion met, with room to spare
MARGINAL       every criterion met, but at least one value sits inside the profile's
               marginal band next to a limit (a warning, not a failure)
FAIL           the device missed a criterion: a verdict against the device
ERROR          the lab could not measure (unreachable, authentication, timeout, tool
               output it cannot parse, a bug in the test): never counted against the device
SKIP           the test does not apply to this node/device (and says why)
INCOMPLETE     the test never finished: the run was killed or cut short
=============  ==========================================================================

Combining (``combine``) takes the *worst* outcome in this order, with SKIP as the neutral
element (it never hides anything, and only an all-SKIP set is SKIP)::

    SKIP  <  PASS  <  MARGINAL  <  FAIL  <  ERROR  <  INCOMPLETE

* ERROR beats FAIL: a test whose tooling broke half-way must be rerun before its verdict
  can be trusted (a dropped connection can leave a stale or misparsed reading behind).
  Nothing is lost: each measurement keeps its own verdict, so the report still shows the
  FAIL inside the ERROR test.
* INCOMPLETE beats everything: a run with unfinished tests cannot certify anything, and
  a test that never finished has no trustworthy measurements.

>>> combine([Outcome.PASS, Outcome.MARGINAL, Outcome.SKIP])
<Outcome.MARGINAL: 'MARGINAL'>
>>> combine([])
<Outcome.SKIP: 'SKIP'>

The mapping onto the outside world lives in one table, ``OUTCOME_MAPPING``:

=============  ==============  ================  ================  =======================
Outcome        pytest outcome  JUnit element     Allure status     counts against device
=============  ==============  ================  ================  =======================
PASS           passed          (none)            passed            no
MARGINAL       passed          (none) + property passed + label    no (a warning)
FAIL           failed          <failure>         failed            yes
ERROR          error           <error>           broken            no
SKIP           skipped         <skipped>         skipped           no
INCOMPLETE     (not reported)  <error>           unknown           no
=============  ==============  ================  ================  =======================

MARGINAL has no native slot anywhere, so it stays a pass and is marked: the JUnit testcase
gets ``<property name="lab.outcome" value="MARGINAL"/>`` and the Allure result the label
``lab.outcome=MARGINAL`` (``MARGINAL_MARKER``). INCOMPLETE tests were never reported by
pytest at all; views built from the run record show them as JUnit errors and Allure
``unknown`` so a cut-short run can never look green.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal


class Outcome(StrEnum):
    """One of the six outcomes; the value is the upper-case name written to JSON."""

    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIP = "SKIP"
    INCOMPLETE = "INCOMPLETE"

    @property
    def severity(self) -> int:
        """Rank used by ``combine``: higher is worse (SKIP 0 … INCOMPLETE 5)."""
        return _SEVERITY[self]

    @property
    def mapping(self) -> OutcomeMapping:
        """How this outcome appears in pytest, JUnit and Allure."""
        return OUTCOME_MAPPING[self]

    @classmethod
    def parse(cls, text: str) -> Outcome:
        """The outcome named ``text`` (case-insensitive); ``ValueError`` names the valid ones."""
        try:
            return cls(text.strip().upper())
        except ValueError:
            valid = ", ".join(outcome.value for outcome in cls)
            raise ValueError(f"unknown outcome {text!r} (expected one of {valid})") from None


_SEVERITY: Mapping[Outcome, int] = MappingProxyType(
    {
        Outcome.SKIP: 0,
        Outcome.PASS: 1,
        Outcome.MARGINAL: 2,
        Outcome.FAIL: 3,
        Outcome.ERROR: 4,
        Outcome.INCOMPLETE: 5,
    }
)


def combine(outcomes: Iterable[Outcome]) -> Outcome:
    """The worst of ``outcomes`` (see the module docstring); SKIP when there are none.

    >>> combine([Outcome.FAIL, Outcome.ERROR, Outcome.PASS])
    <Outcome.ERROR: 'ERROR'>
    """
    worst = Outcome.SKIP
    for outcome in outcomes:
        if outcome.severity > worst.severity:
            worst = outcome
    return worst


PytestOutcome = Literal["passed", "failed", "error", "skipped"]
JUnitElement = Literal["failure", "error", "skipped"]
AllureStatus = Literal["passed", "failed", "broken", "skipped", "unknown"]


@dataclass(frozen=True, slots=True)
class OutcomeMapping:
    """How one outcome shows up outside the framework.

    ``pytest`` is None for INCOMPLETE (pytest never reported the test); ``junit`` is the
    child element of ``<testcase>`` (None: a plain pass); ``marked`` says the view must
    add ``MARGINAL_MARKER`` because the native status alone would hide the outcome.
    """

    pytest: PytestOutcome | None
    junit: JUnitElement | None
    allure: AllureStatus
    counts_against_device: bool
    marked: bool = False


MARGINAL_MARKER = ("lab.outcome", "MARGINAL")
"""(name, value) of the JUnit property / Allure label that marks a MARGINAL pass."""

OUTCOME_MAPPING: Mapping[Outcome, OutcomeMapping] = MappingProxyType(
    {
        Outcome.PASS: OutcomeMapping("passed", None, "passed", counts_against_device=False),
        Outcome.MARGINAL: OutcomeMapping("passed", None, "passed", counts_against_device=False, marked=True),
        Outcome.FAIL: OutcomeMapping("failed", "failure", "failed", counts_against_device=True),
        Outcome.ERROR: OutcomeMapping("error", "error", "broken", counts_against_device=False),
        Outcome.SKIP: OutcomeMapping("skipped", "skipped", "skipped", counts_against_device=False),
        Outcome.INCOMPLETE: OutcomeMapping(None, "error", "unknown", counts_against_device=False),
    }
)


def outcome_of_exception(exc: BaseException) -> Outcome:
    """The outcome a test that raised ``exc`` gets, before any skip handling.

    A verdict is an ``AssertionError`` (``lab.errors.CriterionFailed`` or a plain
    ``assert``) → FAIL. Anything else — the project's ``InfrastructureError`` family, and
    also a ``TypeError`` from a bug in the test — is not the device's fault → ERROR.
    (pytest's skip exceptions are handled by pytest itself and never reach here.)

    >>> outcome_of_exception(AssertionError("too hot"))
    <Outcome.FAIL: 'FAIL'>
    >>> outcome_of_exception(TimeoutError())
    <Outcome.ERROR: 'ERROR'>
    """
    return Outcome.FAIL if isinstance(exc, AssertionError) else Outcome.ERROR

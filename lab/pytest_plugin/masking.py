"""Secrets masked in the failure text pytest produces: terminal, JUnit and Allure see ``********``.

The run record is masked by ``RunWriter`` itself; this module covers what pytest builds on
its own from a failing test — the exception message (Allure's status message), the failure
report ``longrepr`` (terminal, JUnit ``<failure>``, Allure's trace) and the captured
output sections — with the same process-wide registry (``lab.results.masking.SECRETS``).

Tests register secrets of their own with the ``lab_secret`` fixture::

    def test_registry_login(node, lab_secret):
        token = lab_secret(os.environ["REGISTRY_TOKEN"])     # returns the value unchanged
        node.transport.check(["registry-login", "--token-stdin"], stdin=token.encode())

The wrapper runs innermost (``trylast``): it masks the exception before pytest builds the
report and the report before any other plugin's wrapper (Allure's, the lab recorder) reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from lab.results.masking import SECRETS, register_secret


@pytest.fixture
def lab_secret() -> Callable[[str], str]:
    """``lab_secret(value)``: mask ``value`` in every record, report and failure text of this
    run from now on (for the rest of the session); returns ``value``."""

    def register(value: str) -> str:
        if not isinstance(value, str):
            raise TypeError(f"lab_secret takes the secret as str, got {type(value).__name__}")
        register_secret(value)
        return value

    return register


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    if SECRETS and call.excinfo is not None:
        _mask_exception(call.excinfo.value)
    result = yield
    if not SECRETS:
        return
    report: pytest.TestReport = result.get_result()  # type: ignore[attr-defined]
    mask_report(report)


def mask_report(report: pytest.TestReport) -> None:
    """Mask the failure text, skip reason and captured sections of ``report`` in place."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        report.longrepr = (longrepr[0], longrepr[1], SECRETS.text(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = SECRETS.text(text)
        if masked != text:  # only then: a plain string loses the terminal's colours
            report.longrepr = masked
    report.sections = [(title, SECRETS.text(content)) for title, content in report.sections]
    report.user_properties = [(name, _masked(value)) for name, value in report.user_properties]


def _masked(value: object) -> object:
    """A property with every text inside it masked (lists and maps are kept as such)."""
    if isinstance(value, str):
        return SECRETS.text(value)
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


masked_property = _masked


def _mask_exception(exc: BaseException, depth: int = 0) -> None:
    # Allure and the record take the message from the exception itself (``exconly()``).
    with contextlib.suppress(AttributeError, TypeError):  # an exception that forbids it
        exc.args = tuple(SECRETS.text(arg) if isinstance(arg, str) else arg for arg in exc.args)
    if _leaks(exc):  # its __str__ reads attributes, not args: give it a masking __str__
        _mask_str(exc)
    for chained in (exc.__cause__, exc.__context__):
        if chained is not None and depth < 8:
            _mask_exception(chained, depth + 1)


def _leaks(exc: BaseException) -> bool:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ is pytest's to report, not ours
        return False
    return SECRETS.text(text) != text


def _mask_str(exc: BaseException) -> None:
    """Swap in a subclass whose ``__str__`` is masked; same name and module, so ``isinstance``
    checks, the record's error type and Allure's broken/failed decision do not change."""
    kind = type(exc)
    original = kind.__str__

    def masked_str(self: BaseException) -> str:
        return SECRETS.text(original(self))

    masked = type(kind.__name__, (kind,), {"__str__": masked_str, "__module__": kind.__module__})
    masked.__qualname__ = kind.__qualname__
    with contextlib.suppress(TypeError):  # built-in exception types refuse __class__ assignment
        exc.__class__ = masked

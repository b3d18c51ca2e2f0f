"""SIGTERM ends a lab run the way Ctrl-C does.

A CI job's timeout (GNU ``timeout``, a runner cancelling a job) sends SIGTERM, usually to the
whole process group: the pytest controller and every xdist worker. Python's default action
kills each process on the spot, so the controller never finishes the run and the workers,
their controller gone, print ``PluggyTeardownRaisedWarning ... OSError: cannot send`` from
xdist's teardown. Here the first SIGTERM raises ``KeyboardInterrupt`` in the main thread,
the path pytest and xdist already handle for Ctrl-C: the running test stops, fixtures and
``LabSession.close`` release leases and close connections, unfinished tests stay INCOMPLETE
in the record, the controller finishes the manifest and prints its summary. Later SIGTERMs
are ignored while that cleanup runs (SIGKILL remains the hard stop)::

    install_sigterm_as_interrupt()     # in pytest_configure, controller and workers
    restore_sigterm()                  # in pytest_unconfigure
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_SAVED: list[object] = []  # the handler before ours, while ours is installed
_RECEIVED: list[int] = []  # signals received: one is acted on, the rest ignored


def install_sigterm_as_interrupt() -> bool:
    """Install the handler (main thread only; a handler someone else set is left alone).

    Returns whether it was installed.
    """
    if threading.current_thread() is not threading.main_thread() or _SAVED:
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current not in (signal.SIG_DFL, None):
        return False
    _RECEIVED.clear()
    _SAVED.append(current)
    signal.signal(signal.SIGTERM, _interrupt)
    return True


def restore_sigterm() -> None:
    """Put back the handler ``install_sigterm_as_interrupt`` replaced."""
    if _SAVED and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _SAVED.pop())  # type: ignore[arg-type]


def interrupted_by_sigterm() -> bool:
    """Whether this process received SIGTERM since the handler was installed."""
    return bool(_RECEIVED)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _RECEIVED.append(signum)
    if len(_RECEIVED) == 1:
        raise KeyboardInterrupt("SIGTERM: run stopped, unfinished tests are INCOMPLETE")

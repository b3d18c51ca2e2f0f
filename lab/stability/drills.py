"""Recovery drills: what a card must survive besides a quiet soak.

* ``progress_drill`` — a workload reports progress within the deadline; a hung one is
  detected *at* the deadline (the controller never waits on it), killed, and the tool's
  view of the card is kept as evidence.
* ``kill_drill`` — the workload process is killed mid-run; the card is released and a new
  workload runs on it.
* ``reset_drill`` — the vendor reset command (through the adapter); the card is listed,
  alive and runs a workload again within the profile's time.

Every workload is the node agent's (``NodeWorkloads``), on emulated and real cards alike.
Each returns a ``DrillResult`` whose ``value`` is what the profile's criterion judges; a hang
is decided explicitly (``hung``: no progress for the deadline's seconds) rather than read off
a value that overshot its limit::

    result = progress_drill(transport, card, adapter, workloads, window=5, deadline=20)
    result.value, result.hung, result.detail    # (0.4, False, 'first window after 0.4 s: ...')

A node that cannot run the workload runner at all (no Python, no runtime) raises
``RunnerUnavailable``: ERROR, never counted against the card.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lab.devices.base import DeviceAdapter
from lab.errors import CommandFailed, CommandTimeout, TransportError
from lab.stability.cards import Card
from lab.stability.stream import Window, WorkloadStream
from lab.stability.telemetry import CardSample, read_cards
from lab.stability.workloads import NodeWorkloads, RunnerUnavailable
from lab.transport.base import Transport

_POLL_SECONDS = 0.2
_REAP_SECONDS = 5.0  # a killed process is gone (reaped) well within this
_RUN_SECONDS = 3600.0  # drill workloads are stopped by the drill long before this


@dataclass(frozen=True, slots=True)
class DrillResult:
    """The measured value of a drill and one sentence of evidence."""

    value: float | bool
    detail: str
    seconds: float  # wall time the drill took
    hung: bool = False  # the drill's verdict: no progress within its deadline


def progress_drill(
    transport: Transport,
    card: Card,
    adapter: DeviceAdapter,
    workloads: NodeWorkloads,
    *,
    window: float,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> DrillResult:
    """Seconds until a workload's first window; no window within ``deadline`` is a hang."""
    began = clock()
    stream = _start(workloads, card, window, deadline)
    try:
        first = _first_window(stream, began + deadline, clock, give_up_on_exit=False)
        elapsed = clock() - began
        if first is not None:
            return DrillResult(round(elapsed, 3), _describe(first, elapsed), elapsed)
        _blame_the_node(stream, workloads)
        state = _tool_view(adapter, card)
        messages = "; ".join(stream.messages)
        if stream.finished or (messages and not stream.alive()):
            # the card could not run it (e.g. gone from the bus); judged the same way: no progress
            detail = (
                f"no progress for {deadline:g} s: the workload exited without progress ({messages}); "
                f"the tool shows: {state}"
            )
            return DrillResult(round(elapsed, 3), detail, clock() - began, hung=True)
        stream.kill()  # hung: never waited for beyond the deadline
        stream.wait_gone(_REAP_SECONDS)
        detail = f"no progress for {deadline:g} s ({messages or 'no output'}); the tool shows: {state}"
        return DrillResult(round(elapsed, 3), detail, clock() - began, hung=True)
    finally:
        stream.stop()
        stream.cleanup()


def kill_drill(
    transport: Transport,
    card: Card,
    workloads: NodeWorkloads,
    *,
    window: float,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> DrillResult:
    """Kill a running workload (SIGKILL, as a crash) and run a new one: True when it runs."""
    began = clock()
    stream = _start(workloads, card, window, deadline)
    try:
        first = _first_window(stream, began + deadline, clock)
        if first is None:
            _blame_the_node(stream, workloads)
            return DrillResult(
                False, f"the first workload made no progress within {deadline:g} s", clock() - began
            )
        stream.kill()
        if not stream.wait_gone(max(_REAP_SECONDS, began + deadline - clock())):
            return DrillResult(False, f"workload pid {stream.pid} survived SIGKILL", clock() - began)
    finally:
        stream.stop()
        stream.cleanup()
    remaining = max(1.0, began + deadline - clock())
    try:
        ran = workloads.run(card.index, queries=20, timeout=remaining)
    except CommandTimeout:
        return DrillResult(
            False, f"after killing pid {stream.pid} a new workload made no progress", clock() - began
        )
    if ran.status == "ok":
        return DrillResult(True, f"killed pid {stream.pid}; a new workload ran 20 queries", clock() - began)
    if ran.status == "error" and not ran.card_fault:
        raise RunnerUnavailable(f"{workloads.node.name}: the workload runner failed: {ran.detail}")
    why = "still busy (not released)" if ran.status == "busy" else ran.status
    return DrillResult(
        False, f"after killing pid {stream.pid} a new workload failed: {why}: {ran.detail}", clock() - began
    )


def reset_drill(
    transport: Transport,
    card: Card,
    adapter: DeviceAdapter,
    workloads: NodeWorkloads,
    *,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> DrillResult:
    """Seconds from the vendor reset until the card is listed, alive and runs a workload."""
    began = clock()
    refused = ""
    try:
        adapter.reset(card.tool_index)
    except CommandFailed as error:
        # a refused reset is judged like one that never brings the card back
        refused = f"the reset was refused ({error}); "
    state = "never polled"
    while True:
        elapsed = clock() - began
        if elapsed > deadline:
            return DrillResult(
                round(elapsed, 3), f"{refused}not healthy {deadline:g} s after the reset: {state}", elapsed
            )
        sample = read_cards({card.model.key: adapter}, [card])[card.label]
        state = sample.describe()
        if (
            sample.present
            and sample.alive is not False
            and _runs(workloads, card, began + deadline - clock())
        ):
            elapsed = clock() - began
            return DrillResult(
                round(elapsed, 3), f"healthy {elapsed:.2f} s after the reset: {state}", elapsed
            )
        sleep(_POLL_SECONDS)


def _runs(workloads: NodeWorkloads, card: Card, remaining: float) -> bool:
    try:
        result = workloads.run(card.index, queries=20, timeout=max(1.0, remaining))
    except CommandTimeout:
        return False
    if result.status == "error" and not result.card_fault:
        raise RunnerUnavailable(f"{workloads.node.name}: the workload runner failed: {result.detail}")
    return result.status == "ok"


def _start(workloads: NodeWorkloads, card: Card, window: float, deadline: float) -> WorkloadStream:
    # runs until the drill stops it; its own deadline only guards against a lost controller
    return workloads.start(
        "Windows", card.index, seconds=_RUN_SECONDS, window=window, wall_seconds=_RUN_SECONDS + deadline
    )


def _blame_the_node(stream: WorkloadStream, workloads: NodeWorkloads) -> None:
    """A runner that could not start at all (no runtime, bad request) is the node's fault: ERROR."""
    if stream.failure is not None and stream.failure[0] == "error" and stream.failure[1] != "device":
        raise RunnerUnavailable(f"{workloads.node.name}: the workload runner failed: {stream.failure[2]}")
    if stream.messages and not stream.finished and not stream.alive():
        # it exited without a result line: python or the agent itself is missing or broken
        raise RunnerUnavailable(
            f"{workloads.node.name}: the workload runner did not run: {'; '.join(stream.messages)}"
        )


def _first_window(
    stream: WorkloadStream, until: float, clock: Callable[[], float], *, give_up_on_exit: bool = True
) -> Window | None:
    while clock() < until:
        windows = stream.poll()
        if windows:
            return windows[0]
        if give_up_on_exit and stream.messages and not stream.alive():
            return None  # the runner refused or failed (e.g. the card is gone): no point waiting
        time.sleep(_POLL_SECONDS)
    return None


def _tool_view(adapter: DeviceAdapter, card: Card) -> str:
    try:
        sample: CardSample = read_cards({card.model.key: adapter}, [card])[card.label]
    except (TransportError, CommandFailed) as error:
        return f"the tool did not answer ({error})"
    return sample.describe()


def _describe(window: Window, elapsed: float) -> str:
    return (
        f"first window after {elapsed:.2f} s: {window.throughput:.6g} samples/s, p99 {window.p99_ms:.3g} ms"
    )

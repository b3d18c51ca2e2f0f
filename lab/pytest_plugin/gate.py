"""The health gate in a pytest run: check each node before each suite, skip quarantined nodes.

With ``--lab-gate on`` the first test of a suite (the test file's folder: ``functional``,
``performance``…) on a node first reads the node's kernel health (``lab.health``) and
judges it with the profile's gate criteria. A node that fails is quarantined in the run
directory (``quarantine/<node>.json``, shared by xdist workers) and every later test of it,
in this suite and the next, is SKIP "quarantined: <reason>" — not FAIL (the device was
never tested) and not ERROR (the lab worked). ``--lab-gate auto-lift`` lets a quarantined
node back when a later suite's gate passes. ``lab node release`` lifts it by hand.

Every gate reading goes to ``health/<node>.jsonl`` (one JSON object a line: suite, time,
the kernel's counters, ``new`` since the previous reading with ``window_of`` naming the suite
that ran in that window, the verdict), so the errors a suite caused are recorded against it;
the last reading is taken when the session ends. A probe that cannot be read (refused ``dmesg``,
unreachable node) is recorded as ``error`` and gates nothing: the tests themselves report
the infrastructure problem.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from lab.errors import InfrastructureError
from lab.health import KernelHealth, judge_gate, quarantine, quarantined, read_kernel_health, release
from lab.health.kernel import Xid
from lab.pytest_plugin.parametrize import _target_of
from lab.pytest_plugin.session import LabSession

log = logging.getLogger(__name__)

HEALTH_DIR = "health"
_GATED_KEY = pytest.StashKey[dict[tuple[str, str], bool]]()  # (node, suite) gated in this process


def _suite_of(item: pytest.Item) -> str:
    return Path(str(item.path)).parent.name


def _health_from_json(data: dict[str, Any]) -> KernelHealth:
    """A reading back from ``health/<node>.jsonl`` (written by ``KernelHealth.to_json``)."""
    return KernelHealth(
        aer={
            str(bdf): {str(k): int(v) for k, v in counts.items()}
            for bdf, counts in (data.get("aer") or {}).items()
        },
        xids=tuple(Xid(str(x["bdf"]), int(x["code"]), str(x["line"])) for x in data.get("xids") or ()),
        machine_checks=int(data.get("machine_checks") or 0),
        driver_errors=tuple(str(line) for line in data.get("driver_errors") or ()),
    )


def last_reading(run_dir: Path, node: str) -> tuple[KernelHealth, str] | None:
    """The node's latest kernel reading of this run (any worker's) and its suite, or None."""
    path = run_dir / HEALTH_DIR / f"{node}.jsonl"
    if not path.exists():
        return None
    latest: tuple[KernelHealth, str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("health") is not None:
            latest = (_health_from_json(entry["health"]), str(entry.get("suite", "")))
    return latest


def _append(run_dir: Path, node: str, entry: dict[str, object]) -> None:
    path = run_dir / HEALTH_DIR / f"{node}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()


def read_gate(session: LabSession, node: str, suite: str, phase: str) -> tuple[bool | None, str]:
    """Read and judge ``node``'s kernel health now; record it. Returns (passed or None if unread, reason)."""
    run_dir = session.run_dir
    previous = last_reading(run_dir, node)
    baseline = previous[0] if previous is not None else None
    began = time.monotonic()
    entry: dict[str, object] = {"suite": suite, "phase": phase, "time": time.time()}
    try:
        health = read_kernel_health(session.transport(node))
    except InfrastructureError as error:
        entry.update(error=str(error), seconds=round(time.monotonic() - began, 3))
        _append(run_dir, node, entry)
        log.warning("%s: health gate not judged: %s", node, error)
        return None, str(error)
    verdict = judge_gate(health, session.profile_for(session.node(node)), baseline)
    entry.update(
        health=health.to_json(),
        # what the kernel logged since the previous reading: the window of the suite that ran then
        new=health.since(baseline).to_json() if baseline is not None else None,
        window_of=previous[1] if previous is not None else None,
        passed=verdict.passed,
        reason=verdict.reason,
        measurements=[m.to_dict() for m in verdict.measurements],
        seconds=round(time.monotonic() - began, 3),
    )
    _append(run_dir, node, entry)
    return verdict.passed, verdict.reason


@pytest.hookimpl
def pytest_runtest_setup(item: pytest.Item) -> None:
    mode = item.config.getoption("lab_gate", "off")
    target = _target_of(item)
    if mode == "off" or target is None:
        return
    session = LabSession.of(item.config)
    node, suite = target.node_name, _suite_of(item)
    gated = item.config.stash.setdefault(_GATED_KEY, {})
    held = quarantined(session.run_dir, node)
    if (node, suite) not in gated and (held is None or mode == "auto-lift"):
        gated[(node, suite)] = True
        passed, reason = read_gate(session, node, suite, "before")
        if passed is False:
            held = quarantine(session.run_dir, node, reason, suite=suite)
        elif passed and held is not None:
            release(session.run_dir, node, by="auto-lift: the gate passed again")
            held = None
    if held is not None:
        pytest.skip(f"quarantined: {held.reason}")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Take the closing reading of every node this process gated (the last suite's window)."""
    config = session.config
    if config.getoption("lab_gate", "off") == "off":
        return
    gated = config.stash.get(_GATED_KEY, {})
    lab = LabSession.of(config)
    for node in sorted({node for node, _ in gated}):
        suites = [suite for n, suite in gated if n == node]
        read_gate(lab, node, suites[-1], "after")

"""The canonical run's power: scraped in the background while the run runs, over the run's own window.

A scripted exporter (their ``kcloud_furiosa_power_watts``) reads 40 W while the node idles and
150 W while the run runs: the figure is the loaded window's 150 W, not diluted by the idle
scrapes before and after it (the old between-chunks scraping averaged those in).
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import cast

from lab.devices.model import DeviceReport
from lab.errors import UnreachableError
from lab.kcloud.run_power import RunPower
from lab.transport.fake import FakeTransport, ScriptedReply

PAGE = 'kcloud_furiosa_power_watts{{device="npu0",node="w1",pci="0000:00:05.0"}} {watts}\n'


def _report(watts: float) -> DeviceReport:
    """The two fields RunPower reads of a vendor tool's report (identity.device, telemetry.power_watts)."""
    return cast(
        DeviceReport,
        SimpleNamespace(
            identity=SimpleNamespace(device="npu0"), telemetry=SimpleNamespace(power_watts=watts)
        ),
    )


def test_power_is_the_mean_over_the_runs_own_window() -> None:
    loaded = threading.Event()
    fake = FakeTransport("rngd-01")
    fake.respond_with(
        r"kcloud_furiosa|:9410/|curl",
        lambda _: ScriptedReply(PAGE.format(watts=150 if loaded.is_set() else 40)),
    )
    power = RunPower(fake, "furiosa-smi", "rngd-01")
    with power.sampling(interval_s=0.05):
        time.sleep(0.2)  # idle before the run: scraped, outside the window
        loaded.set()
        started = time.time()
        time.sleep(0.5)
        completed = time.time()
        loaded.clear()
        time.sleep(0.2)  # idle after it
    every = power.scrapes["kcloud-furiosa-exporter"]
    assert sum(1 for s in every if s.at < started) >= 2 and sum(1 for s in every if s.at > completed) >= 2
    result = power.result([_report(150.0)], (started, completed))
    assert result.watts == 150.0 and result.source == "kcloud-furiosa-exporter"
    assert 5 <= result.scrapes <= 12  # every 50 ms over 0.5 s, none from the idle ends
    assert result.checks == [
        "kcloud-furiosa-exporter npu0 power: exporter 150, their dashboard 150, vendor tool 150: agrees"
    ]
    # the whole series (no window) would have been diluted by the idle scrapes
    whole = power.result([_report(150.0)])
    assert whole.watts is not None and whole.watts < 140


def test_a_window_with_no_scrape_inside_is_not_computable_and_a_dead_exporter_is_asked_once() -> None:
    fake = FakeTransport("rngd-01")
    fake.respond_with(r"curl", lambda _: ScriptedReply(PAGE.format(watts=40)))
    power = RunPower(fake, "furiosa-smi", "rngd-01")
    power.sample()
    later = time.time() + 10
    result = power.result([_report(40.0)], (later, later + 1))
    assert result.watts is None and "inside the run's 1.0 s window" in result.why
    dead = FakeTransport("rngd-02")
    dead.fail_with(UnreachableError("rngd-02: no route"))
    power = RunPower(dead, "furiosa-smi", "rngd-02")
    with power.sampling(interval_s=0.05):
        time.sleep(0.3)
    assert len(dead.calls) == 2  # each source tried once, then dropped (each try waits its timeout)
    assert power.result([_report(40.0)]).watts is None and "no route" in power.result([]).why

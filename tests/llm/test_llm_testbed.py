"""``pytest testsuites/llm`` on the emulated test-bed: its endpoints, their cards, the proof of silicon.

Two RNGD nodes whose endpoints the test-bed starts: one serves on its card 0 as declared, the
other's work lands on card 1 (``llm-served-elsewhere``). The healthy node's Offline run PASSes
and its record names card 0 and the precision; the other is ERROR, "not served by the cards
under test", never a FAIL or a PASS of figures that are not its card's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.emulator.testbed.launcher import down, up
from lab.report import render_run
from lab.results import load_run
from lab.results.series import read_series

REPOSITORY = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("quiet_cpu")]

INVENTORY = f"""version: 1
name: llm-testbed
catalog: {REPOSITORY}/inventory/devices.yaml
profiles: {REPOSITORY}/inventory/profiles
defaults:
  emulated: true
  user: lab
  operator: naver-cloud
  profile: kcloud-npu-v1
  serving: {{address: "127.0.0.1:0", model: emulated-llama-3.1-8b}}
  accelerators: [{{model: rngd, count: 2}}]
nodes:
  - name: llm-ok
    bmc: {{user: admin, password_env: H16_TEST_BMC_PASSWORD, timeout: 5}}
  - name: llm-elsewhere
    emulation: {{faults: [{{kind: llm-served-elsewhere}}]}}
"""


def _certificate(report: str, node: str) -> str:
    start = report.index(f'<section class="node certificate" id="node-{node}">')
    return report[start : report.index("</section>", start)]


def test_the_suite_proves_which_card_served_on_the_emulated_testbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("H16_TEST_BMC_PASSWORD", "h16-test-Pa55-4417")
    source = tmp_path / "inventory.yaml"
    source.write_text(INVENTORY, encoding="utf-8")
    result = up(source, tmp_path / "testbed")
    try:
        command = [
            sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "llm"),
            "-k", "offline or watt or max_rate or sweep", "--lab-inventory", str(result.resolved_inventory),
            "--lab-run-dir", str(tmp_path / "run"), "--lab-perf-duration", "1",
            "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        down(tmp_path / "testbed")
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-2000:]
    by = {
        (record.node, record.test_id.split("::")[-1].split("[")[0]): record
        for record in load_run(tmp_path / "run").records
    }
    healthy = by[("llm-ok", "test_llm_offline_tokens_per_second")]
    assert healthy.outcome is Outcome.PASS, (healthy.reason, healthy.error)
    assert healthy.properties.get("llm_served_by[llm-offline]") == "card 0"
    assert healthy.properties.get("llm_precision") == "bf16"
    tokens_per_s = {m.name: m.value for m in healthy.measurements}["llm-offline-tokens-per-second"]

    # per watt, from the same Offline run: the serving card's board power (busy: near its 180 W
    # TDP, far above its 27 W idle) and the whole node at the wall (its emulated BMC), which is more
    watt = by[("llm-ok", "test_llm_tokens_per_watt")]
    assert watt.outcome is Outcome.PASS, (watt.reason, watt.error)
    board = watt.properties["llm_board_watts"]
    assert isinstance(board, float) and 100 < board <= 190, board
    per_watt = {m.name: m.value for m in watt.measurements}
    assert per_watt["llm-tokens-per-watt"] == pytest.approx(float(tokens_per_s) / board, rel=0.01)  # type: ignore[arg-type]
    wall = per_watt["llm-tokens-per-wall-watt"]
    assert isinstance(wall, float) and 0 < wall < float(per_watt["llm-tokens-per-watt"])  # type: ignore[arg-type]

    # the Server search: the highest rate tried whose p99 TTFT and TPOT were both within bounds
    search = by[("llm-ok", "test_llm_server_max_rate")]
    assert search.outcome is Outcome.PASS, (search.reason, search.error)
    best = {m.name: m.value for m in search.measurements}["llm-server-max-rate"]
    assert isinstance(best, float) and best >= 2.0
    trials = str(search.properties["llm_server_trials"])
    assert trials.startswith("2.00 q/s") and f"{best:.2f} q/s" in trials

    # the concurrency sweep: more streams, more tokens/s; its curve is evidence, drawn in the report
    sweep = by[("llm-ok", "test_llm_concurrency_sweep")]
    assert sweep.outcome is Outcome.PASS, (sweep.reason, sweep.error)
    (measurement,) = sweep.measurements
    (path,) = [p for p in measurement.evidence if p.endswith(".series.json")]
    curve = read_series(tmp_path / "run" / path)
    assert curve.kind == "curve" and curve.x_unit == "tokens/s" and len(curve.t) == 3
    assert list(curve.t) == sorted(curve.t) and all(tpot < 200 for tpot in curve.values)
    assert measurement.value == max(curve.t)
    monkeypatch.delenv("LAB_REPORT_KEY", raising=False)
    report = render_run(tmp_path / "run", lang="en").read_text(encoding="utf-8")
    assert report.count('class="point"') >= 3 and "tokens/s" in report
    # each node's certificate has an LLM serving section: facts, figures with limits, the rules
    ok, elsewhere = (_certificate(report, name) for name in ("llm-ok", "llm-elsewhere"))
    served_rule = 'Every run served by the cards under test (vendor tool)</td><td><span class="badge '
    assert "<h3>LLM serving</h3>" in ok and "<td>bf16</td>" in ok and '<figure class="llm-curve">' in ok
    assert served_rule + 'PASS">' in ok and "<td>llm-server-max-rate" in ok
    assert served_rule + 'ERROR">' in elsewhere

    mislabelled = by[("llm-elsewhere", "test_llm_offline_tokens_per_second")]
    assert mislabelled.outcome is Outcome.ERROR
    message = f"{mislabelled.reason} {mislabelled.error}"
    assert "not served by the cards under test" in message and "card(s) [1], not asked for" in message
    assert mislabelled.properties.get("llm_served_by[llm-offline]") == "card 1"
    assert by[("llm-elsewhere", "test_llm_server_max_rate")].outcome is Outcome.ERROR  # every run is proved

"""Telemetry samples read back through the vendor adapter, and the agent zipapp itself."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lab.devices.nvidia import NvidiaSmiAdapter, query_arguments, remapped_rows_query
from lab.devices.rebellions import RebellionsAdapter
from lab.performance.result import AgentResult
from lab.performance.telemetry import card_series, mean_power, telemetry_commands
from lab.performance.zipapp import AGENT_PACKAGE, build_agent
from lab.transport.fake import FakeTransport


def _rbln_json(power_uw: int, temperature: int, pstate: str) -> str:
    device = {
        "npu": 0, "name": "RBLN-CA12", "sid": "0000000022513364", "uuid": "3a5d3eec-0000", "device": "rbln0",
        "status": "normal", "fw_ver": "3.0.0",
        "pci": {"dev": "0x1220", "bus_id": "0000:03:00.0", "numa_node": "0", "link_speed": "32.0GT/s",
                "link_width": "16"},
        "temperature": f"{temperature}C", "card_power": f"{power_uw}uW", "pstate": pstate,
        "memory": {"used": "75497472", "total": "16877879296"}, "util": "97.0", "board_info": "0005000c",
        "location": 5,
    }  # fmt: skip
    return json.dumps({"KMD_version": "3.0.0", "devices": [device], "contexts": []})


def _result(samples: list[dict[str, object]]) -> AgentResult:
    data = {
        "status": "ok", "summary": {"result": "VALID", "samples_per_second": 100.0, "latency_ns": {}},
        "detail": {}, "settings": {}, "window": {"start": 0.5, "end": 2.5},
        "telemetry": {"interval_s": 0.5, "samples": samples},
    }  # fmt: skip
    return AgentResult.parse(json.dumps(data), node="kt-rbln-01")


def test_commands_are_learnt_from_the_adapter_and_samples_read_back_by_it() -> None:
    fake = FakeTransport("kt-rbln-01")
    fake.reply(["rbln-smi", "--json"], stdout=_rbln_json(40_000_000, 40, "P14"))
    commands = telemetry_commands(RebellionsAdapter, fake)
    assert commands == [["rbln-smi", "--json"]]

    def sample(t: float, watts: float, exit_status: int = 0) -> dict[str, object]:
        stdout = _rbln_json(int(watts * 1e6), 70, "P2")
        return {"t": t, "outputs": [{"exit": exit_status, "stdout": stdout, "stderr": ""}]}

    result = _result(
        [sample(0.2, 30.0), sample(1.0, 140.0), sample(1.5, 0.0, exit_status=1), sample(2.0, 150.0)]
    )
    series = card_series(result, RebellionsAdapter, commands, [0])
    assert [s.t for s in series] == [0.2, 1.0, 2.0]  # the failed sample is a gap, not 0 W
    assert series[1].power_watts == pytest.approx(140.0) and series[1].temperature_celsius == 70
    # only samples inside LoadGen's window [0.5, 2.5] count: the idle 30 W before it does not
    assert mean_power(series, result.window) == pytest.approx(145.0)
    assert card_series(result, RebellionsAdapter, commands, [3]) == []  # no such card in the samples


def test_a_tools_probe_is_read_once_per_run_not_sampled() -> None:
    """nvidia-smi's --help-query-gpu (30 kB) and row remapping (refused by an older driver) are
    recorded when the commands are learnt and replayed with each sample: only the query is sampled."""
    fake = FakeTransport("nhn-ref-01")
    fields = ("index", "name", "uuid", "temperature.gpu", "power.draw")  # in QUERY_FIELDS order
    help_text = "".join(f'"{field}"\nWhat it is.\n\n' for field in fields)
    fake.reply(["nvidia-smi", "--help-query-gpu"], stdout=help_text)
    query = ["nvidia-smi", *query_arguments(fields)]
    fake.reply(query, stdout="0, NVIDIA T4, GPU-1, 30.00, 40\n")
    fake.reply_matching(
        r"--query-remapped-rows", exit_status=2, stderr="Invalid combination of input arguments\n"
    )
    commands = telemetry_commands(NvidiaSmiAdapter, fake)
    assert commands == [query]  # the only command the agent samples
    assert sorted(commands.fixed) == sorted(
        [
            "nvidia-smi --help-query-gpu",
            "nvidia-smi " + remapped_rows_query() + " --format=csv,noheader,nounits",
        ]
    )
    sample = {"t": 1.0, "outputs": [{"exit": 0, "stdout": "0, NVIDIA T4, GPU-1, 55, 70.00\n", "stderr": ""}]}
    [reading] = card_series(_result([sample]), NvidiaSmiAdapter, commands, [0])
    assert reading.power_watts == 70.0 and reading.temperature_celsius == 55.0


def test_zipapp_holds_the_agent_under_its_own_package_name(tmp_path: Path) -> None:
    path = build_agent(tmp_path)
    assert build_agent(tmp_path) == path  # same sources: reused
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    assert "__main__.py" in names and f"{AGENT_PACKAGE}/main.py" in names
    assert f"{AGENT_PACKAGE}/backends/emulated.py" in names
    assert not any(name.startswith("lab/") for name in names)  # never shadows the node's lab package


def test_zipapp_answers_a_bad_request_with_one_json_error(tmp_path: Path) -> None:
    path = build_agent(tmp_path)
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"scenario": "Offline", "backend": {"name": "emulated"}}))
    done = subprocess.run(
        [sys.executable, str(path), str(request)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    answer = json.loads(done.stdout)
    assert answer["status"] == "error" and "output_dir" in answer["error"]

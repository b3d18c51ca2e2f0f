"""The host-CPU adapter (``lscpu --json``) of CPU reference nodes: captured, nested, real, garbage."""

from __future__ import annotations

import json
import platform
import shutil

import pytest
from device_captures import capture

from lab.devices.cpu import HostCpuAdapter, parse_lscpu_json
from lab.devices.registry import features_of
from lab.errors import CommandFailed, ToolOutputError
from lab.transport.fake import FakeTransport
from lab.transport.local import LocalTransport

# util-linux 2.39+ nests fields under their parent (lscpu --hierarchic): the same facts, a tree.
NESTED = {
    "lscpu": [
        {
            "field": "Architecture:",
            "data": "aarch64",
            "children": [{"field": "Byte Order:", "data": "Little"}],
        },
        {"field": "CPU(s):", "data": "64"},
        {
            "field": "Vendor ID:",
            "data": "ARM",
            "children": [
                {
                    "field": "Model name:",
                    "data": "Neoverse-N1",
                    "children": [
                        {"field": "Socket(s):", "data": "1"},
                        {"field": "CPU max MHz:", "data": "3000.0000"},
                    ],
                }
            ],
        },
    ]
}


def test_captured_lscpu_gives_one_host_cpu_device() -> None:
    text = capture("lscpu_json_util_linux_2_38.json")
    fields = {entry["field"]: entry["data"] for entry in json.loads(text)["lscpu"]}
    report = parse_lscpu_json(text)
    assert report.identity.product == fields["Architecture:"] == "x86_64"
    assert (report.identity.index, report.identity.device, report.identity.card_id) == (0, "cpu", "cpu")
    assert report.raw["model_name"] == fields["Model name:"]
    assert report.raw["cpus"] == fields["CPU(s):"]
    # lscpu has no power, temperature or error counter: not reported, never 0
    assert report.telemetry.power_watts is None and report.telemetry.temperature_celsius is None
    assert report.health.uncorrectable_errors is None and report.health.alive is True
    assert report.link is None


def test_nested_lscpu_fields_are_read_from_the_whole_tree() -> None:
    report = parse_lscpu_json(json.dumps(NESTED))
    assert report.identity.product == "aarch64"
    assert report.raw["model_name"] == "Neoverse-N1"
    assert report.raw["sockets"] == "1"
    assert report.telemetry.clock_mhz == 3000.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lscpu: failed to determine number of CPUs", "not valid JSON"),
        ('{"lscpu": {"field": "Architecture:"}}', "expected a list"),
        ('{"lscpu": [{"field": "CPU(s):", "data": "2"}]}', "no Architecture"),
        ('{"lscpu": [{"field": "Architecture:", "data": "x86_64"}]}', "no CPU(s)"),
        (
            '{"lscpu": [{"field": "Architecture:", "data": "x86_64"}, {"field": "CPU(s):", "data": "two"}]}',
            "CPU(s)",
        ),
        (
            '{"lscpu": [{"field": "Architecture:", "data": "x86_64"}, {"field": "CPU(s):", "data": "0"}]}',
            "is 0",
        ),
    ],
)
def test_output_that_is_not_lscpus_is_a_tool_output_error_with_the_raw_text(text: str, message: str) -> None:
    with pytest.raises(ToolOutputError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse_lscpu_json(text)
    assert caught.value.raw == text


def test_a_failing_lscpu_is_command_failed() -> None:
    fake = FakeTransport()
    fake.reply(["lscpu", "--json"], exit_status=127, stderr="sh: 1: lscpu: not found")
    with pytest.raises(CommandFailed, match="lscpu"):
        HostCpuAdapter(fake).list_devices()


@pytest.mark.skipif(shutil.which("lscpu") is None, reason="util-linux lscpu is not installed")
def test_the_real_lscpu_of_this_machine_names_its_architecture() -> None:
    (report,) = HostCpuAdapter(LocalTransport()).list_devices()
    assert report.identity.product == platform.machine()
    assert int(report.raw["cpus"]) >= 1


def test_a_host_cpu_offers_no_workload_runner_reset_or_daemon() -> None:
    assert features_of("lscpu") == frozenset()
    assert "workload" in features_of("furiosa-smi")
    assert HostCpuAdapter(FakeTransport()).processes() is None

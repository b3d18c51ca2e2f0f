"""Reading a background workload's windows by byte offset: torn lines wait for their end,
error text is kept, bad window lines are the tool's fault (ToolOutputError)."""

from __future__ import annotations

import json

import pytest

from lab.errors import ToolOutputError
from lab.stability.stream import WorkloadStream
from lab.transport.fake import FakeTransport, ScriptedReply

WINDOW = {"window": 0, "t_start_s": 0.0, "t_end_s": 60.0, "queries": 10, "samples": 10,
          "throughput_sps": 812.5, "latency_s": {"p50": 0.001, "p99": 0.0021, "max": 0.003},
          "errors": 0}  # fmt: skip
COMMAND = [
    "env",
    "PYTHONPATH=/x",
    "python3",
    "/tmp/kcloud-agent.1/kcloud-agent.pyz",
    "/tmp/kcloud-agent.1/w-1.json",
]


def _stream(chunks: list[str]) -> tuple[WorkloadStream, FakeTransport]:
    transport = FakeTransport("n1")
    transport.reply(["mktemp", "-t", "kcloud-soak.XXXXXXXX"], stdout="/tmp/kcloud-soak.abc\n")
    transport.reply_matching(r"^sh -c ", stdout="4242\n")
    offsets: list[str] = []

    def tail(command: str) -> ScriptedReply:
        offsets.append(command.split()[2])
        return ScriptedReply(stdout=chunks.pop(0) if chunks else "")

    transport.respond_with(r"^tail -c ", tail)
    stream = WorkloadStream.start(transport, COMMAND, device=1)
    stream.offsets = offsets  # type: ignore[attr-defined]
    return stream, transport


def test_start_passes_the_output_path_and_arguments_as_separate_words() -> None:
    stream, transport = _stream([])
    assert stream.pid == 4242 and stream.path == "/tmp/kcloud-soak.abc"
    started = next(call for call in transport.calls if call.startswith("sh -c"))
    assert f"/tmp/kcloud-soak.abc {' '.join(COMMAND)}" in started
    assert started.index("/tmp/kcloud-soak.abc") > started.index("& echo $!")  # words after the script


def test_a_torn_line_is_completed_by_the_next_read_and_offsets_advance() -> None:
    line = json.dumps(WINDOW)
    stream, _ = _stream([line[:30], line[30:] + "\nTraceback: agent noise\n", ""])
    assert stream.poll() == []
    windows = stream.poll()
    assert [(w.index, w.t_end, w.throughput, w.p99_ms) for w in windows] == [(0, 60.0, 812.5, 2.1)]
    assert stream.messages == ["Traceback: agent noise"]
    stream.poll()
    assert stream.offsets == ["+1", "+31", f"+{len(line) + 1 + len('Traceback: agent noise') + 1 + 1}"]  # type: ignore[attr-defined]


def test_the_summary_line_marks_the_end_and_a_broken_window_is_a_tool_error() -> None:
    stream, _ = _stream([json.dumps({"status": "ok", "windows": 5}) + "\n", '{"window": 1}\n'])
    assert stream.poll() == [] and stream.finished and stream.failure is None
    with pytest.raises(ToolOutputError, match="bad window line"):
        stream.poll()


def test_a_failed_agent_says_whose_fault_it_is_and_holding_is_seen() -> None:
    busy = {"status": "busy", "kind": "busy", "error": "device busy: npu1 is owned by pid 7"}
    gone = {"status": "error", "kind": "device", "error": "npu1 is not on the PCI bus"}
    stream, _ = _stream([json.dumps({"holding": 1, "pid": 4242}) + "\n" + json.dumps(busy) + "\n"])
    assert stream.poll() == [] and stream.holding and stream.finished
    assert stream.failure == ("busy", "busy", busy["error"]) and stream.messages == [busy["error"]]
    stream, _ = _stream([json.dumps(gone) + "\n"])
    stream.poll()
    assert stream.failure == ("error", "device", gone["error"])


def test_a_window_where_no_query_completed_has_the_whole_window_as_its_p99() -> None:
    empty = {**WINDOW, "samples": 0, "queries": 0, "throughput_sps": 0.0, "errors": 12,
             "latency_s": {"p50": None, "p99": None, "max": None}}  # fmt: skip
    stream, _ = _stream([json.dumps(empty) + "\n"])
    (window,) = stream.poll()
    assert (window.p99_ms, window.errors, window.throughput) == (60000.0, 12, 0.0)

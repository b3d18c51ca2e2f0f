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
          "perf_factor_mean": 1.0}  # fmt: skip


def _stream(chunks: list[str]) -> tuple[WorkloadStream, FakeTransport]:
    transport = FakeTransport("n1")
    transport.reply(["mktemp", "-t", "kcloud-soak.XXXXXXXX"], stdout="/tmp/kcloud-soak.abc\n")
    transport.reply_matching(r"^sh -c ", stdout="4242\n")
    offsets: list[str] = []

    def tail(command: str) -> ScriptedReply:
        offsets.append(command.split()[2])
        return ScriptedReply(stdout=chunks.pop(0) if chunks else "")

    transport.respond_with(r"^tail -c ", tail)
    stream = WorkloadStream.start(transport, device=1, seconds=600, window=60)
    stream.offsets = offsets  # type: ignore[attr-defined]
    return stream, transport


def test_start_passes_the_output_path_and_arguments_as_separate_words() -> None:
    stream, transport = _stream([])
    assert stream.pid == 4242 and stream.path == "/tmp/kcloud-soak.abc"
    started = next(call for call in transport.calls if call.startswith("sh -c"))
    assert "/tmp/kcloud-soak.abc npu-workload run --device 1" in started
    assert "--seconds 600 --report-every 60" in started


def test_a_torn_line_is_completed_by_the_next_read_and_offsets_advance() -> None:
    line = json.dumps(WINDOW)
    stream, _ = _stream([line[:30], line[30:] + "\nnpu-workload: device busy\n", ""])
    assert stream.poll() == []
    windows = stream.poll()
    assert [(w.index, w.t_end, w.throughput, w.p99_ms) for w in windows] == [(0, 60.0, 812.5, 2.1)]
    assert stream.messages == ["npu-workload: device busy"]
    stream.poll()
    assert stream.offsets == ["+1", "+31", f"+{len(line) + 1 + len('npu-workload: device busy') + 1 + 1}"]  # type: ignore[attr-defined]


def test_the_summary_line_marks_the_end_and_a_broken_window_is_a_tool_error() -> None:
    stream, _ = _stream([json.dumps({"queries": 5, "checksum": "x"}) + "\n", '{"window": 1}\n'])
    assert stream.poll() == [] and stream.finished
    with pytest.raises(ToolOutputError, match="bad window line"):
        stream.poll()

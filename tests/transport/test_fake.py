"""FakeTransport's error-path scripting: latency, hangs, drops, corrupted output, failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lab.errors import CommandTimeout, ConnectionLost, UnreachableError
from lab.transport.fake import FakeTransport


def test_scripted_reply_and_unscripted_command() -> None:
    fake = FakeTransport("n1")
    fake.reply(["rbln-smi", "--json"], stdout="{}", exit_status=0)
    assert fake.run(["rbln-smi", "--json"]).stdout == "{}"
    missing = fake.run(["nope", "x"])
    assert missing.exit_status == 127 and "nope: command not found" in missing.stderr
    assert fake.calls == ["rbln-smi --json", "nope x"]


def test_latency_is_real_time_and_counts_against_the_deadline() -> None:
    fake = FakeTransport(latency=0.05)
    fake.reply(["x"], stdout="ok")
    started = time.monotonic()
    result = fake.run(["x"])
    assert time.monotonic() - started >= 0.05 and result.duration >= 0.05
    with pytest.raises(CommandTimeout):
        fake.run(["x"], timeout=0.01)


def test_hang_times_out_or_returns_a_timed_out_result() -> None:
    fake = FakeTransport(default_timeout=7)
    fake.reply(["furiosa-smi", "info"], hang=True)
    with pytest.raises(CommandTimeout, match="7 s deadline"):
        fake.run(["furiosa-smi", "info"])
    result = fake.run(["furiosa-smi", "info"], raise_on_timeout=False)
    assert result.timed_out and result.exit_status is None


def test_drop_raises_connection_lost() -> None:
    fake = FakeTransport("n2")
    fake.reply_matching(r"^nvidia-smi", drop=True)
    with pytest.raises(ConnectionLost, match="n2"):
        fake.run(["nvidia-smi", "-q"])


def test_corrupted_output_is_deterministic() -> None:
    fake = FakeTransport()
    text = "temperature: 45 C\npower: 120 W\n"
    fake.reply(["a"], stdout=text, corrupt="truncate")
    fake.reply(["b"], stdout=text, corrupt="garble")
    truncated = fake.run(["a"]).stdout
    garbled = fake.run(["b"]).stdout
    assert truncated == text[: len(text) // 2]
    assert len(garbled) == len(text) and garbled != text and "\ufffd" in garbled
    assert garbled == fake.run(["b"]).stdout


def test_fail_with_makes_every_call_fail_until_cleared(tmp_path: Path) -> None:
    fake = FakeTransport("n3")
    fake.reply(["true"])
    fake.fail_with(UnreachableError("no route to host", node="n3"))
    with pytest.raises(UnreachableError):
        fake.run(["true"])
    with pytest.raises(UnreachableError):
        fake.get("/x", str(tmp_path / "x"))
    fake.fail_with(None)
    assert fake.run(["true"]).ok

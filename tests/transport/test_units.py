"""Small pieces: fingerprints as OpenSSH prints them, key parsing, output capture limits."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab.errors import HostKeyError
from lab.transport.capture import Deadline, OutputCapture
from lab.transport.hostkeys import fingerprint, known_host_names, parse_public_key
from lab.transport.sshd import write_ed25519_keypair


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    line = write_ed25519_keypair(tmp_path / "k")
    printed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "k.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert fingerprint(parse_public_key(line)) == printed


@pytest.mark.parametrize("line", ["", "ssh-ed25519", "ssh-ed25519 !!!notbase64", "ssh-foo AAAA"])
def test_bad_pinned_lines_are_host_key_errors(line: str) -> None:
    with pytest.raises(HostKeyError):
        parse_public_key(line)


def test_known_host_names_follow_openssh() -> None:
    assert known_host_names("10.0.0.1", 22) == ["10.0.0.1"]
    assert known_host_names("10.0.0.1", 2222) == ["[10.0.0.1]:2222"]


def test_capture_keeps_the_limit_in_memory_and_everything_in_the_spill() -> None:
    capture = OutputCapture("node/with spaces", limit=10)
    capture.stdout.write(b"0123456789")  # exactly the limit: no spill yet
    assert not capture.stdout.truncated
    capture.stdout.write(b"abc")
    capture.stderr.write(b"short")
    result = capture.result("cmd", exit_status=0)
    assert result.stdout == "0123456789" and result.stdout_truncated and not result.stderr_truncated
    assert result.stdout_spill is not None and "/" not in os.path.basename(result.stdout_spill)
    try:
        assert Path(result.stdout_spill).read_bytes() == b"0123456789abc"
    finally:
        os.unlink(result.stdout_spill)


def test_deadline_rejects_non_positive_values() -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadline(0)
    assert 0 < Deadline(1).remaining() <= 1

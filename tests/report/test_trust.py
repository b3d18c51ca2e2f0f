"""A signature means nothing without a trusted signer: ``lab verify`` through the real CLI.

The forgery these tests stage: someone edits a run's records, re-renders the report and signs
it with a key of their own. Its signature is intact — only the signer's identity betrays it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab.cli import main
from lab.report import fingerprint, generate_key_pair, load_private_key, load_public_key, verify_file
from lab.report.seal import sign_file

FORGED_VALUE = '"value":1600.0'


@pytest.fixture
def clean_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No trust from the environment; the current folder is ``tmp_path`` (its ./keys/trusted)."""
    for name in ("LAB_REPORT_KEY", "LAB_REPORT_PUBKEY", "LAB_TRUSTED_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _forge(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """The run's records altered and the report re-signed by a stranger's key: (report, fingerprint)."""
    forged_run = tmp_path / "forged-run"
    shutil.copytree(run_dir, forged_run)
    record_file = next(forged_run.glob("records-*.jsonl"))
    text = record_file.read_text(encoding="utf-8")
    assert '"value":1500.0' in text
    record_file.write_text(text.replace('"value":1500.0', FORGED_VALUE), encoding="utf-8")
    stranger, _ = generate_key_pair(tmp_path / "stranger")
    out = tmp_path / "forged.html"
    assert main(["report", str(forged_run), "--out", str(out), "--key", str(stranger), "--lang", "en"]) == 0
    capsys.readouterr()
    return out, fingerprint(load_public_key(stranger))


def test_without_a_trusted_key_verify_says_signer_unknown_and_exits_1(
    clean_trust: Path, finished_run: Path, key_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = clean_trust / "report.html"
    assert main(["report", str(finished_run), "--out", str(out), "--key", str(key_pair[0])]) == 0
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr().out
    signer = fingerprint(load_public_key(key_pair[1]))
    assert printed.startswith(f"{out}: signature intact, signer unknown: signed by key {signer}; ")
    assert "no trusted key was given" in printed


def test_a_report_re_signed_by_an_unknown_key_is_refused_with_its_fingerprint(
    clean_trust: Path,
    finished_run: Path,
    key_pair: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forged, stranger = _forge(finished_run, clean_trust, capsys)
    assert FORGED_VALUE.split(":")[1] in forged.read_text(encoding="utf-8")
    lab_key = fingerprint(load_public_key(key_pair[1]))
    for arguments in (["--key", str(key_pair[1])], []):  # explicit key; then the environment
        if not arguments:
            clean_trust.joinpath("env.pub").write_bytes(key_pair[1].read_bytes())
            monkeypatch.setenv("LAB_REPORT_PUBKEY", str(clean_trust / "env.pub"))
        assert main(["verify", str(forged), *arguments]) == 1
        printed = capsys.readouterr().out
        assert f"signer unknown: signed by key {stranger}; it is not one of the trusted keys ({lab_key})" in (
            printed
        )


def test_the_trust_folder_accepts_its_keys_and_refuses_others(
    clean_trust: Path,
    finished_run: Path,
    key_pair: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = clean_trust / "report.html"
    assert main(["report", str(finished_run), "--out", str(report), "--key", str(key_pair[0])]) == 0
    forged, _ = _forge(finished_run, clean_trust, capsys)
    trusted = clean_trust / "keys" / "trusted"
    trusted.mkdir(parents=True)
    shutil.copy(key_pair[1], trusted / "nightly-ci.pub")
    capsys.readouterr()

    assert main(["verify", str(report)]) == 0  # ./keys/trusted, the default trust folder
    assert "valid: signed by the trusted key SHA256:" in capsys.readouterr().out
    assert main(["verify", str(forged)]) == 1

    elsewhere = clean_trust / "lab-trust"
    trusted.rename(elsewhere)
    assert main(["verify", str(report)]) == 1  # the default folder is gone: nobody is trusted
    assert main(["verify", str(report), "--trusted", str(elsewhere)]) == 0
    monkeypatch.setenv("LAB_TRUSTED_KEYS", str(elsewhere))
    assert main(["verify", str(report)]) == 0
    capsys.readouterr()

    (elsewhere / "broken.pub").write_text("not a key\n")
    assert main(["verify", str(report)]) == 2  # a trust folder never silently skips a file
    assert "broken.pub: not a readable public key" in capsys.readouterr().err
    assert main(["verify", str(report), "--trusted", str(clean_trust / "missing")]) == 2
    assert "no such trust folder" in capsys.readouterr().err


def test_a_detached_signature_covers_every_byte_of_the_pdf(
    clean_trust: Path, key_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = clean_trust / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    key, public = load_private_key(key_pair[0]), load_public_key(key_pair[1])
    assert main(["verify", str(pdf), "--key", str(key_pair[1])]) == 1
    assert "UNSIGNED: no detached signature report.pdf.sig next to it" in capsys.readouterr().out

    signature = sign_file(pdf, key, run_digest="0" * 64)
    assert signature == clean_trust / "report.pdf.sig"
    assert verify_file(pdf, trusted_keys=[public]).valid
    for target in (pdf, signature):  # either file names the pair
        assert main(["verify", str(target), "--key", str(key_pair[1])]) == 0
        assert "valid: signed by the trusted key" in capsys.readouterr().out
    assert main(["verify", str(pdf)]) == 1
    assert "signature intact, signer unknown" in capsys.readouterr().out

    data = bytearray(pdf.read_bytes())
    data[4000] ^= 0x01  # one bit of one byte
    pdf.write_bytes(bytes(data))
    assert main(["verify", str(pdf), "--key", str(key_pair[1])]) == 1
    printed = capsys.readouterr().out
    assert "INVALID" in printed and "the file changed since it was signed" in printed

    stranger, _ = generate_key_pair(clean_trust / "stranger")
    sign_file(pdf, load_private_key(stranger))  # the tampered PDF re-signed by someone else
    assert main(["verify", str(pdf), "--key", str(key_pair[1])]) == 1
    assert f"signed by key {fingerprint(load_public_key(stranger))}" in capsys.readouterr().out

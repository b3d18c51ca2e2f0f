"""``lab report``, ``lab verify`` and ``lab keys`` through the real command-line entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import main
from tests.report.synthetic import build_run


def test_generate_sign_verify_and_reject_a_tampered_copy(
    tmp_path: Path, finished_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAB_REPORT_KEY", raising=False)
    monkeypatch.delenv("LAB_REPORT_PUBKEY", raising=False)
    assert main(["keys", "generate", str(tmp_path / "keys")]) == 0
    private, public = tmp_path / "keys" / "report-signing.key", tmp_path / "keys" / "report-signing.pub"
    capsys.readouterr()
    out = tmp_path / "out" / "report.html"
    assert main(["report", str(finished_run), "--out", str(out), "--key", str(private), "--lang", "en"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)  # the last line is the report's path

    assert main(["verify", str(out), "--key", str(public)]) == 0
    assert "valid: signed by the trusted key SHA256:" in capsys.readouterr().out

    tampered = tmp_path / "tampered.html"
    html = out.read_text(encoding="utf-8")
    tampered.write_text(
        html.replace('<td class="num value">1500</td>', '<td class="num value">1600</td>', 1),
        encoding="utf-8",
    )
    assert main(["verify", str(tampered), "--key", str(public)]) == 1
    printed = capsys.readouterr().out
    assert "INVALID" in printed and "HTML body changed in section 'node-kt-rbln-07'" in printed


def test_key_from_the_environment_and_unsigned_default(
    tmp_path: Path, finished_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAB_REPORT_KEY", raising=False)
    assert main(["report", str(finished_run)]) == 0
    captured = capsys.readouterr()
    assert "UNSIGNED" in captured.err
    assert main(["verify", str(finished_run / "report.html")]) == 1
    assert "UNSIGNED" in capsys.readouterr().out
    main(["keys", "generate", str(tmp_path / "k")])
    monkeypatch.setenv("LAB_REPORT_KEY", str(tmp_path / "k" / "report-signing.key"))
    monkeypatch.setenv("LAB_REPORT_PUBKEY", str(tmp_path / "k" / "report-signing.pub"))
    assert main(["report", str(finished_run)]) == 0
    assert main(["verify", str(finished_run / "report.html")]) == 0


def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "no-run")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    run_dir = build_run(tmp_path / "run")
    (tmp_path / "bad.key").write_text("nope")
    assert main(["report", str(run_dir), "--key", str(tmp_path / "bad.key")]) == 2
    assert "not a readable private key" in capsys.readouterr().err
    (tmp_path / "page.html").write_text("<html></html>")
    assert main(["verify", str(tmp_path / "page.html")]) == 2
    assert "no lab-signature block" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.html")]) == 2


def test_incomplete_run_renders_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = build_run(tmp_path / "cut", finished=False)
    assert main(["report", str(run_dir), "--lang", "en"]) == 0
    assert "INCOMPLETE" in capsys.readouterr().err
    assert "verdict-big INCOMPLETE" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_render_run_signs_with_the_configured_key(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lab.report import load_public_key, render_run, verify_report

    monkeypatch.delenv("LAB_REPORT_KEY", raising=False)
    unsigned = render_run(finished_run)
    assert unsigned == finished_run / "report.html" and not verify_report(unsigned).signed
    monkeypatch.setenv("LAB_REPORT_KEY", str(key_pair[0]))
    signed = render_run(finished_run, out=tmp_path / "signed" / "r.html", lang="en")
    assert verify_report(signed, trusted_key=load_public_key(key_pair[1])).valid

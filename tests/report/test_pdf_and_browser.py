"""The report in a real browser (headless Chromium) and as a PDF printed by it.

Chromium is Debian's ``chromium`` (``./run.sh setup`` installs it as root). Without it the
tests skip, saying so — but only when we are not root, since as root set-up should have
installed it and its absence is a set-up failure worth seeing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from lab.report import render_report
from lab.report.pdf import CHROMIUM_FLAGS, find_chromium, html_to_pdf
from tests.report.synthetic import HOSTILE_DEVICE, HOSTILE_FIRMWARE

ARTIFACTS = Path(__file__).resolve().parents[2] / "out" / "artifacts"


def _chromium() -> str:
    binary = find_chromium()
    if binary is None:
        if os.geteuid() == 0:
            pytest.fail(
                "chromium is missing although we are root: run ./run.sh setup (it installs Debian's chromium)"
            )
        pytest.skip("chromium is not installed and installing it needs root (apt-get install chromium)")
    return binary


@pytest.mark.slow
def test_pdf_is_printed_offline(tmp_path: Path, finished_run: Path) -> None:
    _chromium()
    html = tmp_path / "report.html"
    html.write_text(render_report(finished_run, lang="ko"), encoding="utf-8")
    pdf = html_to_pdf(html, tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    # cover + summary, one page per node (2 nodes), provenance: print CSS breaks before each
    pages = re.search(rb"/Type /Pages\b.*?/Count (\d+)", data, re.DOTALL) or re.search(rb"/Count (\d+)", data)
    assert pages is not None and int(pages.group(1)) >= 4


@pytest.mark.slow
def test_report_in_headless_chromium_runs_no_script_and_fetches_nothing(
    tmp_path: Path, finished_run: Path
) -> None:
    binary = _chromium()
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright (dev extra) is not installed"
    )
    html = tmp_path / "report.html"
    html.write_text(render_report(finished_run, lang="en"), encoding="utf-8")
    url = html.resolve().as_uri()
    requests: list[str] = []
    console_errors: list[str] = []
    dialogs: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=list(CHROMIUM_FLAGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1600})
            page.on("request", lambda request: requests.append(request.url))
            page.on(
                "console",
                lambda message: console_errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(url, wait_until="load")
            page.wait_for_timeout(300)  # give a planted script (there must be none) a moment to fire
            text = page.inner_text("body")
            script_count = page.evaluate("document.scripts.length")
            images = page.evaluate("document.images.length")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    shutil.copyfile(shot, ARTIFACTS / "report.png")  # kept for CI as an artifact (out/ is git-ignored)
    assert dialogs == []  # alert(1) / alert(2) never ran
    assert console_errors == []
    assert requests == [url]  # the page itself, nothing else
    assert script_count == 0 and images == 0  # the planted <img onerror> is text, not an element
    assert HOSTILE_DEVICE in text and "onerror=alert(2)>" in text  # shown to the reader as text
    assert HOSTILE_FIRMWARE.split('"')[0] in text
    assert shot.stat().st_size > 10_000


def test_a_failing_printer_keeps_the_html_and_exits_3(
    tmp_path: Path, finished_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lab.cli import main

    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("LAB_CHROMIUM", str(broken))
    assert main(["report", str(finished_run), "--pdf"]) == 3
    err = capsys.readouterr().err
    assert "Chromium failed to print" in err and "cannot open display" in err
    assert (finished_run / "report.html").is_file() and not (finished_run / "report.pdf").exists()
    monkeypatch.setenv("LAB_CHROMIUM", str(tmp_path / "missing"))
    assert main(["report", str(finished_run), "--pdf"]) == 3
    assert "no Chromium found for --pdf" in capsys.readouterr().err


@pytest.mark.slow
def test_the_printed_pdf_is_signed_and_verified_next_to_the_html(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from lab.cli import main

    _chromium()
    out = tmp_path / "out" / "report.html"
    arguments = ["report", str(finished_run), "--out", str(out), "--pdf", "--key", str(key_pair[0])]
    assert main(arguments) == 0
    pdf, signature = out.with_suffix(".pdf"), tmp_path / "out" / "report.pdf.sig"
    assert pdf.read_bytes().startswith(b"%PDF-") and signature.is_file()
    capsys.readouterr()
    assert main(["verify", str(pdf), "--key", str(key_pair[1]), "--run", str(finished_run)]) == 0
    assert "valid: signed by the trusted key" in capsys.readouterr().out
    pdf.write_bytes(pdf.read_bytes().replace(b"%%EOF", b"%%EOF\n% appended", 1))
    assert main(["verify", str(pdf), "--key", str(key_pair[1])]) == 1
    assert "the file changed since it was signed" in capsys.readouterr().out
    assert main(["report", str(finished_run), "--out", str(out), "--pdf"]) == 0  # unsigned this time
    assert not signature.exists(), "an old signature must not vouch for a new PDF"

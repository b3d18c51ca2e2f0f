"""The report of a real emulated campaign, checked the way a certification reviewer reads it.

A short campaign (two emulated servers behind real OpenSSH servers, injected faults, the
functional and stability suites and one performance test) is rendered in Korean and English,
signed, printed to PDF by Debian's Chromium and read back: the page budget holds (front matter,
at most three pages per node certificate, then the appendix), no table cell breaks inside a word,
every failure on a certificate links to evidence that exists, and ``lab verify`` accepts it.
Screenshots of the first pages go to ``out/artifacts`` (kept by CI).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.report import generate_key_pair, load_private_key, load_public_key, render_report
from lab.report.pdf import CHROMIUM_FLAGS, html_to_pdf
from lab.report.verify import verify_report
from lab.results import Run, load_run
from tests.report.test_pdf_and_browser import ARTIFACTS, _chromium
from tests.testbed_inventory import REPOSITORY, emulated_inventory, started_testbed

FRONT_PAGES = 4  # cover, contents, summary with the table by card model
PAGES_PER_CERTIFICATE = 3
A4_PRINTABLE_PX = 712  # 210 mm less the 2 × 11 mm page margins, at 96 px per inch

INVENTORY = emulated_inventory(
    "reviewer-test",
    """\
description: Emulated two-server campaign for the report's reviewer test
nodes:
  - name: rev-rbln-01
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 2}]
    expected: {driver: 3.0.0, firmware: 3.0.0, pcie: Gen5 x16}
    emulation:
      seed: 11
      faults:
        - {kind: pcie-degraded, device: 0, parameters: {link: Gen4 x8}}
  - name: rev-rngd-01
    operator: naver-cloud
    accelerators: [{model: rngd, count: 2}]
    expected: {firmware: 0.0.15+af1daaa, pcie: Gen5 x16}
    emulation:
      seed: 12
      faults:
        - {kind: wrong-firmware, device: 1}
""",
    command_timeout=60,
)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    directory = tmp_path_factory.mktemp("reviewer")
    with started_testbed(INVENTORY, directory) as testbed:
        command = [
            sys.executable, "-m", "pytest",
            str(REPOSITORY / "testsuites" / "functional"),
            str(REPOSITORY / "testsuites" / "stability" / "test_soak.py"),
            f"{REPOSITORY / 'testsuites' / 'performance' / 'test_performance.py'}::test_offline_throughput",
            "--lab-inventory", str(testbed.resolved_inventory),
            "--lab-run-dir", str(directory / "run"),
            "--lab-soak-duration", "6s", "--lab-perf-duration", "1s",
            "--lab-tester", "김시험", "--lab-campaign", "reviewer test",
            "-n", "2", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, timeout=400, check=False)
        run = load_run(directory / "run")
        assert run.records, completed.stdout[-3000:] + completed.stderr[-3000:]
        yield run


@pytest.fixture(scope="module")
def printed(campaign: Run, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """lang → (signed HTML, its PDF), both written inside the run directory like ``lab report``."""
    _chromium()
    keys = generate_key_pair(tmp_path_factory.mktemp("keys"))
    key = load_private_key(keys[0])
    result = {}
    for lang in ("ko", "en"):
        html = campaign.directory / f"report-{lang}.html"
        html.write_text(render_report(campaign.directory, lang=lang, key=key, run=campaign), encoding="utf-8")
        result[lang] = (html, html_to_pdf(html, html.with_suffix(".pdf")))
    result["key"] = keys  # type: ignore[assignment]
    return result


def _page_texts(pdf: Path) -> list[str]:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (dev extra) is not installed")
    # Chromium writes a space as a glyph pypdf reads as \x01: drop both, compare words run together
    return [re.sub(r"[\s\x01]+", "", page.extract_text() or "") for page in pypdf.PdfReader(pdf).pages]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_page_budget_verify_and_faults_where_a_reviewer_looks(
    campaign: Run, printed: dict[str, tuple[Path, Path]], lang: str
) -> None:
    html, pdf = printed[lang]
    pages = _page_texts(pdf)
    nodes = sorted({record.node for record in campaign.records if record.node})
    assert nodes == ["rev-rbln-01", "rev-rngd-01"]
    heading = "노드인증서:" if lang == "ko" else "Nodecertificate:"
    appendix = "부록:" if lang == "ko" else "Appendix:"
    starts = [next(i for i, text in enumerate(pages) if heading + node in text) for node in nodes]
    appendix_start = next(i for i, text in enumerate(pages) if appendix + nodes[0] in text)
    assert starts[0] <= FRONT_PAGES, f"front matter runs to {starts[0]} pages"
    bounds = [*starts[1:], appendix_start]
    lengths = [end - start for start, end in zip(starts, bounds, strict=True)]
    assert all(1 <= length <= PAGES_PER_CERTIFICATE for length in lengths), lengths
    assert len(pages) <= starts[0] + PAGES_PER_CERTIFICATE * len(nodes) + (len(pages) - appendix_start)
    # the running header (run id, verdict) and page numbers are printed on every page
    run_id = campaign.manifest.run_id if campaign.manifest else ""
    assert all(run_id in text and f"/{len(pages)}" in text for text in pages)
    # who ran it, for which campaign, and the injected faults named by criterion and card
    assert "김시험" in pages[0] and "reviewertest" in pages[0]
    assert "2nodes,4cards—furiosaai:2×rngd;rebellions:2×atom-plus" in pages[0]  # the scope, as declared
    certificate = "".join(pages[starts[0] : starts[1]])
    assert "pcie-link" in certificate and "Gen4x8" in certificate and "::" not in certificate
    verification = verify_report(html, trusted_key=load_public_key(printed["key"][1]))  # type: ignore[index]
    assert verification.problems == [] and verification.trusted


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_no_cell_breaks_inside_a_word_and_failures_link_to_evidence(
    campaign: Run, printed: dict[str, tuple[Path, Path]], lang: str
) -> None:
    binary = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")
    html, _ = printed[lang]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=list(CHROMIUM_FLAGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": A4_PRINTABLE_PX, "height": 1000})
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            # a word (between spaces, hyphens, slashes, commas) laid out on two lines has two boxes
            split_words = page.evaluate(
                """() => {
                    const split = [];
                    for (const cell of document.querySelectorAll('td, th')) {
                        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                            for (const word of node.data.matchAll(/[^\\s\\-\\/,]+/g)) {
                                const range = document.createRange();
                                range.setStart(node, word.index);
                                range.setEnd(node, word.index + word[0].length);
                                const boxes = [...range.getClientRects()];
                                const lines = new Set(boxes.map(r => Math.round(r.top)));
                                if (lines.size > 1) split.push(word[0]);
                            }
                        }
                    }
                    return split;
                }"""
            )
            overflowing = page.evaluate(
                """() => [...document.querySelectorAll('td, th')]
                    .filter(cell => cell.scrollWidth > cell.clientWidth + 1)
                    .map(cell => cell.textContent.slice(0, 60))"""
            )
            too_wide = page.evaluate(
                """() => [...document.querySelectorAll('table')]
                    .filter(table => table.getBoundingClientRect().right > document.body.clientWidth + 1)
                    .map(table => table.className + ': ' + table.textContent.slice(0, 60))"""
            )
            failures = page.evaluate(
                """() => [...document.querySelectorAll('section.certificate table.failures tbody tr')]
                    .map(row => [row.cells[0].textContent, row.cells[1].textContent,
                                 [...row.querySelectorAll('a')].map(a => a.getAttribute('href'))])"""
            )
            ids = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
        finally:
            browser.close()
    assert split_words == [] and overflowing == [] and too_wide == []
    failed = {(criterion, card) for criterion, card, _ in failures}
    assert {("pcie-link", "rbln0"), ("firmware-version", "npu1")} <= failed
    for criterion, card, hrefs in failures:
        assert hrefs, (criterion, card)
        for href in hrefs:
            found = href[1:] in ids if href.startswith("#") else (html.parent / href).is_file()
            assert found, (criterion, card, href)


@pytest.mark.slow
def test_screenshots_of_the_first_pages_are_kept_for_ci(printed: dict[str, tuple[Path, Path]]) -> None:
    binary = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")
    html, _ = printed["en"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=list(CHROMIUM_FLAGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 794, "height": 1123})  # one A4 page at 96 px/inch
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            for name, selector in (
                ("cover", "#cover"),
                ("summary", "#summary"),
                ("certificate", "section.certificate"),
            ):
                page.locator(selector).first.scroll_into_view_if_needed()
                page.evaluate(f"document.querySelector({selector!r}).scrollIntoView()")
                shot = ARTIFACTS / f"report-{name}.png"
                page.screenshot(path=str(shot))
                shots.append(shot)
        finally:
            browser.close()
    assert all(shot.stat().st_size > 10_000 for shot in shots)

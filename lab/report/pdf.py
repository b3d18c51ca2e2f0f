"""PDF from the HTML report with headless Chromium (Debian ``chromium``), offline.

::

    html_to_pdf(Path("report.html"), Path("report.pdf"))

Chromium prints with the report's own print style (A4, one page per node). It is started
with an argument list (no shell), a private throw-away profile, no network services and a
wall-clock deadline; ``LAB_CHROMIUM`` names another binary. Anything that goes wrong is a
``PdfError`` saying what to install or what Chromium printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab.errors import InfrastructureError
from lab.transport.local import run_in_own_group

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-pdf-header-footer",
)


class PdfError(InfrastructureError):
    """The PDF could not be produced (no Chromium, or Chromium failed)."""


def find_chromium() -> str | None:
    """The Chromium binary: ``LAB_CHROMIUM`` if set, else the first of the usual names on PATH."""
    configured = os.environ.get("LAB_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: Path, pdf: Path, *, timeout: float = 120.0) -> Path:
    binary = find_chromium()
    if binary is None:
        raise PdfError(
            "no Chromium found for --pdf: install Debian's 'chromium' (./run.sh setup does as root)"
        )
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lab-chromium-") as profile:
        command = [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf.resolve()}",
            html.resolve().as_uri(),
        ]
        try:
            completed = run_in_own_group(command, timeout=timeout)  # Chromium's helpers included
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not finish printing {html} within {timeout:.0f} s") from None
        except OSError as exc:
            raise PdfError(f"cannot start {binary}: {exc.strerror or exc}") from None
    if completed.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = completed.stderr.decode("utf-8", "replace")[-800:]
        raise PdfError(f"Chromium failed to print {html} (exit {completed.returncode}): {tail}")
    return pdf

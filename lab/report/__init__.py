"""The certification report: one self-contained, signed HTML file per run (and PDF, Allure).

::

    from lab.report import render_report, verify_report, load_private_key

    html = render_report(run_dir, lang="ko", key=load_private_key(Path("keys/report-signing.key")))
    Path("report.html").write_text(html, encoding="utf-8")
    verify_report(Path("report.html"), trusted_keys=load_trusted_keys(Path("keys/trusted"))).summary()
"""

from lab.report.keys import (
    KeyFileError,
    fingerprint,
    generate_key_pair,
    load_private_key,
    load_public_key,
    load_trusted_keys,
)
from lab.report.render import DEFAULT_TEMPLATES, render_report, render_run
from lab.report.verify import Verification, verify_file, verify_report

__all__ = [
    "DEFAULT_TEMPLATES",
    "KeyFileError",
    "Verification",
    "fingerprint",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "load_trusted_keys",
    "render_report",
    "render_run",
    "verify_file",
    "verify_report",
]

"""``lab report``, ``lab verify`` and ``lab keys``: the signed certification report.

::

    lab keys generate keys/                      → keys/report-signing.key (private, 0600) and .pub
    lab report runs/RUN [--out FILE] [--lang ko|en] [--pdf] [--key keys/report-signing.key]
               [--templates DIR] [--history runs/history.sqlite] [--allure-results DIR --allure-out DIR]
        → prints the report's path (default RUN/report.html); the key may also come from LAB_REPORT_KEY
    lab verify REPORT.html [--key keys/report-signing.pub] [--run runs/RUN]
        → "valid ..." (exit 0), or every change found / UNSIGNED (exit 1); bad input exit 2

Exit statuses: 0 written / valid; 1 ``verify`` found the report tampered, signed by another
key, or unsigned; 2 bad input (no such run, unreadable key, not a lab report); 3 Chromium
or Allure failed (infrastructure).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from lab.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK

KEY_ENV = "LAB_REPORT_KEY"
PUBLIC_KEY_ENV = "LAB_REPORT_PUBKEY"


def register(subparsers: Any) -> None:
    report = subparsers.add_parser(
        "report",
        help="render the signed HTML certification report of a run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (runs/<run id>)")
    report.add_argument("--out", help="report file (default RUN_DIR/report.html)")
    report.add_argument("--lang", choices=("ko", "en"), default="ko", help="label language (default ko)")
    report.add_argument("--pdf", action="store_true", help="also print a PDF next to it (headless Chromium)")
    report.add_argument(
        "--key", help=f"Ed25519 private key to sign with (default ${KEY_ENV}; none: unsigned)"
    )
    report.add_argument("--templates", help="folder of templates searched before the default ones")
    report.add_argument("--tester", help="who ran the campaign (default: what the run recorded)")
    report.add_argument("--campaign", help="campaign name (default: what the run recorded)")
    report.add_argument("--history", metavar="DB", help="history database: adds 'changes since last nightly'")
    report.add_argument("--allure-results", help="allure-pytest results folder to turn into Allure's report")
    report.add_argument(
        "--allure-out", default="allure-report", help="Allure report folder (default ./allure-report)"
    )
    report.set_defaults(handler=_report)

    verify = subparsers.add_parser("verify", help="check a report's signature and say what changed")
    verify.add_argument("report", metavar="REPORT.html")
    verify.add_argument("--key", help=f"trusted public key (default ${PUBLIC_KEY_ENV}; none: any signer)")
    verify.add_argument("--run", metavar="RUN_DIR", help="also compare the report with this run directory")
    verify.set_defaults(handler=_verify)

    keys = subparsers.add_parser("keys", help="make a report-signing key pair")
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    actions.required = True
    generate = actions.add_parser("generate", help="write report-signing.key (0600) and report-signing.pub")
    generate.add_argument("directory", metavar="DIR")
    generate.set_defaults(handler=_generate)


def _report(arguments: argparse.Namespace) -> int:
    from lab.history import nightly_changes, open_history
    from lab.report import load_private_key, render_report
    from lab.report.allure import allure_command, generate_allure
    from lab.report.pdf import PdfError, html_to_pdf
    from lab.results import load_run

    run_dir = Path(arguments.run_dir)
    run = load_run(run_dir)
    key_path = arguments.key or os.environ.get(KEY_ENV)
    key = load_private_key(Path(key_path)) if key_path else None
    changes = None
    if arguments.history:
        with open_history(arguments.history) as db:
            changes = nightly_changes(db, run)
    html = render_report(
        run_dir,
        lang=arguments.lang,
        templates=Path(arguments.templates) if arguments.templates else None,
        key=key,
        changes=changes,
        run=run,
        tester=arguments.tester,
        campaign=arguments.campaign,
    )
    out = Path(arguments.out) if arguments.out else run_dir / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if key is None:
        print(f"note: the report is UNSIGNED (no --key and no ${KEY_ENV})", file=sys.stderr)
    if not run.complete:
        print("note: the run is not complete: the report shows it as INCOMPLETE", file=sys.stderr)
    status = EXIT_OK
    if arguments.pdf:
        try:
            print(html_to_pdf(out, out.with_suffix(".pdf")))
        except PdfError as exc:  # the HTML is written: say what failed, exit 3 (infrastructure)
            print(f"lab: error: {exc}", file=sys.stderr)
            status = EXIT_INFRASTRUCTURE
    if arguments.allure_results:
        if allure_command() is None:
            print("note: Allure command line not installed: Allure report skipped", file=sys.stderr)
        elif generate_allure(Path(arguments.allure_results), Path(arguments.allure_out)):
            print(arguments.allure_out)
    print(out)
    return status


def _verify(arguments: argparse.Namespace) -> int:
    from lab.report import load_public_key, verify_report
    from lab.report.canonical import canonical_run
    from lab.results import load_run

    key_path = arguments.key or os.environ.get(PUBLIC_KEY_ENV)
    trusted = load_public_key(Path(key_path)) if key_path else None
    stored = canonical_run(load_run(Path(arguments.run))) if arguments.run else None
    path = Path(arguments.report)
    if not path.is_file():
        print(f"lab: error: {path}: no such report", file=sys.stderr)
        return EXIT_BAD_INPUT
    result = verify_report(path, trusted_key=trusted, run_data=stored)
    print(f"{path}: {result.summary() if result.valid or not result.problems else 'INVALID'}")
    for problem in result.problems:
        print(f"  - {problem}")
    return EXIT_OK if result.valid else EXIT_FAILED


def _generate(arguments: argparse.Namespace) -> int:
    from lab.report import fingerprint, generate_key_pair, load_public_key

    private_path, public_path = generate_key_pair(Path(arguments.directory))
    print(f"private key: {private_path} (keep it secret; sign with --key or ${KEY_ENV})", file=sys.stderr)
    print(f"public key:  {public_path} ({fingerprint(load_public_key(public_path))})", file=sys.stderr)
    print(public_path)
    return EXIT_OK

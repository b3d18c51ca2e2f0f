"""``lab report``, ``lab verify`` and ``lab keys``: the signed certification report.

::

    lab keys generate keys/                      → keys/report-signing.key (private, 0600) and .pub
    lab report runs/RUN [--out FILE] [--lang ko|en] [--pdf] [--key keys/report-signing.key]
               [--templates DIR] [--history runs/history.sqlite] [--allure-results DIR --allure-out DIR]
        → prints the report's path (default RUN/report.html); the key may also come from LAB_REPORT_KEY
    lab verify REPORT.html|REPORT.pdf [--key keys/report-signing.pub ...] [--trusted DIR] [--run runs/RUN]
        → "valid ..." (exit 0), or every change found / signer unknown / UNSIGNED (exit 1);
          bad input exit 2. Trusted signers: every --key and the --trusted folder's *.pub;
          neither given: $LAB_REPORT_PUBKEY and the trust folder ($LAB_TRUSTED_KEYS, else
          ./keys/trusted). No trusted key: "signature intact, signer unknown" (exit 1).

With ``--pdf`` and a key the PDF gets a detached signature next to it (``report.pdf.sig``).

Exit statuses: 0 written / valid; 1 ``verify`` found the report tampered, signed by an
unknown key, or unsigned; 2 bad input (no such run, unreadable key, not a lab report); 3
Chromium or Allure failed (infrastructure).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

KEY_ENV = "LAB_REPORT_KEY"
PUBLIC_KEY_ENV = "LAB_REPORT_PUBKEY"
TRUSTED_DIR_ENV = "LAB_TRUSTED_KEYS"
DEFAULT_TRUSTED_DIR = Path("keys") / "trusted"


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
    verify.add_argument("report", metavar="REPORT", help="report.html, or report.pdf (or its .sig)")
    verify.add_argument(
        "--key",
        action="append",
        default=[],
        help=f"a trusted public key (repeatable; default ${PUBLIC_KEY_ENV} and the trust folder)",
    )
    verify.add_argument(
        "--trusted",
        metavar="DIR",
        help=f"folder of trusted public keys, *.pub (default ${TRUSTED_DIR_ENV}, else {DEFAULT_TRUSTED_DIR})",
    )
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
    from lab.report.canonical import canonical_run, digest_tree
    from lab.report.pdf import PdfError, html_to_pdf
    from lab.report.seal import detached_signature_path, sign_file
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
            pdf = html_to_pdf(out, out.with_suffix(".pdf"))
        except PdfError as exc:  # the HTML is written: say what failed, exit 3 (infrastructure)
            print(f"lab: error: {exc}", file=sys.stderr)
            status = EXIT_INFRASTRUCTURE
        else:
            signature = detached_signature_path(pdf)
            signature.unlink(missing_ok=True)  # an old signature must not vouch for a new PDF
            if key is not None:
                sign_file(pdf, key, run_digest=str(digest_tree(canonical_run(run))["run"]))
            print(pdf)
    if arguments.allure_results:
        if allure_command() is None:
            print("note: Allure command line not installed: Allure report skipped", file=sys.stderr)
        elif generate_allure(Path(arguments.allure_results), Path(arguments.allure_out)):
            print(arguments.allure_out)
    print(out)
    return status


def _verify(arguments: argparse.Namespace) -> int:
    from lab.report import verify_file, verify_report
    from lab.report.canonical import canonical_run
    from lab.report.seal import SIGNATURE_SUFFIX
    from lab.results import load_run

    path = Path(arguments.report)
    if path.name.endswith(SIGNATURE_SUFFIX) and path.name != SIGNATURE_SUFFIX:
        path = path.with_name(path.name.removesuffix(SIGNATURE_SUFFIX))  # the file it signs
    if not path.is_file():
        print(f"lab: error: {path}: no such report", file=sys.stderr)
        return EXIT_BAD_INPUT
    trusted = trusted_keys(arguments.key, arguments.trusted)
    stored = canonical_run(load_run(Path(arguments.run))) if arguments.run else None
    if _is_html(path):
        result = verify_report(path, trusted_keys=trusted, run_data=stored)
    else:
        result = verify_file(path, trusted_keys=trusted, run_data=stored)
        if not result.signed and not result.problems:
            print(f"{path}: UNSIGNED: no detached signature {path.name}{SIGNATURE_SUFFIX} next to it")
            return EXIT_FAILED
    print(f"{path}: {result.summary() if result.valid or not result.problems else 'INVALID'}")
    for problem in result.problems:
        print(f"  - {problem}")
    return EXIT_OK if result.valid else EXIT_FAILED


def trusted_keys(keys: list[str], folder: str | None) -> tuple[Ed25519PublicKey, ...]:
    """The signers ``lab verify`` accepts.

    Every ``--key`` and the ``--trusted`` folder's ``*.pub``; when neither is given,
    ``$LAB_REPORT_PUBKEY`` and the trust folder ``$LAB_TRUSTED_KEYS`` (else ``./keys/trusted``,
    when it exists). An unreadable key file is a ``KeyFileError`` (bad input, exit 2).
    """
    from lab.report import load_public_key, load_trusted_keys

    if keys or folder:
        found = [load_public_key(Path(key)) for key in keys]
        return (*found, *(load_trusted_keys(_folder(folder)) if folder else ()))
    environment = os.environ.get(PUBLIC_KEY_ENV)
    found = [load_public_key(Path(environment))] if environment else []
    configured = os.environ.get(TRUSTED_DIR_ENV)
    return (*found, *load_trusted_keys(_folder(configured) if configured else DEFAULT_TRUSTED_DIR))


def _folder(name: str) -> Path:
    folder = Path(name)
    if not folder.is_dir():
        from lab.report import KeyFileError

        raise KeyFileError(f"{folder}: no such trust folder (a folder of trusted *.pub keys)")
    return folder


def _is_html(path: Path) -> bool:
    with path.open("rb") as stream:
        head = stream.read(5)
    return head != b"%PDF-" and path.suffix.lower() != ".pdf"


def _generate(arguments: argparse.Namespace) -> int:
    from lab.report import fingerprint, generate_key_pair, load_public_key

    private_path, public_path = generate_key_pair(Path(arguments.directory))
    print(f"private key: {private_path} (keep it secret; sign with --key or ${KEY_ENV})", file=sys.stderr)
    print(f"public key:  {public_path} ({fingerprint(load_public_key(public_path))})", file=sys.stderr)
    print(public_path)
    return EXIT_OK

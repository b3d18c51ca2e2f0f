"""Rendering a run directory into one self-contained, sealed HTML certification report.

::

    html = render_report(Path("runs/20261125T124800Z-3f9a1c"), lang="en", key=load_private_key(key_path))
    Path("report.html").write_text(html, encoding="utf-8")

Templates come from ``reports/templates`` (``DEFAULT_TEMPLATES``); a lab restyles by putting a
file of the same name (``style.css.j2``, ``partials/node.html.j2``, ``messages.yaml`` ...) in
a folder passed as ``templates``, which is searched first. Autoescaping is always on: every
value from a run (device names, firmware strings, transcripts) is shown as text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import lab
from lab.criteria import DataFormatError, Outcome
from lab.report.canonical import canonical_run
from lab.report.charts import sparkline
from lab.report.humane import readable_test
from lab.report.identity import CARD_FIELDS
from lab.report.keys import fingerprint
from lab.report.messages import LANGUAGES, load_catalog
from lab.report.seal import seal
from lab.report.view import AXES, OUTCOMES, build_view
from lab.results import Run, load_run, write_atomically

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates"
PAGE_TEMPLATE = "report.html.j2"
KEY_ENV = "LAB_REPORT_KEY"
REPORT_NAME = "report.html"


def render_run(
    run_dir: Path,
    *,
    out: Path | None = None,
    lang: str = "ko",
    key_path: Path | None = None,
    templates: Path | None = None,
    tester: str | None = None,
    campaign: str | None = None,
) -> Path:
    """Write the report of ``run_dir`` (default ``run_dir/report.html``) and return its path.

    Signed with ``key_path``, else with the key named by ``$LAB_REPORT_KEY``; unsigned (and
    saying so on its cover) when neither is set. This is what ``lab campaign`` calls.
    """
    from lab.report.keys import load_private_key

    configured = key_path or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    key = load_private_key(configured) if configured is not None else None
    target = out or Path(run_dir) / REPORT_NAME
    html = render_report(
        Path(run_dir), lang=lang, templates=templates, key=key, tester=tester, campaign=campaign
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, html.encode("utf-8"))
    os.chmod(target, 0o644)  # a report is meant to be handed out (the temporary file was 0600)
    return target


def render_report(
    run_dir: Path,
    *,
    lang: str = "ko",
    templates: Path | None = None,
    key: Ed25519PrivateKey | None = None,
    changes: object | None = None,
    run: Run | None = None,
    tester: str | None = None,
    campaign: str | None = None,
) -> str:
    """The sealed HTML report of ``run_dir`` (signed when ``key`` is given).

    ``changes`` is a ``lab.history.NightlyChanges`` for the "changes since last nightly"
    section (None leaves the section out); ``run`` skips loading when the caller has it;
    ``tester``/``campaign`` replace the names the run recorded (``lab report --tester NAME``).
    """
    if lang not in LANGUAGES:
        raise DataFormatError(f"unknown report language {lang!r} (expected one of {', '.join(LANGUAGES)})")
    loaded = run if run is not None else load_run(run_dir)
    directories = _template_dirs(templates)
    catalog = load_catalog(directories)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in directories]),
        autoescape=True,  # always: run data is hostile until proven otherwise
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        template = environment.get_template(PAGE_TEMPLATE)
        body = template.render(
            view=build_view(loaded, tester=tester, campaign=campaign),
            card_fields=CARD_FIELDS,
            t=lambda key_name: catalog.text(key_name, lang),
            label=lambda name: catalog.label(name, lang),
            lang=lang,
            axes=AXES,
            outcomes=OUTCOMES,
            skip=Outcome.SKIP,
            signer=fingerprint(key.public_key()) if key is not None else "",
            generated=datetime.now(UTC).isoformat(timespec="seconds"),
            framework_version=lab.__version__,
            changes=changes,
            sparkline=sparkline,
            readable_test=readable_test,  # a test named by a person, never its pytest node id
        )
    except jinja2.TemplateError as exc:
        where = f" ({exc.filename}:{exc.lineno})" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        raise DataFormatError(f"report template error{where}: {exc}") from exc
    return seal(body, canonical_run(loaded), key)


def _template_dirs(override: Path | None) -> Sequence[Path]:
    if override is not None and not override.is_dir():
        raise DataFormatError(f"{override}: no such template directory")
    if not (DEFAULT_TEMPLATES / PAGE_TEMPLATE).is_file():
        raise DataFormatError(f"{DEFAULT_TEMPLATES}: the default report templates are missing")
    return [override, DEFAULT_TEMPLATES] if override is not None else [DEFAULT_TEMPLATES]

"""Signing and verifying: a valid report passes; any change is found and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.criteria import DataFormatError
from lab.report import (
    fingerprint,
    generate_key_pair,
    load_private_key,
    load_public_key,
    render_report,
    verify_report,
)
from lab.report.canonical import canonical_run, digest_tree
from lab.report.seal import DATA_MARKER, SIGNATURE_MARKER, split
from lab.results import load_run
from tests.report.synthetic import TEMP_TEST


def _write_signed(run_dir: Path, key_file: Path, out: Path) -> Path:
    out.write_text(render_report(run_dir, lang="en", key=load_private_key(key_file)), encoding="utf-8")
    return out


def test_signed_report_is_valid_against_the_trusted_key(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path]
) -> None:
    report = _write_signed(finished_run, key_pair[0], tmp_path / "r.html")
    result = verify_report(report, trusted_key=load_public_key(key_pair[1]))
    assert result.valid and result.trusted and result.problems == []
    assert result.summary().startswith("valid: signed by the trusted key SHA256:")
    untrusted = verify_report(report)  # no trusted key: intact, but anyone could have signed it
    assert not untrusted.valid and untrusted.intact and not untrusted.trusted and untrusted.problems == []
    assert untrusted.summary() == (
        f"signature intact, signer unknown: signed by key {result.signer}; no trusted key was given: "
        "pass --key PUBLIC_KEY, set $LAB_REPORT_PUBKEY, or put the signer's .pub in the trust folder "
        "keys/trusted/ (or $LAB_TRUSTED_KEYS)"
    )


def test_tampered_measured_value_is_named_with_its_test(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path]
) -> None:
    report = _write_signed(finished_run, key_pair[0], tmp_path / "r.html")
    html = report.read_text(encoding="utf-8")
    head, data = html.split(DATA_MARKER)
    assert data.count('"value":84.0') == 1
    report.write_text(head + DATA_MARKER + data.replace('"value":84.0', '"value":80.0'), encoding="utf-8")
    result = verify_report(report, trusted_key=load_public_key(key_pair[1]))
    assert not result.valid
    assert result.problems == [
        f"test {TEMP_TEST}: measured value of 'temperature' "
        "(the report now says 80.0 °C, verdict MARGINAL) changed"
    ]


def test_one_changed_html_character_is_found_in_its_section(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path]
) -> None:
    report = _write_signed(finished_run, key_pair[0], tmp_path / "r.html")
    html = report.read_text(encoding="utf-8")
    cell = '<td class="num value">84</td>'  # the certificate's worst temperature
    at = html.index(cell)
    report.write_text(html[:at] + cell.replace("84", "83") + html[at + len(cell) :], encoding="utf-8")
    result = verify_report(report)
    assert result.problems == ["HTML body changed in section 'node-kt-rbln-07'"]
    assert result.summary().startswith("INVALID")
    # a change in the page shell (outside any section) is still caught
    report.write_text(html.replace("<title>", "<title>x", 1), encoding="utf-8")
    assert verify_report(report).problems == [
        "HTML body changed (outside the marked sections: page shell or style)"
    ]


def test_recomputed_digests_without_the_key_break_the_signature(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path]
) -> None:
    report = _write_signed(finished_run, key_pair[0], tmp_path / "r.html")
    parts = split(report.read_text(encoding="utf-8"))
    data = parts.run_data
    records = data["records"]
    assert isinstance(records, list)
    for record in records:
        assert isinstance(record, dict)
        if record["test_id"] == TEMP_TEST:
            record["outcome"] = "PASS"
    payload = parts.block["payload"]
    assert isinstance(payload, dict)
    tree = digest_tree(data)
    payload.update(run_digest=tree["run"], records=tree["records"])
    from lab.report.canonical import canonical_bytes
    from lab.report.seal import _comment_safe

    forged = (
        parts.body.rstrip("\n") + SIGNATURE_MARKER + _comment_safe(json.dumps(parts.block)) + "\n-->"
        + DATA_MARKER + _comment_safe(canonical_bytes(data).decode()) + "\n-->\n"
    )  # fmt: skip
    report.write_text(forged, encoding="utf-8")
    result = verify_report(report)
    assert result.problems == [
        "the signature does not match the signed digests (the signature block was altered)"
    ]


def test_report_signed_by_another_key_is_rejected(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path]
) -> None:
    other_private, _ = generate_key_pair(tmp_path / "other")
    report = _write_signed(finished_run, other_private, tmp_path / "r.html")
    result = verify_report(report, trusted_key=load_public_key(key_pair[1]))
    assert not result.valid and result.intact and not result.trusted and result.problems == []
    other = fingerprint(load_public_key(other_private))
    assert result.signer == other
    assert result.summary() == (
        f"signature intact, signer unknown: signed by key {other}; "
        f"it is not one of the trusted keys ({fingerprint(load_public_key(key_pair[1]))})"
    )
    both = [load_public_key(key_pair[1]), load_public_key(other_private)]
    assert verify_report(report, trusted_keys=both).valid  # a trust folder may hold several signers


def test_unsigned_report_says_so_and_is_not_valid(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path]
) -> None:
    report = tmp_path / "r.html"
    report.write_text(render_report(finished_run, lang="en"), encoding="utf-8")
    assert "UNSIGNED: no signing key was configured" in report.read_text(encoding="utf-8")
    result = verify_report(report)
    assert not result.valid and not result.signed and result.problems == []
    assert result.summary().startswith("UNSIGNED")
    expecting = verify_report(report, trusted_key=load_public_key(key_pair[1]))
    assert expecting.problems == ["the report is UNSIGNED but a signature by a trusted key was expected"]


def test_report_is_compared_with_its_run_directory(
    tmp_path: Path, finished_run: Path, key_pair: tuple[Path, Path]
) -> None:
    report = _write_signed(finished_run, key_pair[0], tmp_path / "r.html")
    trusted = [load_public_key(key_pair[1])]
    assert verify_report(report, trusted_keys=trusted, run_data=canonical_run(load_run(finished_run))).valid
    record_file = next(finished_run.glob("records-*.jsonl"))
    text = record_file.read_text(encoding="utf-8")
    record_file.write_text(text.replace('"value":1500.0', '"value":1400.0'), encoding="utf-8")
    result = verify_report(report, run_data=canonical_run(load_run(finished_run)))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("differs from the run directory: test testsuites/performance/")
    assert "'throughput' (the report now says 1500.0 samples/s" in result.problems[0]


def test_hostile_strings_with_comment_markers_survive_embedding(
    tmp_path: Path, key_pair: tuple[Path, Path]
) -> None:
    from tests.report.synthetic import build_run

    run_dir = build_run(tmp_path / "run", firmware="--> <!-- -- --!> ---")
    report = _write_signed(run_dir, key_pair[0], tmp_path / "r.html")
    html = report.read_text(encoding="utf-8")
    trailer = html[html.index(SIGNATURE_MARKER) :]
    assert trailer.count("-->") == 2 and "<!-- " not in trailer
    assert verify_report(report, trusted_keys=[load_public_key(key_pair[1])]).valid
    measured = [m for r in split(html).run_data["records"] for m in r["measurements"]]  # type: ignore[union-attr,index]
    assert "--> <!-- -- --!> ---" in [m["value"] for m in measured]  # type: ignore[index]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<html>just a page</html>", "no lab-signature block"),
        (f"<html></html>{SIGNATURE_MARKER}{{not json\n-->{DATA_MARKER}{{}}\n-->\n", "not JSON"),
        (f"<html></html>{SIGNATURE_MARKER}{{}}\n-->\n", "lab-run-data block"),
        (f"<html></html>{SIGNATURE_MARKER}[]\n-->{DATA_MARKER}{{}}\n-->\n", "expected shape"),
    ],
)
def test_files_that_are_not_sealed_reports_are_data_format_errors(
    tmp_path: Path, content: str, message: str
) -> None:
    report = tmp_path / "r.html"
    report.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        verify_report(report)


def test_every_node_section_is_covered_by_a_section_digest(tmp_path: Path, finished_run: Path) -> None:
    html = render_report(finished_run, lang="en")
    sections = split(html).block["payload"]["sections"]  # type: ignore[index]
    assert isinstance(sections, dict)
    korean = [name for name in sections if name.startswith("node-") and name != "node-kt-rbln-07"]
    assert len(korean) == 1 and korean[0].isascii()  # 노드-가 gets an ASCII id with a digest
    report = tmp_path / "r.html"
    report.write_text(html.replace("npu0&lt;script&gt;", "npu1&lt;script&gt;", 1), encoding="utf-8")
    assert verify_report(report).problems == [f"HTML body changed in section {korean[0]!r}"]


def test_fast_encoding_gives_exactly_the_canonical_bytes(finished_run: Path) -> None:
    from lab.report.canonical import canonical_bytes, encode_and_digest

    data = canonical_run(load_run(finished_run))
    encoded, tree = encode_and_digest(data)
    assert encoded == canonical_bytes(data)
    assert tree == digest_tree(json.loads(encoded))  # the verifier's view of the same data


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '"outcome":"MARGINAL"',
            '"outcome":"PASS"',
            f"test {TEMP_TEST}: outcome changed from MARGINAL to PASS",
        ),
        (
            '"duration":2.0',
            '"duration":0.5',
            "test testsuites/functional/test_health.py::test_smi[노드-가:npu0]: record changed "
            "(a field other than its outcome and measurements; node now 노드-가)",
        ),
    ],
)
def test_changed_outcome_and_other_fields_are_named(
    tmp_path: Path,
    finished_run: Path,
    key_pair: tuple[Path, Path],
    old: str,
    new: str,
    expected: str,
) -> None:
    report = _write_signed(finished_run, key_pair[0], tmp_path / "r.html")
    head, data = report.read_text(encoding="utf-8").split(DATA_MARKER)
    assert data.count(old) == 1
    report.write_text(head + DATA_MARKER + data.replace(old, new), encoding="utf-8")
    assert verify_report(report).problems == [expected]


def test_content_appended_after_the_report_is_found(tmp_path: Path, finished_run: Path) -> None:
    report = tmp_path / "r.html"
    report.write_text(render_report(finished_run, lang="en") + "<p>extra</p>\n", encoding="utf-8")
    assert verify_report(report).problems == ["content was appended after the end of the report"]

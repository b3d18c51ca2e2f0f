"""Checking a sealed report: is it intact, who signed it, and if not, exactly what changed.

::

    trusted = [load_public_key(Path("keys/report-signing.pub"))]
    result = verify_report(Path("report.html"), trusted_keys=trusted)
    result.valid        # True only when signed by a trusted key, the signature matches and nothing changed
    result.problems     # e.g. ["test t.py::test_temp[n1:npu0]: measured value of 'temperature' changed
                        #        (the report now says 91.0 °C)", "HTML body changed in section 'node-n1'"]

Order of checks: the signature over the digests, then whether one of ``trusted_keys`` made it
(without a trusted key the answer is "signature intact, signer unknown", never valid), then
the embedded run data against the signed digests (locating a change down to one
measurement), then the HTML body against its digest (locating it to one section).
Optionally the run directory it was made from (``run_data``) against the report.
``verify_file`` checks a file with a detached signature (the PDF and its ``report.pdf.sig``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lab.criteria import DataFormatError, JsonValue
from lab.report.canonical import canonical_bytes, digest_tree, sha256_hex
from lab.report.keys import fingerprint, raw_public
from lab.report.seal import (
    SEAL_FORMAT,
    body_digest,
    detached_signature_path,
    read_detached_signature,
    section_digests,
    split,
)

NO_TRUST_HINT = (
    "no trusted key was given: pass --key PUBLIC_KEY, set $LAB_REPORT_PUBKEY, "
    "or put the signer's .pub in the trust folder keys/trusted/ (or $LAB_TRUSTED_KEYS)"
)


@dataclass(slots=True)
class Verification:
    """What ``verify_report`` / ``verify_file`` found.

    ``signed``/``signer`` describe the signature; ``intact`` that it matches what it signs;
    ``trusted`` that the signer is one of the trusted keys (``trusted_signers`` lists their
    fingerprints); ``problems`` lists every change found, one sentence each. Only a signature
    that is intact, made by a trusted key, over contents that did not change is ``valid``:
    anyone can sign a forged report with a key of their own.
    """

    signed: bool = False
    signer: str = ""
    intact: bool = False
    trusted: bool = False
    trusted_signers: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.trusted and not self.problems

    def summary(self) -> str:
        if self.problems:
            return "INVALID: " + "; ".join(self.problems)
        if not self.signed:
            return "UNSIGNED: the contents match their embedded digests, but nobody signed them"
        if self.trusted:
            return f"valid: signed by the trusted key {self.signer}"
        known = (
            f"it is not one of the trusted keys ({', '.join(self.trusted_signers)})"
            if self.trusted_signers
            else NO_TRUST_HINT
        )
        return f"signature intact, signer unknown: signed by key {self.signer}; {known}"


def verify_report(
    path: Path,
    *,
    trusted_keys: Sequence[Ed25519PublicKey] = (),
    trusted_key: Ed25519PublicKey | None = None,
    run_data: dict[str, JsonValue] | None = None,
) -> Verification:
    """Verify the report at ``path``; ``DataFormatError`` when it is unreadable or not a lab report.

    ``trusted_keys`` (and/or the single ``trusted_key``) are the signers accepted; with none,
    an intact signature is reported with its signer's fingerprint but is not ``valid``.
    """
    try:
        html = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot read report: {exc}") from None
    parts = split(html)
    result = Verification()
    payload = parts.block["payload"]
    assert isinstance(payload, dict)  # checked by split
    if payload.get("format") != SEAL_FORMAT:
        raise DataFormatError(f"{path}: unknown seal format {payload.get('format')!r}")
    _check_signature(parts.block, payload, _trusted(trusted_keys, trusted_key), result)
    _check_run_data(payload, parts.run_data, result)
    _check_body(payload, parts.body, result)
    if parts.trailer.strip():
        result.problems.append("content was appended after the end of the report")
    if run_data is not None:
        _check_against_run(parts.run_data, run_data, result)
    return result


def verify_file(
    path: Path,
    *,
    trusted_keys: Sequence[Ed25519PublicKey] = (),
    run_data: dict[str, JsonValue] | None = None,
) -> Verification:
    """Verify a file signed by a detached signature next to it (``report.pdf`` by ``report.pdf.sig``).

    ::

        verify_file(Path("runs/RUN/report.pdf"), trusted_keys=[public]).summary()

    A missing signature file is UNSIGNED; a changed byte of the file, INVALID. With
    ``run_data`` the run the file was made from is compared too.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    result = Verification()
    signature_path = detached_signature_path(path)
    if not signature_path.is_file():
        return result  # UNSIGNED: never valid
    block = read_detached_signature(signature_path)
    payload = block["payload"]
    assert isinstance(payload, dict)  # checked by read_detached_signature
    _check_signature(block, payload, tuple(trusted_keys), result)
    if payload.get("sha256") != sha256_hex(data) or payload.get("size") != len(data):
        result.problems.append(
            f"the file changed since it was signed ({len(data)} bytes now, {payload.get('size')} signed; "
            "SHA-256 differs)"
        )
    if run_data is not None and payload.get("run_digest") != digest_tree(run_data)["run"]:
        result.problems.append("differs from the run directory: it was made from other run data")
    return result


def _trusted(
    trusted_keys: Sequence[Ed25519PublicKey], trusted_key: Ed25519PublicKey | None
) -> tuple[Ed25519PublicKey, ...]:
    return (*trusted_keys, trusted_key) if trusted_key is not None else tuple(trusted_keys)


def _check_signature(
    block: dict[str, object],
    payload: dict[str, object],
    trusted: tuple[Ed25519PublicKey, ...],
    result: Verification,
) -> None:
    result.signed = block.get("signed") is True
    result.trusted_signers = tuple(dict.fromkeys(fingerprint(key) for key in trusted))
    if not result.signed:
        if trusted:
            result.problems.append("the report is UNSIGNED but a signature by a trusted key was expected")
        return
    try:
        public = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(str(block.get("public_key")), validate=True)
        )
        signature = base64.b64decode(str(block.get("signature")), validate=True)
    except (ValueError, binascii.Error):
        result.problems.append("the signature block is damaged (public key or signature unreadable)")
        return
    result.signer = fingerprint(public)
    try:
        public.verify(signature, canonical_bytes(payload))  # type: ignore[arg-type]
    except InvalidSignature:
        result.problems.append(
            "the signature does not match the signed digests (the signature block was altered)"
        )
        return
    result.intact = True
    result.trusted = any(raw_public(key) == raw_public(public) for key in trusted)


def _check_run_data(payload: dict[str, object], run_data: dict[str, JsonValue], result: Verification) -> None:
    actual = digest_tree(run_data)
    if actual["run"] == payload.get("run_digest"):
        return
    found = _tree_differences(payload, actual, run_data)
    result.problems.extend(found or ["the embedded run data changed (the run digest does not match)"])


def _tree_differences(
    expected: dict[str, object], actual: dict[str, JsonValue], run_data: dict[str, JsonValue]
) -> list[str]:
    problems: list[str] = []
    if expected.get("manifest") != actual["manifest"]:
        problems.append("the run's manifest (provenance) changed")
    want = expected.get("records")
    have = actual["records"]
    if not isinstance(want, dict) or not isinstance(have, dict):
        return problems
    records = {str(r.get("test_id")): r for r in _records(run_data)}
    for test_id in sorted(set(want) - set(have)):
        problems.append(f"test {test_id}: removed from the run data")
    for test_id in sorted(set(have) - set(want)):
        problems.append(f"test {test_id}: added to the run data")
    for test_id in sorted(set(want) & set(have)):
        old, new = want[test_id], have[test_id]
        if not isinstance(old, dict) or not isinstance(new, dict) or old == new:
            continue
        record = records.get(test_id, {})
        found = len(problems)
        if old.get("o") != new.get("o"):
            problems.append(f"test {test_id}: outcome changed from {old.get('o')} to {new.get('o')}")
        old_m, new_m = old.get("m"), new.get("m")
        if isinstance(old_m, list) and isinstance(new_m, list):
            if len(old_m) != len(new_m):
                problems.append(f"test {test_id}: {len(old_m)} measurements signed, {len(new_m)} now")
            else:
                measurements = record.get("measurements")
                items = measurements if isinstance(measurements, list) else []
                for index, (before, after) in enumerate(zip(old_m, new_m, strict=True)):
                    if before != after:
                        problems.append(f"test {test_id}: {_describe_measurement(items, index)} changed")
        if len(problems) == found:  # r differs, yet outcome and measurements are as signed
            problems.append(
                f"test {test_id}: record changed (a field other than its outcome and measurements; "
                f"node now {record.get('node')!s})"
            )
    return problems


def _describe_measurement(items: list[JsonValue], index: int) -> str:
    item = items[index] if index < len(items) else None
    if not isinstance(item, dict):
        return f"measurement #{index + 1}"
    unit = f" {item.get('unit')}" if item.get("unit") else ""
    return (
        f"measured value of {item.get('name')!r} (the report now says {item.get('value')!r}{unit}, "
        f"verdict {item.get('verdict')})"
    )


def _check_body(payload: dict[str, object], body: str, result: Verification) -> None:
    if body_digest(body) == payload.get("body_digest"):
        return
    signed = payload.get("sections")
    now = section_digests(body)
    changed = []
    if isinstance(signed, dict):
        changed = [name for name in signed if now.get(name) != signed[name]]
        changed += [name for name in now if name not in signed]
    if changed:
        result.problems.append("HTML body changed in section " + ", ".join(repr(name) for name in changed))
    else:
        result.problems.append("HTML body changed (outside the marked sections: page shell or style)")


def _check_against_run(
    embedded: dict[str, JsonValue], stored: dict[str, JsonValue], result: Verification
) -> None:
    expected = digest_tree(stored)
    if expected["run"] == digest_tree(embedded)["run"]:
        return
    payload: dict[str, object] = {"manifest": expected["manifest"], "records": expected["records"]}
    found = _tree_differences(payload, digest_tree(embedded), embedded)
    result.problems.extend(f"differs from the run directory: {problem}" for problem in found)
    if not found:
        result.problems.append("differs from the run directory")


def _records(data: dict[str, JsonValue]) -> list[dict[str, JsonValue]]:
    records = data.get("records")
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []

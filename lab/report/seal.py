"""Sealing a rendered report: digests of the run data and the HTML, signed, embedded as comments.

A sealed report ends with two HTML comments after ``</html>`` (comments, not scripts: the
page runs no code, and a browser shows neither)::

    <!--lab-signature
    {"payload": {"format": ..., "run_digest": ..., "body_digest": ..., "sections": {...}, "records": {...}},
     "signed": true, "algorithm": "ed25519", "public_key": ..., "key_fingerprint": ..., "signature": ...}
    -->
    <!--lab-run-data
    {the canonical run data: manifest + records}
    -->

The *body* is every byte before the ``<!--lab-signature`` line. ``sections`` holds a short
digest of each ``<!--lab-section:ID-->`` part of the body and ``records`` one per record and
measurement, so ``lab verify`` can say where a change is, not only that there is one.

Files that cannot hold a comment (the PDF) get a **detached signature** next to them,
``report.pdf.sig``: the same block shape, its payload naming the file's size and SHA-256 and
the run digest of the report it was printed from::

    sign_file(Path("runs/RUN/report.pdf"), key, run_digest=...)   # → runs/RUN/report.pdf.sig
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lab.criteria import DataFormatError, JsonValue
from lab.report.canonical import canonical_bytes, encode_and_digest, sha256_hex
from lab.report.keys import fingerprint, raw_public
from lab.results.files import write_atomically

SEAL_FORMAT = "kcloud-lab-report-seal/1"
FILE_SEAL_FORMAT = "kcloud-lab-file-signature/1"
SIGNATURE_SUFFIX = ".sig"
SIGNATURE_MARKER = "\n<!--lab-signature\n"
DATA_MARKER = "\n<!--lab-run-data\n"
_END = "\n-->\n"
_OPEN, _CLOSE = "<!--lab-section:", "<!--/lab-section-->"
_SECTION_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class SealedParts:
    """A report split back into what was sealed."""

    body: str
    block: dict[str, object]
    run_data: dict[str, JsonValue]
    trailer: str = ""  # anything after the run-data block's end: nothing, in a sealed report


def seal(body: str, run_data: dict[str, JsonValue], key: Ed25519PrivateKey | None) -> str:
    """``body`` followed by the signature block and the run data (unsigned when ``key`` is None)."""
    encoded, tree = encode_and_digest(run_data)
    payload: dict[str, JsonValue] = {
        "format": SEAL_FORMAT,
        "run_digest": tree["run"],
        "manifest": tree["manifest"],
        "records": tree["records"],
        "body_digest": body_digest(body),
        "sections": section_digests(body),
    }
    block = _signed_block(payload, key)
    return (
        body.rstrip("\n")
        + SIGNATURE_MARKER
        + _comment_safe(json.dumps(block, sort_keys=True, ensure_ascii=True))
        + _END.rstrip("\n")
        + DATA_MARKER
        + _comment_safe(encoded.decode("ascii"))
        + _END
    )


def _signed_block(payload: dict[str, JsonValue], key: Ed25519PrivateKey | None) -> dict[str, JsonValue]:
    block: dict[str, JsonValue] = {"payload": payload, "signed": key is not None}
    if key is not None:
        public = key.public_key()
        block.update(
            algorithm="ed25519",
            public_key=base64.b64encode(raw_public(public)).decode("ascii"),
            key_fingerprint=fingerprint(public),
            signature=base64.b64encode(key.sign(canonical_bytes(payload))).decode("ascii"),
        )
    return block


def detached_signature_path(path: Path) -> Path:
    """Where the detached signature of ``path`` lives: ``report.pdf`` → ``report.pdf.sig``."""
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def sign_file(path: Path, key: Ed25519PrivateKey, *, run_digest: str | None = None) -> Path:
    """Write the detached signature of ``path`` (its size and SHA-256, and the run digest of the
    report it shows) next to it; returns the signature's path."""
    data = path.read_bytes()
    payload: dict[str, JsonValue] = {
        "format": FILE_SEAL_FORMAT,
        "file": path.name,
        "size": len(data),
        "sha256": sha256_hex(data),
        "run_digest": run_digest,
    }
    target = detached_signature_path(path)
    text = json.dumps(_signed_block(payload, key), sort_keys=True, indent=1, ensure_ascii=True) + "\n"
    write_atomically(target, text.encode("ascii"))
    os.chmod(target, 0o644)  # handed out with the file it signs
    return target


def read_detached_signature(path: Path) -> dict[str, object]:
    """The signature block of a ``.sig`` file; ``DataFormatError`` when it is not one."""
    try:
        block = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path}: not a readable lab signature: {exc}") from None
    payload = block.get("payload") if isinstance(block, dict) else None
    if not isinstance(payload, dict) or payload.get("format") != FILE_SEAL_FORMAT:
        raise DataFormatError(f"{path}: not a lab detached signature (format {FILE_SEAL_FORMAT})")
    return block  # type: ignore[no-any-return]


def split(html: str) -> SealedParts:
    """The body, the signature block and the run data of a sealed report; ``DataFormatError`` when
    the file is not one (no block, or a block that is not JSON)."""
    at = html.rfind(SIGNATURE_MARKER)
    if at < 0:
        raise DataFormatError("not a sealed lab report: no lab-signature block at its end")
    body = html[:at] + "\n"
    rest = html[at + len(SIGNATURE_MARKER) :]
    block_text, found, rest = rest.partition(_END.rstrip("\n") + DATA_MARKER)
    if not found:
        raise DataFormatError("damaged lab report: the lab-run-data block after the signature is missing")
    data_text, _, trailer = rest.partition(_END.rstrip("\n"))  # the data holds no "--", so no "\n-->"
    try:
        block = json.loads(block_text)
        run_data = json.loads(data_text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"damaged lab report: the embedded blocks are not JSON ({exc})") from None
    if (
        not isinstance(block, dict)
        or not isinstance(block.get("payload"), dict)
        or not isinstance(run_data, dict)
    ):
        raise DataFormatError("damaged lab report: the embedded blocks do not have the expected shape")
    return SealedParts(body, block, run_data, trailer.removeprefix("\n"))


def body_digest(body: str) -> str:
    return sha256_hex(_normalised(body).encode("utf-8"))


def section_digests(body: str) -> dict[str, JsonValue]:
    """Short digest of each marked section (a repeated id keeps its first occurrence)."""
    digests: dict[str, JsonValue] = {}
    # plain find() rather than one DOTALL regex: a report can be tens of megabytes
    position = body.find(_OPEN)
    while position >= 0:
        name_end = body.find("-->", position)
        close = body.find(_CLOSE, name_end)
        if name_end < 0 or close < 0:
            break
        name = body[position + len(_OPEN) : name_end]
        if _SECTION_NAME.fullmatch(name):
            digests.setdefault(name, sha256_hex(body[name_end + 3 : close].encode("utf-8"))[:16])
        position = body.find(_OPEN, close)
    return digests


def _normalised(body: str) -> str:
    # the body is hashed exactly as sealed, with one trailing newline however the file ends
    return body.rstrip("\n") + "\n"


def _comment_safe(text: str) -> str:
    # "--" cannot appear in an HTML comment, and "<"/">" make tag-like text a careless
    # scanner might trip on. In our JSON all three can only sit inside strings, where the
    # \u escape is the same character to any JSON reader.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e")
    while "--" in text:
        text = text.replace("--", "-\\u002d")
    return text

"""Ed25519 keys for signing reports (``cryptography``, which paramiko already brings).

::

    private_path, public_path = generate_key_pair(Path("keys"))   # keys/report-signing.key (+ .pub)
    key = load_private_key(private_path)                          # PEM (PKCS#8) or OpenSSH format
    public = load_public_key(public_path)                         # PEM or one 'ssh-ed25519 AAAA…' line
    fingerprint(public)                                           # 'SHA256:…' like ssh-keygen -l

A key in the wrong format, a non-Ed25519 key or an encrypted private key without a passphrase
raises ``KeyFileError`` with the file name (never the key material).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lab.errors import LabError

PRIVATE_NAME = "report-signing.key"
PUBLIC_NAME = "report-signing.pub"


class KeyFileError(LabError):
    """A signing or verification key could not be read or is not an Ed25519 key."""


def generate_key_pair(directory: Path, *, name: str = "report-signing") -> tuple[Path, Path]:
    """Write a new private key (PEM, mode 0600) and its public key (OpenSSH line) into ``directory``.

    Refuses to overwrite an existing key: losing a signing key silently is worse than an error.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path}: already exists (remove it first to make a new key)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(pem)
    public_line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    public_path.write_bytes(public_line + b" kcloud-lab-report\n")
    return private_path, public_path


def load_private_key(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    data = _read(path)
    key: object
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=passphrase)
        else:
            key = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path}: not a readable private key ({type(exc).__name__})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key (reports are signed with Ed25519)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key file (PEM or OpenSSH line); a private key file is accepted too (its public half)."""
    data = _read(path)
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    key: object
    try:
        if data.lstrip().startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(data.strip().split(b"\n")[0])
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path}: not a readable public key ({type(exc).__name__})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 key (reports are signed with Ed25519)")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:<base64>`` of the SSH wire form, the same text ``ssh-keygen -lf`` prints."""
    blob = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()[1]
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file: {exc.strerror or exc}") from None


def load_trusted_keys(directory: Path) -> tuple[Ed25519PublicKey, ...]:
    """Every ``*.pub`` of the lab's trust folder, in name order; a missing folder trusts nobody.

    ::

        trusted = load_trusted_keys(Path("keys/trusted"))   # keys/trusted/nightly-ci.pub, ...

    A file there that is not an Ed25519 public key is a ``KeyFileError`` naming it: a trust
    folder silently ignoring a key would make every report that key signed look forged.
    """
    if not directory.is_dir():
        return ()
    return tuple(load_public_key(path) for path in sorted(directory.glob("*.pub")) if path.is_file())

"""Report-signing keys: generation, the formats accepted, and clear errors for the rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lab.report import KeyFileError, fingerprint, generate_key_pair, load_private_key, load_public_key


def test_generated_pair_matches_and_private_key_is_owner_only(tmp_path: Path) -> None:
    private_path, public_path = generate_key_pair(tmp_path)
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    private, public = load_private_key(private_path), load_public_key(public_path)
    signature = private.sign(b"report")
    public.verify(signature, b"report")  # raises when the halves do not belong together
    assert public_path.read_text().startswith("ssh-ed25519 ")
    assert fingerprint(public).startswith("SHA256:") and len(fingerprint(public)) == 50
    with pytest.raises(KeyFileError, match="already exists"):
        generate_key_pair(tmp_path)


def test_openssh_private_keys_and_pem_public_keys_are_accepted(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    openssh = tmp_path / "id_ed25519"
    openssh.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    pem_public = tmp_path / "public.pem"
    pem_public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert fingerprint(load_private_key(openssh).public_key()) == fingerprint(load_public_key(pem_public))
    assert fingerprint(load_public_key(openssh)) == fingerprint(
        key.public_key()
    )  # a private key file works too


def test_wrong_keys_are_clear_errors_without_key_material(tmp_path: Path) -> None:
    rsa_file = tmp_path / "rsa.pem"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    rsa_file.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_private_key(rsa_file)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileError, match="not a readable private key") as caught:
        load_private_key(garbage)
    assert "c2VjcmV0" not in str(caught.value)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(KeyFileError, match="not a readable private key"):
        load_private_key(encrypted)
    with pytest.raises(KeyFileError, match="cannot read key file"):
        load_public_key(tmp_path / "missing.pub")
    (tmp_path / "bad.pub").write_text("ssh-ed25519 !!!\n")
    with pytest.raises(KeyFileError, match="not a readable public key"):
        load_public_key(tmp_path / "bad.pub")

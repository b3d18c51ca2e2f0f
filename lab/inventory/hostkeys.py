"""Checking pinned SSH host-key lines (``ssh-ed25519 AAAA... comment``) without contacting anyone.

::

    host_key_problem("ssh-ed25519 AAAAC3Nz...")   # None when the line parses
    host_key_problem("ssh-ed25519 AAAA")          # "the key data does not parse as ssh-ed25519"
"""

from __future__ import annotations

import base64
import binascii

import paramiko

# Key types paramiko can verify; OpenSSH certificate and FIDO types are refused on purpose.
SUPPORTED_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)


def host_key_problem(line: str) -> str | None:
    """Why ``line`` is not a usable OpenSSH public key line, or None when it is."""
    parts = line.split()
    if len(parts) < 2:
        return "expected an OpenSSH public key line: '<type> <base64 data> [comment]'"
    key_type, data = parts[0], parts[1]
    if key_type not in SUPPORTED_TYPES:
        return f"unsupported host key type '{key_type}' (use one of {', '.join(SUPPORTED_TYPES)})"
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "the key data is not valid base64"
    try:
        key = paramiko.PKey.from_type_string(key_type, blob)
    except Exception:  # paramiko raises SSHException, ValueError, struct.error... for bad blobs
        return f"the key data does not parse as {key_type}"
    if key.get_name() != key_type:
        return f"the key data is a {key.get_name()} key, not {key_type}"
    return None


def split_key_lines(text: str) -> list[str]:
    """Non-empty, non-comment lines of a ``host_key`` value (one string may hold several lines)."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]

"""Host-key trust: which keys a node may present, and what happens when it presents another.

Two trust modes, named in the inventory (``host_key.mode``) or by the caller:

* ``strict`` (default): the presented key must be one of the node's pinned keys
  (``host_key.pinned``, OpenSSH public-key lines) or listed for it in
  ``host_key.known_hosts`` (or the caller's file; with neither, the bring-up file
  ``~/.kcloud-lab/known_hosts``). Anything else is refused with ``HostKeyError``.
* ``bring-up``: trust on first use, for racking new machines. A node with no known key
  has its presented key appended to a known_hosts file (logged at WARNING). A *changed*
  key is still refused.

The outcome (``HostKeyCheck``) records the mode and the SHA256 fingerprint, as OpenSSH
prints it, so the report can say how each node was trusted::

    check = verify_host_key(node.name, lookup_names, presented_key, trust)
    print(check.mode, check.fingerprint)      # strict SHA256:3Zq0...
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.pkey import UnknownKeyType

from lab.errors import HostKeyError
from lab.inventory.model import HostKeyTrust

log = logging.getLogger(__name__)

DEFAULT_BRING_UP_KNOWN_HOSTS = "~/.kcloud-lab/known_hosts"


@dataclass(frozen=True, slots=True)
class HostKeyCheck:
    """How a connection's host key was trusted."""

    mode: str  # "strict" or "bring-up"
    key_type: str  # e.g. "ssh-ed25519"
    fingerprint: str  # "SHA256:..." as OpenSSH prints it
    recorded_to: str | None = None  # set when bring-up learned the key into this file


def fingerprint(key: paramiko.PKey) -> str:
    """The SHA256 fingerprint of a key, exactly as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_public_key(line: str) -> paramiko.PKey:
    """A key from an OpenSSH public-key line (``ssh-ed25519 AAAA... comment``)."""
    fields = line.split()
    if len(fields) < 2:
        raise HostKeyError(f"not an OpenSSH public key line: {line[:60]!r}")
    try:
        return paramiko.PKey.from_type_string(fields[0], base64.b64decode(fields[1]))
    except (ValueError, binascii.Error, paramiko.SSHException, UnknownKeyType) as error:
        raise HostKeyError(f"unreadable pinned host key {fields[0]} {fields[1][:16]}...") from error


def known_host_names(address: str, port: int) -> list[str]:
    """The names known_hosts uses for a host: ``addr`` on port 22, ``[addr]:port`` otherwise."""
    return [address] if port == 22 else [f"[{address}]:{port}"]


def expected_keys(
    trust: HostKeyTrust, names: list[str], known_hosts: str | None = None
) -> list[paramiko.PKey]:
    """Every key the node may present: pinned lines plus known_hosts entries for ``names``.

    The known_hosts files are the node's and the caller's; when neither names one, the
    file bring-up records into (``~/.kcloud-lab/known_hosts``), so a key learned during
    bring-up is trusted by the strict runs that follow.
    """
    keys = [parse_public_key(line) for line in trust.pinned]
    files = [path for path in dict.fromkeys((trust.known_hosts, known_hosts)) if path]
    for path in files or [DEFAULT_BRING_UP_KNOWN_HOSTS]:
        keys.extend(_known_hosts_keys(os.path.expanduser(path), names))
    return keys


def preferred_key_types(expected: list[paramiko.PKey]) -> list[str]:
    """Host-key algorithms to offer first so the server presents the key type we know."""
    preferred: list[str] = []
    for key in expected:
        name = key.get_name()
        algorithms = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if name == "ssh-rsa" else [name]
        preferred.extend(a for a in algorithms if a not in preferred)
    return preferred


def verify_host_key(
    node: str,
    names: list[str],
    presented: paramiko.PKey,
    trust: HostKeyTrust,
    *,
    mode: str | None = None,
    known_hosts: str | None = None,
) -> HostKeyCheck:
    """Accept or refuse ``presented``; in bring-up mode record a first-seen key.

    ``mode`` overrides ``trust.mode`` (a caller asking for bring-up by name);
    ``known_hosts`` is an extra file consulted, and the file bring-up records into when
    the node names none.
    """
    effective = mode or trust.mode
    if effective not in ("strict", "bring-up"):
        raise HostKeyError(f"unknown trust mode {effective!r} (use 'strict' or 'bring-up')", node=node)
    presented_print = fingerprint(presented)
    expected = expected_keys(trust, names, known_hosts)
    if any(_same_key(key, presented) for key in expected):
        return HostKeyCheck(effective, presented.get_name(), presented_print)
    if expected:
        wanted = ", ".join(f"{key.get_name()} {fingerprint(key)}" for key in expected)
        raise HostKeyError(
            f"HOST KEY CHANGED: expected {wanted}, but the server presented "
            f"{presented.get_name()} {presented_print}. Someone may be intercepting the connection, "
            "or the node was reinstalled; if so, update host_key.pinned / known_hosts after checking "
            "the new key on the console",
            node=node,
        )
    if effective == "strict":
        line = f"{presented.get_name()} {presented.get_base64()}"
        raise HostKeyError(
            f"unknown host key {presented.get_name()} {presented_print} (trust mode strict). "
            f"Check it on the node (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and pin it in the "
            f'inventory: host_key: {{pinned: ["{line}"]}} or add it to a known_hosts file; '
            "use mode: bring-up only while racking new machines",
            node=node,
        )
    target = os.path.expanduser(trust.known_hosts or known_hosts or DEFAULT_BRING_UP_KNOWN_HOSTS)
    _record(target, names[0], presented)
    log.warning(
        "%s: bring-up trust: recorded first-seen host key %s %s into %s",
        node,
        presented.get_name(),
        presented_print,
        target,
    )
    return HostKeyCheck(effective, presented.get_name(), presented_print, recorded_to=target)


def _same_key(a: paramiko.PKey, b: paramiko.PKey) -> bool:
    return a.get_name() == b.get_name() and a.asbytes() == b.asbytes()


def _known_hosts_keys(path: str, names: list[str]) -> list[paramiko.PKey]:
    if not os.path.exists(path):
        return []
    hosts = paramiko.HostKeys()
    try:
        hosts.load(path)
    except (OSError, paramiko.SSHException) as error:
        raise HostKeyError(f"cannot read known_hosts file {path}: {error}") from error
    keys: list[paramiko.PKey] = []
    for name in names:
        entry = hosts.lookup(name)
        if entry is not None:
            keys.extend(entry[key_type] for key_type in entry)
    return keys


def _record(path: str, name: str, key: paramiko.PKey) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    line = f"{name} {key.get_name()} {key.get_base64()}\n"
    # O_APPEND keeps concurrent recorders (xdist workers) from interleaving within a line
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with contextlib.closing(os.fdopen(fd, "a")) as handle:
        handle.write(line)

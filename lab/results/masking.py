"""Secrets never leave the controller unmasked: one mask applied where every output is written.

Every record, evidence file and manifest goes through ``RunWriter`` / ``write_evidence`` /
``write_manifest``, and those mask with ``SECRETS``, the process-wide registry; the pytest
plugin masks its failure text (which feeds the terminal, JUnit and Allure) with the same
registry. Reporters (HTML, PDF, history) read records that are already masked::

    from lab.results.masking import SECRETS, MASK, register_secret

    register_secret("registry-token-81f2")      # what the ``lab_secret`` fixture calls
    SECRETS.text("login with registry-token-81f2")   # 'login with ********'

Where a secret comes from: the inventory's ``password_env`` / ``passphrase_env`` (also
written ``password: !env VAR`` / ``passphrase: !env VAR``) of every node — their values are
read from the environment, never stored in the inventory model — every label given as
``!env VAR`` (a BMC password, a registry token), and whatever a test registers. ``!env``
in the fields that say where and how to connect (address, port, user, key file, timeouts)
is configuration the report must show, and is not masked.

Short secrets: a secret of ``MIN_SUBSTRING_LENGTH`` (4) characters or more is masked
wherever it occurs, also inside longer words. A shorter one would turn every ``a`` or
``42`` of a report into ``********``, so it is masked only where it stands alone (not
touching a letter, digit or ``_``); such a secret is weak anyway. Each secret is also
masked in its ``repr``, JSON-escaped and shell-quoted forms, the forms error messages and
transcripts show it in.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import threading
from collections.abc import Iterable

from lab.criteria import JsonValue
from lab.inventory.model import Node

MASK = "********"
MIN_SUBSTRING_LENGTH = 4


class SecretMask:
    """A set of secret values and the function that hides them in text, bytes and JSON data.

    >>> mask = SecretMask(["hunter22", "ab"])
    >>> mask.text("pw=hunter22; tab ab")
    'pw=********; tab ********'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._text: re.Pattern[str] | None = None
        self._bytes: re.Pattern[bytes] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Register values to mask from now on; empty values are ignored."""
        new = {secret for secret in secrets if secret} - self._secrets
        if not new:
            return
        with self._lock:
            self._secrets |= new
            self._text, self._bytes = _patterns(self._secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __len__(self) -> int:
        return len(self._secrets)

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``MASK``."""
        pattern = self._text
        return pattern.sub(MASK, text) if pattern is not None and text else text

    def bytes(self, data: bytes) -> bytes:
        """``data`` with the UTF-8 form of every secret replaced by ``MASK``."""
        pattern = self._bytes
        return pattern.sub(MASK.encode(), data) if pattern is not None and data else data

    def json(self, value: JsonValue) -> JsonValue:
        """A copy of JSON data with every string (keys too) masked; unchanged data when no secret."""
        if self._text is None:
            return value
        return self._json(value)

    def _json(self, value: JsonValue) -> JsonValue:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self._json(item) for key, item in value.items()}
        return value


def _forms(secret: str) -> set[str]:
    # the secret as written, and as repr(), json.dumps() and shlex.quote() show it
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    quoted = shlex.quote(secret)
    if quoted != secret:
        forms.add(quoted)
    return {form for form in forms if form}


def _patterns(secrets: set[str]) -> tuple[re.Pattern[str], re.Pattern[bytes]]:
    long_forms = sorted({f for s in secrets if len(s) >= MIN_SUBSTRING_LENGTH for f in _forms(s)}, key=len)
    short_forms = sorted({f for s in secrets if len(s) < MIN_SUBSTRING_LENGTH for f in _forms(s)}, key=len)
    # longest first, so a secret containing another is masked whole
    parts = [re.escape(form) for form in reversed(long_forms)]
    parts += [rf"(?<!\w){re.escape(form)}(?!\w)" for form in reversed(short_forms)]
    text = re.compile("|".join(parts))
    byte_parts = [re.escape(form.encode()) for form in reversed(long_forms)]
    byte_parts += [rb"(?<!\w)" + re.escape(form.encode()) + rb"(?!\w)" for form in reversed(short_forms)]
    return text, re.compile(b"|".join(byte_parts))


SECRETS = SecretMask()
"""The process-wide registry every writer masks with (each xdist worker has its own)."""


def register_secret(*values: str) -> None:
    """Mask ``values`` in everything this process writes from now on."""
    SECRETS.add(*values)


def inventory_secrets(nodes: Iterable[Node]) -> tuple[str, ...]:
    """The nodes' secret values, read from the environment: the variables their auth names
    (password, key passphrase) and those of labels given as ``!env VAR`` (``Node.secret_env``).

    Unset variables are skipped: the transport reports them when it needs them.
    """
    names = {
        name
        for node in nodes
        for name in (node.auth.password_env, node.auth.passphrase_env, *node.secret_env)
        if name
    }
    return tuple(sorted(value for name in names if (value := os.environ.get(name))))

"""Name ranges: ``kt-rbln-[01:16]`` stands for kt-rbln-01 … kt-rbln-16.

One ``[first:last]`` per string, both bounds inclusive; numbers are zero-padded to the
width of ``first`` when it starts with 0 (``[01:16]`` → 01…16, ``[1:16]`` → 1…16).

::

    expand("192.0.2.[11:13]")    # ['192.0.2.11', '192.0.2.12', '192.0.2.13']
    expand("bastion")            # ['bastion']
"""

from __future__ import annotations

import re

from lab.errors import LabError

RANGE = re.compile(r"\[([0-9]+):([0-9]+)\]")
MAX_RANGE = 10_000


class RangeError(LabError):
    """A malformed ``[first:last]`` range; the message says what is wrong."""


def has_range(text: str) -> bool:
    return RANGE.search(text) is not None


def expand(text: str) -> list[str]:
    """Every string ``text`` stands for (itself when it has no range)."""
    if "[" not in text:  # the common case, checked without a regex
        return [text]
    matches = list(RANGE.finditer(text))
    if not matches:
        return [text]
    if len(matches) > 1:
        raise RangeError(f"only one [first:last] range is allowed, found {len(matches)} in {text!r}")
    match = matches[0]
    first_text, last_text = match.group(1), match.group(2)
    first, last = int(first_text), int(last_text)
    if first > last:
        raise RangeError(f"range [{first_text}:{last_text}] counts down; write the smaller number first")
    if last - first + 1 > MAX_RANGE:
        raise RangeError(f"range [{first_text}:{last_text}] has more than {MAX_RANGE} entries")
    width = len(first_text) if first_text.startswith("0") and len(first_text) > 1 else 0
    head, tail = text[: match.start()], text[match.end() :]
    return [f"{head}{number:0{width}d}{tail}" for number in range(first, last + 1)]

"""Inheritance of node settings: defaults → site → rack → groups (in the node's order) → node.

Merge rule, applied level by level (a later level wins):

* mappings (``labels``, ``expected``, ``emulation``, ``timeouts``) merge key by key,
  recursively;
* scalars and lists are replaced by the later level (``accelerators``, ``host_key``,
  ``emulation.faults``);
* two exceptions: ``tags`` accumulate (the union of every level), and ``auth`` is
  replaced as a whole because its keys are alternatives (key_file vs agent vs password).

Values keep the position where they were written, so a mistake inherited from a group
is reported at the group's line.

::

    merged = merge_levels([defaults, group_vars, node_fields])   # Y mappings (None = level absent)
"""

from __future__ import annotations

from collections.abc import Iterable

from lab.inventory.yamlsource import Y

ACCUMULATE = frozenset({"tags"})
REPLACE_WHOLE = frozenset({"auth"})


def merge_levels(levels: Iterable[Y | None]) -> dict[str, Y]:
    """The node's settings after inheritance; each level is a checked mapping or None."""
    result: dict[str, Y] = {}
    for level in levels:
        if level is None or not isinstance(level.value, dict):
            continue
        for key, value in level.value.items():
            earlier = result.get(key)
            if earlier is None or key in REPLACE_WHOLE:
                result[key] = value
            elif key in ACCUMULATE and isinstance(earlier.value, list) and isinstance(value.value, list):
                result[key] = Y(earlier.value + value.value, value.line, value.column)
            else:
                result[key] = merge_values(earlier, value)
    return result


def merge_values(earlier: Y, later: Y) -> Y:
    """``later`` over ``earlier``: mappings merge key by key, anything else is replaced."""
    if not (isinstance(earlier.value, dict) and isinstance(later.value, dict)):
        return later
    merged = dict(earlier.value)
    keys = dict(earlier.keys or {})
    for key, value in later.value.items():
        previous = merged.get(key)
        merged[key] = merge_values(previous, value) if previous is not None else value
        if later.keys and key in later.keys:
            keys[key] = later.keys[key]
    return Y(merged, later.line, later.column, keys=keys)

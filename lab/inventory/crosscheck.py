"""Rules across nodes: unique names, unique address:port, jump hosts that exist and do not loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lab.inventory.drafts import NodeDraft
from lab.inventory.yamlsource import Problems, Y, did_you_mean, join_path


def _where(draft: NodeDraft, y: Y) -> str:
    return f"{draft.file}:{y.line}"


def check_unique_names(drafts: Sequence[NodeDraft], problems: Problems) -> dict[str, NodeDraft]:
    """Report every node name used twice; returns the first draft of each name."""
    first: dict[str, NodeDraft] = {}
    for draft in drafts:
        earlier = first.get(draft.name)
        if earlier is None:
            first[draft.name] = draft
            continue
        y = draft.name_y
        message = f"duplicate node name '{draft.name}' (first defined at {_where(earlier, earlier.name_y)})"
        problems.add(draft.file, y.line, y.column, draft.path, message)
    return first


def check_unique_addresses(drafts: Sequence[NodeDraft], problems: Problems) -> None:
    """Two nodes may not share address:port. Emulated nodes left to the launcher are exempt."""
    seen: dict[tuple[str, int], NodeDraft] = {}
    for draft in drafts:
        settings = draft.settings
        emulated = settings.get("emulated") is not None and settings["emulated"].value is True
        if emulated and not (draft.address_written and draft.port_written):
            continue
        address_y = settings.get("address")
        if address_y is None or not isinstance(address_y.value, str):
            continue
        port_y = settings.get("port")
        port = port_y.value if port_y is not None and isinstance(port_y.value, int) else 22
        key = (address_y.value.lower(), port)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = draft
            continue
        earlier_y = earlier.settings["address"]
        message = (
            f"address {address_y.value}:{port} is also used by node '{earlier.name}' "
            f"({_where(earlier, earlier_y)})"
        )
        problems.add(draft.file, address_y.line, address_y.column, join_path(draft.path, "address"), message)


def check_jumps(drafts: Mapping[str, NodeDraft], problems: Problems) -> None:
    """Jump hosts must be other inventory nodes, and following them must never come back."""
    targets: dict[str, str] = {}
    for name, draft in drafts.items():
        jump_y = draft.settings.get("jump")
        if jump_y is None or not isinstance(jump_y.value, str):
            continue
        target = jump_y.value
        path = join_path(draft.path, "jump")
        if target == name:
            problems.add(draft.file, jump_y.line, jump_y.column, path, "a node cannot be its own jump host")
        elif target not in drafts:
            hint = did_you_mean(target, drafts)
            problems.add(draft.file, jump_y.line, jump_y.column, path, f"unknown jump host '{target}'{hint}")
        else:
            targets[name] = target
    reported: set[frozenset[str]] = set()
    for start in sorted(targets):
        chain = [start]
        current = start
        while current in targets:  # bounded: each step adds a new name or stops
            current = targets[current]
            if current in chain:
                cycle = chain[chain.index(current) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    first = min(cycle)
                    ordered = cycle[cycle.index(first) :] + cycle[: cycle.index(first)]
                    draft = drafts[first]
                    jump_y = draft.settings["jump"]
                    text = " → ".join([*ordered, first])
                    problems.add(
                        draft.file,
                        jump_y.line,
                        jump_y.column,
                        join_path(draft.path, "jump"),
                        f"jump-host cycle: {text}",
                    )
                break
            chain.append(current)


def check_host_key_names(
    host_keys: Mapping[str, object], keys_y: Y, names: Mapping[str, object], file: str, problems: Problems
) -> None:
    """Every entry of a file's ``host_keys:`` section must name a node."""
    for name in host_keys:
        if name not in names:
            line, column = keys_y.key_position(name)
            hint = did_you_mean(name, names)
            problems.add(file, line, column, join_path("host_keys", name), f"unknown node '{name}'{hint}")

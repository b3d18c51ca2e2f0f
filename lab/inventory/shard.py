"""Shards: a deterministic split of the selected nodes over N controllers.

A campaign too big for one controller (hundreds of servers, a 24-hour soak, networks reachable
only from their own side) runs as N shards on the CI engine a lab already has — a GitHub
Actions matrix, GitLab ``parallel:``, a Kubernetes Indexed Job — and ``lab campaign merge``
joins the shards' run directories again. The split is by **node**, never by test: all of a
node's tests stay in one shard (its lease, its soak and its report rows stay together).

::

    spec = ShardSpec.parse("2/3")                        # 1-based, as CI engines number jobs
    spec = shard_from_env(os.environ)                    # GitLab, Kubernetes, LAB_SHARD_*, or None
    mine = shard_nodes(nodes, spec, cost=costs.get)      # the nodes of shard 2 of 3
    plan = split(nodes, 3, by=("site",))                 # all three shards, each on one site

Balance: each node has an expected cost (``default_cost``: one unit for its per-node tests
plus one per accelerator card, since most checks run per card; or the seconds its tests took in
an earlier run). Nodes go, most expensive first, to the shard with the least cost so far
(longest-processing-time first; ties by name), so shards end within one node's cost of each
other. Every controller computes the same plan from the same inventory, with no coordination.

Grouping keys (``site``, ``operator``, ``rack``): no shard mixes two groups, so a shard stays on
one network side. Shards are shared out among groups in proportion to their cost (each group
gets at least one; more groups than shards is an error), then each group is split by node.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from lab.errors import LabError
from lab.inventory.model import Node

GROUP_KEYS = ("site", "operator", "rack")
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

CostFunction = Callable[[Node], float | None]


class ShardError(LabError):
    """A malformed or impossible shard request (the message says how to fix it)."""


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """Shard ``number`` (1-based) of ``count``, split by the grouping keys ``by``.

    ``source`` says where it came from (``option``, ``LAB_SHARD``, ``gitlab``, ``kubernetes``):
    it is written into the run's manifest so a merged run shows how each shard was chosen.
    """

    number: int
    count: int
    by: tuple[str, ...] = ()
    source: str = "option"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ShardError(f"shard count must be at least 1 (got {self.count})")
        if not 1 <= self.number <= self.count:
            raise ShardError(
                f"shard {self.number}/{self.count}: the shard number runs from 1 to {self.count} "
                "(write K/N with 1 <= K <= N)"
            )
        unknown = [key for key in self.by if key not in GROUP_KEYS]
        if unknown:
            raise ShardError(
                f"unknown shard grouping key {', '.join(unknown)} (known: {', '.join(GROUP_KEYS)})"
            )

    @classmethod
    def parse(cls, text: str, *, by: Iterable[str] = (), source: str = "option") -> ShardSpec:
        """``"K/N"`` (1-based K) → ``ShardSpec``; ``ShardError`` with the expected form otherwise.

        >>> ShardSpec.parse("2/3")
        ShardSpec(number=2, count=3, by=(), source='option')
        """
        match = _SPEC.match(text)
        if match is None:
            raise ShardError(f"not a shard: {text!r} (write K/N, e.g. 2/3 for the second of three shards)")
        return cls(int(match.group(1)), int(match.group(2)), tuple(by), source)

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


def parse_keys(text: str | None) -> tuple[str, ...]:
    """``"site,operator"`` → ``("site", "operator")`` (validated when a ``ShardSpec`` is made)."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def shard_from_env(environ: Mapping[str, str], *, by: Iterable[str] = ()) -> ShardSpec | None:
    """The shard a CI engine asked for through the environment, or None when none did.

    In order: ``LAB_SHARD`` (``K/N``); ``LAB_SHARD_INDEX``/``LAB_SHARD_COUNT`` (1-based — the
    GitHub Actions example sets them from its matrix); GitLab ``parallel:``'s
    ``CI_NODE_INDEX``/``CI_NODE_TOTAL`` (1-based); a Kubernetes Indexed Job's
    ``JOB_COMPLETION_INDEX`` (0-based) with the count in ``LAB_SHARD_COUNT`` (the Job's
    ``completions``: Kubernetes does not put it in the environment).

    >>> shard_from_env({"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"})
    ShardSpec(number=3, count=4, by=(), source='gitlab')
    >>> shard_from_env({"JOB_COMPLETION_INDEX": "0", "LAB_SHARD_COUNT": "2"}).number
    1
    """
    keys = tuple(by)
    if environ.get("LAB_SHARD"):
        return ShardSpec.parse(environ["LAB_SHARD"], by=keys, source="LAB_SHARD")
    if environ.get("LAB_SHARD_INDEX"):
        count = _integer(environ, "LAB_SHARD_COUNT", "the number of shards (e.g. strategy.job-total)")
        return ShardSpec(_integer(environ, "LAB_SHARD_INDEX", ""), count, keys, "LAB_SHARD_INDEX")
    if environ.get("CI_NODE_TOTAL"):
        number = _integer(environ, "CI_NODE_INDEX", "GitLab sets it with `parallel:`")
        return ShardSpec(number, _integer(environ, "CI_NODE_TOTAL", ""), keys, "gitlab")
    if environ.get("JOB_COMPLETION_INDEX"):
        count = _integer(environ, "LAB_SHARD_COUNT", "set it to the Job's spec.completions")
        return ShardSpec(_integer(environ, "JOB_COMPLETION_INDEX", "") + 1, count, keys, "kubernetes")
    return None


def default_cost(node: Node) -> float:
    """Expected cost of a node's tests when no earlier run says better: one unit of per-node
    tests plus one per accelerator card (most checks, every LoadGen run and every soak series
    are per card)."""
    return 1.0 + node.device_count


def split(
    nodes: Sequence[Node], count: int, *, by: Iterable[str] = (), cost: CostFunction | None = None
) -> tuple[tuple[Node, ...], ...]:
    """All ``count`` shards of ``nodes`` (each in inventory order); see the module docstring.

    ``cost(node)`` returning None (a node the earlier run did not have) falls back to
    ``default_cost`` scaled to the known costs' mean, so a new node is neither free nor huge.
    """
    keys = tuple(by)
    ShardSpec(1, count, keys)  # validates count and keys
    if not nodes:
        return tuple(() for _ in range(count))
    costs = _costs(nodes, cost)
    groups: dict[tuple[str, ...], list[Node]] = {}
    for node in nodes:
        groups.setdefault(tuple(_group_value(node, key) for key in keys), []).append(node)
    if len(groups) > count:
        names = ", ".join("/".join(group) for group in sorted(groups))
        raise ShardError(
            f"{len(groups)} groups by {'+'.join(keys)} ({names}) need at least {len(groups)} shards; "
            f"got {count} (raise the count or group by fewer keys)"
        )
    ordered = sorted(groups)
    allotted = _allot(count, [sum(costs[n.name] for n in groups[key]) for key in ordered])
    shards: list[list[Node]] = []
    for key, share in zip(ordered, allotted, strict=True):
        shards.extend(_balance(groups[key], share, costs))
    position = {node.name: index for index, node in enumerate(nodes)}
    return tuple(tuple(sorted(shard, key=lambda n: position[n.name])) for shard in shards)


def shard_nodes(
    nodes: Sequence[Node], spec: ShardSpec, *, cost: CostFunction | None = None
) -> tuple[Node, ...]:
    """The nodes of shard ``spec`` (``split(...)[spec.number - 1]``)."""
    return split(nodes, spec.count, by=spec.by, cost=cost)[spec.number - 1]


def _costs(nodes: Sequence[Node], cost: CostFunction | None) -> dict[str, float]:
    given: dict[str, float] = {}
    for node in nodes:
        value = cost(node) if cost is not None else None
        if value is not None and value > 0:
            given[node.name] = value
    if not given:
        return {node.name: default_cost(node) for node in nodes}
    # unmeasured nodes: the card estimate, scaled so that it is in the measured nodes' units
    scale = sum(given.values()) / sum(default_cost(n) for n in nodes if n.name in given)
    return {node.name: given.get(node.name, default_cost(node) * scale) for node in nodes}


def _allot(count: int, loads: Sequence[float]) -> list[int]:
    """Shards per group: one each, then each spare one to the group with the most cost per shard
    (ties to the earlier group, so the plan is deterministic)."""
    shares = [1] * len(loads)
    for _ in range(count - len(loads)):
        best = max(range(len(loads)), key=lambda i: (loads[i] / shares[i], -i))
        shares[best] += 1
    return shares


def _balance(nodes: Sequence[Node], count: int, costs: Mapping[str, float]) -> list[list[Node]]:
    shards: list[list[Node]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for node in sorted(nodes, key=lambda n: (-costs[n.name], n.name)):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        shards[lightest].append(node)
        loads[lightest] += costs[node.name]
    return shards


def _group_value(node: Node, key: str) -> str:
    value: str | None = getattr(node, key)
    return value if value is not None else "-"


def _integer(environ: Mapping[str, str], name: str, hint: str) -> int:
    text = environ.get(name)
    if text is None or not text.strip().lstrip("-").isdigit():
        shown = "unset" if text is None else repr(text)
        raise ShardError(f"${name} is {shown}: an integer is needed{f' ({hint})' if hint else ''}")
    return int(text)

"""Shards: deterministic, by node, balanced by cost, grouped by site/operator/rack, read from CI."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from lab.inventory import load_inventory
from lab.inventory.model import AcceleratorSpec, Inventory, Node
from lab.inventory.shard import ShardError, ShardSpec, default_cost, shard_from_env, shard_nodes, split
from tests.inventory.conftest import REPO


@pytest.fixture(scope="module")
def gwangju() -> Inventory:
    return load_inventory(REPO / "inventory" / "gwangju.yaml")


def _names(shards: tuple[tuple[Node, ...], ...]) -> list[list[str]]:
    return [[node.name for node in shard] for shard in shards]


def test_every_node_in_exactly_one_shard_and_the_same_plan_every_time(gwangju: Inventory) -> None:
    for count in (1, 2, 3, 7):
        plan = split(gwangju.nodes, count)
        assert len(plan) == count
        flat = [node.name for shard in plan for node in shard]
        assert sorted(flat) == sorted(node.name for node in gwangju.nodes)
        assert _names(plan) == _names(split(gwangju.nodes, count))
        # which node goes where does not depend on the order nodes are listed in
        reordered = split(tuple(reversed(gwangju.nodes)), count)
        assert [sorted(shard) for shard in _names(plan)] == [sorted(shard) for shard in _names(reordered)]


def test_shards_are_balanced_by_cost_within_one_node(gwangju: Inventory) -> None:
    for count in (2, 3, 4):
        loads = [sum(default_cost(node) for node in shard) for shard in split(gwangju.nodes, count)]
        biggest_node = max(default_cost(node) for node in gwangju.nodes)
        assert max(loads) - min(loads) <= biggest_node


def test_balance_follows_the_given_costs_not_the_node_count(gwangju: Inventory) -> None:
    nodes = gwangju.nodes[:6]
    heavy = nodes[0].name
    plan = split(nodes, 2, cost=lambda node: 100.0 if node.name == heavy else 1.0)
    # one very expensive node gets a shard of its own; the five cheap ones share the other
    assert sorted(len(shard) for shard in plan) == [1, 5]
    assert [heavy] in _names(plan)


def test_a_node_unknown_to_the_costs_gets_a_scaled_default(gwangju: Inventory) -> None:
    nodes = gwangju.nodes[:4]
    known = {nodes[0].name: 1000.0, nodes[1].name: 1000.0}
    plan = split(nodes, 2, cost=lambda node: known.get(node.name))
    # the two measured nodes cost ~1000 each; the unmeasured ones are scaled to that, not free
    assert all(len(shard) == 2 for shard in plan)


def test_grouping_keeps_each_shard_on_one_site(gwangju: Inventory) -> None:
    sites = {node.site for node in gwangju.nodes}
    plan = split(gwangju.nodes, 5, by=("site",))
    for shard in plan:
        assert len({node.site for node in shard}) == 1
    assert {node.site for shard in plan for node in shard} == sites
    with pytest.raises(ShardError, match=r"3 groups by site .* need at least 3 shards; got 2"):
        split(gwangju.nodes, 2, by=("site",))


def test_grouping_shares_shards_out_by_cost() -> None:
    base = Node(
        name="x", address="192.0.2.1", port=22, user="lab", auth=None, host_key=None,  # type: ignore[arg-type]
        operator="kt-cloud", site="big", rack=None, groups=(), accelerators=(AcceleratorSpec("rngd", 8),),
        expected=None, tags=frozenset(), labels={}, emulated=False,  # type: ignore[arg-type]
    )  # fmt: skip
    big = [dataclasses.replace(base, name=f"big-{i:02d}") for i in range(9)]
    small = [dataclasses.replace(base, name=f"small-{i}", site="small") for i in range(1)]
    plan = split([*big, *small], 4, by=("site",))
    assert [len(shard) for shard in plan] == [3, 3, 3, 1]  # "big" (sorted first) gets three shards


def test_spec_parsing_and_clear_errors() -> None:
    assert ShardSpec.parse(" 2 / 3 ") == ShardSpec(2, 3)
    assert str(ShardSpec(1, 4)) == "1/4"
    with pytest.raises(ShardError, match=r"not a shard: '2of3' \(write K/N"):
        ShardSpec.parse("2of3")
    with pytest.raises(ShardError, match=r"shard 0/3: the shard number runs from 1 to 3"):
        ShardSpec.parse("0/3")
    with pytest.raises(ShardError, match=r"shard 4/3"):
        ShardSpec.parse("4/3")
    with pytest.raises(
        ShardError, match=r"unknown shard grouping key vendor \(known: site, operator, rack\)"
    ):
        ShardSpec.parse("1/2", by=("vendor",))


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"LAB_SHARD": "2/5"}, ShardSpec(2, 5, source="LAB_SHARD")),
        ({"LAB_SHARD_INDEX": "3", "LAB_SHARD_COUNT": "3"}, ShardSpec(3, 3, source="LAB_SHARD_INDEX")),
        ({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "4"}, ShardSpec(1, 4, source="gitlab")),
        ({"JOB_COMPLETION_INDEX": "0", "LAB_SHARD_COUNT": "3"}, ShardSpec(1, 3, source="kubernetes")),
        ({"JOB_COMPLETION_INDEX": "2", "LAB_SHARD_COUNT": "3"}, ShardSpec(3, 3, source="kubernetes")),
        # an explicit LAB_SHARD wins over what the engine sets
        (
            {"LAB_SHARD": "1/2", "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "2"},
            ShardSpec(1, 2, source="LAB_SHARD"),
        ),
    ],
)
def test_shard_from_the_ci_environment(environ: dict[str, str], expected: ShardSpec | None) -> None:
    assert shard_from_env(environ) == expected


def test_ci_environment_errors_say_what_to_set() -> None:
    with pytest.raises(ShardError, match=r"\$LAB_SHARD_COUNT is unset: .*spec.completions"):
        shard_from_env({"JOB_COMPLETION_INDEX": "1"})
    with pytest.raises(ShardError, match=r"\$CI_NODE_INDEX is 'x'"):
        shard_from_env({"CI_NODE_INDEX": "x", "CI_NODE_TOTAL": "2"})
    with pytest.raises(ShardError, match=r"shard 4/3"):
        shard_from_env({"JOB_COMPLETION_INDEX": "3", "LAB_SHARD_COUNT": "3"})


def test_shard_nodes_is_one_slice_of_the_plan(gwangju: Inventory) -> None:
    plan = split(gwangju.nodes, 3, by=("operator",))
    for number in (1, 2, 3):
        assert shard_nodes(gwangju.nodes, ShardSpec(number, 3, ("operator",))) == plan[number - 1]
    # all pairs of shards are disjoint
    for first, second in itertools.combinations(plan, 2):
        assert not {n.name for n in first} & {n.name for n in second}


def test_no_nodes_gives_empty_shards_and_more_shards_than_nodes_leaves_some_empty(gwangju: Inventory) -> None:
    assert split((), 3) == ((), (), ())
    assert split((), 2, by=("site",)) == ((), ())
    plan = split(gwangju.nodes[:2], 4)
    assert sorted(len(shard) for shard in plan) == [0, 0, 1, 1]

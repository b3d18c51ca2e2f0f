"""Node selection expressions: every key, the operators, precedence and located errors."""

from __future__ import annotations

import pytest

from lab.inventory import SelectionError, load_inventory, select_nodes
from lab.inventory.model import Inventory
from tests.inventory.conftest import REPO


@pytest.fixture(scope="module")
def gwangju() -> Inventory:
    return load_inventory(REPO / "inventory" / "gwangju.yaml")


def names(inventory: Inventory, expression: str) -> list[str]:
    return [node.name for node in select_nodes(inventory, expression)]


def test_keys(gwangju: Inventory) -> None:
    assert names(gwangju, "vendor=rebellions and operator=kt-cloud") == [f"kt-rbln-0{i}" for i in range(1, 5)]
    assert names(gwangju, "model=atom-max") == ["nhn-atommax-01", "nhn-atommax-02"]
    assert names(gwangju, "name=naver-*") == [
        "naver-bastion",
        "naver-rngd-01",
        "naver-warboy-01",
        "naver-warboy-02",
        "naver-ref-01",
        "naver-ref-02",
    ]
    assert names(gwangju, "site=gwangju-nhn and rack=nhn-r03 and group=furiosa-rngd") == ["nhn-rngd-01"]
    assert names(gwangju, "tag=bastion") == ["kt-bastion", "nhn-bastion", "naver-bastion"]
    assert names(gwangju, "label.rack_unit=30") == ["nhn-ref-01"]
    assert names(gwangju, "emulated=true") == []
    assert len(names(gwangju, "emulated=false")) == len(gwangju.nodes)


def test_operators_and_precedence(gwangju: Inventory) -> None:
    # not > and > or: "a or b and c" is "a or (b and c)"
    assert names(gwangju, "kt-bastion or vendor=nvidia and operator=naver-cloud") == [
        "kt-bastion",
        "naver-ref-01",
        "naver-ref-02",
    ]
    assert names(gwangju, "(kt-bastion or vendor=nvidia) and operator=naver-cloud") == [
        "naver-ref-01",
        "naver-ref-02",
    ]
    assert names(gwangju, "vendor=nvidia and not operator=nhn-cloud and model!=t4") == [
        "kt-ref-01",
        "naver-ref-01",
    ]
    assert names(gwangju, "NOT tag=npu AND NOT tag=reference") == [
        "kt-bastion",
        "nhn-bastion",
        "naver-bastion",
    ]
    # a bare word is a tag or a name glob; quoted values may hold spaces
    assert names(gwangju, "reference and kt-*") == ["kt-ref-01"]
    assert names(gwangju, "label.datacenter='gwangju-ai-cluster' and nhn-x220-0[12]") == [
        "nhn-x220-01",
        "nhn-x220-02",
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "selection: empty expression at position 1\n  \n  ^"),
        (
            "vendor=rebellions and (operator=kt-cloud",
            "selection: expected ')', found 'the end' at position 41\n"
            "  vendor=rebellions and (operator=kt-cloud\n"
            "                                          ^",
        ),
        (
            "vendro=rngd",
            "selection: unknown key 'vendro' (did you mean 'vendor'?); keys: name, vendor, model, operator, "
            "site, rack, group, tag, emulated, label.X at position 1\n  vendro=rngd\n  ^",
        ),
        (
            "tag=npu and",
            "selection: expected a term such as key=value, a word or '(', found 'the end' at position 12\n"
            "  tag=npu and\n             ^",
        ),
        (
            "emulated=maybe",
            "selection: emulated takes true or false, not 'maybe' at position 10\n"
            "  emulated=maybe\n           ^",
        ),
        (
            "tag=npu tag=x",
            "selection: expected 'and', 'or' or the end, found 'tag' at position 9\n"
            "  tag=npu tag=x\n          ^",
        ),
        (
            "name='open",
            'selection: unexpected character "\'" (an unclosed quote?) at position 6\n'
            "  name='open\n       ^",
        ),
        ("tag=", "selection: expected a value after tag= at position 5\n  tag=\n      ^"),
    ],
)
def test_malformed_expressions_name_the_position(gwangju: Inventory, expression: str, message: str) -> None:
    with pytest.raises(SelectionError) as caught:
        select_nodes(gwangju, expression)
    assert str(caught.value) == message

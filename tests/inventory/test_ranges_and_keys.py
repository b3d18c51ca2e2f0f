"""Small pieces: name ranges and host-key line parsing."""

from __future__ import annotations

import pytest

from lab.inventory.hostkeys import host_key_problem, split_key_lines
from lab.inventory.ranges import RangeError, expand
from tests.inventory.conftest import KEY_A


def test_expand_pads_to_the_width_of_the_first_number() -> None:
    assert expand("kt-[08:10]") == ["kt-08", "kt-09", "kt-10"]
    assert expand("n[9:11]x") == ["n9x", "n10x", "n11x"]
    assert expand("plain") == ["plain"]
    assert expand("10.0.0.[001:002]") == ["10.0.0.001", "10.0.0.002"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a-[3:1]", "range [3:1] counts down; write the smaller number first"),
        ("a-[1:2]-[1:2]", "only one [first:last] range is allowed, found 2 in 'a-[1:2]-[1:2]'"),
        ("a-[0:10000]", "range [0:10000] has more than 10000 entries"),
    ],
)
def test_expand_refuses_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(RangeError) as caught:
        expand(text)
    assert str(caught.value) == message


def test_host_key_lines() -> None:
    assert host_key_problem(KEY_A) is None
    assert host_key_problem(KEY_A + " lab@host") is None
    assert host_key_problem("ssh-rsa " + KEY_A.split()[1]) == "the key data does not parse as ssh-rsa"
    assert host_key_problem("AAAA") == "expected an OpenSSH public key line: '<type> <base64 data> [comment]'"
    assert split_key_lines(f"# pinned 2025-01\n{KEY_A}\n\n  {KEY_A} x  \n") == [KEY_A, f"{KEY_A} x"]

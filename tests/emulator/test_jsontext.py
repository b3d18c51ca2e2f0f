"""``lab.emulator.jsontext`` writes and reads what ``json`` does; the tools stay off heavy imports."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import pytest

from lab.emulator import jsontext
from lab.emulator.testbed.nodes import TOOLS, lab_source_root

SCALARS: list[object] = [
    None,
    True,
    False,
    0,
    -7,
    10**20,
    1.5,
    -0.0,
    1e-9,
    3.14159,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "abc",
    '°C é\n"\\ 한국',
    "\x00\x1f",
]
OPTIONS: list[dict[str, object]] = [
    {},
    {"indent": 2},
    {"indent": 2, "ensure_ascii": False},
    {"sort_keys": True},
    {"indent": 4, "sort_keys": True},
    {"separators": (",", ":")},
    {"indent": 2, "separators": (", ", ": ")},
]


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice(SCALARS)
    if roll < 0.6:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.7:
        return tuple(_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    keys = ["a", "b", "온도", "x y", "z"]
    size = rng.randint(0, 4)
    return {f"{rng.choice(keys)}{rng.randint(0, 3)}": _value(rng, depth + 1) for _ in range(size)}


def test_dumps_matches_json_byte_for_byte() -> None:
    rng = random.Random(7)
    for _ in range(500):
        value = _value(rng)
        for options in OPTIONS:
            assert jsontext.dumps(value, **options) == json.dumps(value, **options)  # type: ignore[arg-type]


def test_non_string_keys_are_converted_as_json_converts_them() -> None:
    value = {7: "a", 2.5: "b", True: "c", None: "d", math.nan: "e"}
    assert jsontext.dumps(value, indent=2) == json.dumps(value, indent=2)
    assert jsontext.dumps({10: 1, 9: 2}, indent=1, sort_keys=True) == json.dumps(
        {10: 1, 9: 2}, indent=1, sort_keys=True
    )


def test_loads_reads_what_json_reads() -> None:
    rng = random.Random(11)
    for _ in range(300):
        text = json.dumps(_value(rng), indent=rng.choice([None, 2]))
        # repr compares NaN with NaN and keeps -0.0 apart from 0.0
        assert repr(jsontext.loads(f" \n{text}\t\r\n")) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["", "  ", "{broken", "[1,]", "1 2", '{"a" 1}', "nul", "[1] x"])
def test_loads_refuses_malformed_text_with_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        jsontext.loads(text)


def test_unserializable_values_are_refused() -> None:
    for options in ({}, {"indent": 2}):
        with pytest.raises(TypeError, match="not JSON serializable"):
            jsontext.dumps({"a": [object()]}, **options)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys must be"):
        jsontext.dumps({(1, 2): 3}, indent=2)


def test_a_tool_process_imports_no_heavy_module() -> None:
    """Each emulated tool call is a new process: these imports would cost ~25 ms of CPU on every call."""
    heavy = ["json", "re", "enum", "typing", "collections", "contextlib", "functools", "runpy", "dataclasses"]
    telemetry = [module for module in TOOLS.values() if module != "npu_workload"]
    program = (
        "import sys\n"
        f"for module in {telemetry!r}: __import__('lab.emulator.tools.' + module)\n"
        f"print(' '.join(name for name in {heavy!r} if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", program],
        env={"PYTHONPATH": lab_source_root()},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == []

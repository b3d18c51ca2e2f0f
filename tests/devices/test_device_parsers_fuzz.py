"""Mutated tool outputs: a parser either returns a valid parse or raises ToolOutputError.

Starting from the real captures (and the emulator-shaped JSON samples), hypothesis deletes,
duplicates and garbles characters, drops/duplicates/swaps lines, drops JSON keys and swaps
JSON value types. Nothing but ``ToolOutputError`` may escape, and never the guard's
"adapter bug" fallback (that would mean a KeyError/IndexError/ValueError slipped through).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from device_captures import CAPTURED_NVIDIA_FIELDS, capture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.devices.furiosa import (
    FuriosaStatus,
    FuriosaTopology,
    parse_furiosa_smi_json,
    parse_furiosa_smi_ps,
    parse_furiosa_smi_status,
    parse_furiosa_smi_table,
    parse_furiosa_smi_topo,
    parse_furiosactl_table,
)
from lab.devices.model import DeviceProcess, DeviceReport
from lab.devices.nvidia import parse_help_query_gpu, parse_query_gpu
from lab.devices.rebellions import parse_rbln_smi_json, parse_rbln_smi_table
from lab.devices.sapeon import parse_sapeon_smi_json
from lab.errors import ToolOutputError

FURIOSA_JSON = json.dumps(
    [
        {
            "arch": "rngd",
            "dev_name": "npu0",
            "device_uuid": "A4C0E1D2-0000-4000-8000-000000000000",
            "device_sn": "RNGDS0001",
            "firmware": "0.0.15+af1daaa",
            "pert": "0.0.15",
            "temperature": "30.18°C",
            "power": "53.00 W",
            "pci_bdf": "0000:17:00.0",
            "pci_dev": "511:0",
            "liveness": "alive",
            "throttled": False,
            "pcie_link": "Gen5 x16",
            "error_info": {"pcie_post_error": 0, "ecc_correctable_error": 0, "device_error": 0},
        }
    ],
    indent=2,
)
SAPEON_JSON = json.dumps(
    {
        "synthetic": True,
        "tool": "sapeon-smi",
        "devices": [
            {
                "index": 0,
                "name": "X220",
                "uuid": "u",
                "serial": "SPN1",
                "bus_id": "0000:17:00.0",
                "firmware": "1.0.0-synthetic",
                "driver": "1.0.0-synthetic",
                "temperature_c": 41.5,
                "power_w": 60.1,
                "utilization_pct": 12.0,
                "memory_used_bytes": 1,
                "memory_total_bytes": 2,
                "clock_mhz": 1000,
                "pcie_link_gen": 4,
                "pcie_link_width": 16,
                "throttled": False,
                "alive": True,
                "ecc_correctable": 0,
                "ecc_uncorrectable": 0,
                "synthetic_figures": ["tdp_watts"],
            }
        ],
    },
    indent=2,
)
FURIOSA_PS = (
    "+------+--------+------------------+\n"
    "| NPU  | PID    | CMD              |\n"
    "+------+--------+------------------+\n"
    "| npu0 | 132529 | python3 serve.py |\n"
    "+------+--------+------------------+\n"
)

FURIOSA_STATUS = (
    "+------+--------+----------+----------------+------------------+----------------------+\n"
    "| Arch | Device | Liveness | Cores          | Core Utilization | DRAM Used / Total    |\n"
    "+------+--------+----------+----------------+------------------+----------------------+\n"
    "| rngd | npu0   | alive    | 0-7 (occupied) | 97.0%            | 9.60 GiB / 48.00 GiB |\n"
    "+------+--------+----------+----------------+------------------+----------------------+\n"
)

Parser = Callable[[str], tuple[object, ...]]

TEXT_CASES: dict[str, tuple[Parser, str]] = {
    "furiosa-smi table": (parse_furiosa_smi_table, capture("furiosa_smi_info_rngd.txt")),
    "furiosactl table": (parse_furiosactl_table, capture("furiosactl_info_warboy.txt")),
    "furiosa-smi ps": (parse_furiosa_smi_ps, FURIOSA_PS),
    "furiosa-smi status": (lambda text: tuple(parse_furiosa_smi_status(text).values()), FURIOSA_STATUS),
    "rbln-smi table": (parse_rbln_smi_table, capture("rbln_smi_table_ca12.txt")),
    "nvidia-smi csv": (
        lambda text: parse_query_gpu(text, CAPTURED_NVIDIA_FIELDS),
        capture("nvidia_smi_query_gpu_h100.csv"),
    ),
    "rbln-smi json": (parse_rbln_smi_json, capture("rbln_smi_ca22.json")),
    "furiosa-smi json": (parse_furiosa_smi_json, FURIOSA_JSON),
    "sapeon-smi json": (parse_sapeon_smi_json, SAPEON_JSON),
    # captures by release (captures/README.md); [:1] keeps the one-result shape, all is parsed
    "furiosa-smi info stable": (
        lambda text: parse_furiosa_smi_table(text)[:1],
        capture("furiosa_smi_info_rngd_stable.txt"),
    ),
    "furiosa-smi info 2025.1": (parse_furiosa_smi_table, capture("furiosa_smi_info_rngd_2025_1.txt")),
    "furiosa-smi status 2024.2": (
        lambda text: tuple(parse_furiosa_smi_status(text).values())[:1],
        capture("furiosa_smi_status_rngd_2024_2.txt"),
    ),
    "furiosa-smi ps 2024.2": (
        lambda text: parse_furiosa_smi_ps(text)[:1],
        capture("furiosa_smi_ps_2024_2.txt"),
    ),
    "furiosa-smi topo": (
        lambda text: (parse_furiosa_smi_topo(text),),
        capture("furiosa_smi_topo_2024_1.txt"),
    ),
    "furiosactl sdk 0.5": (parse_furiosactl_table, capture("furiosactl_info_warboy_sdk_0_5.txt")),
    "rbln-smi table cr13": (
        lambda text: parse_rbln_smi_table(text)[:1],
        capture("rbln_smi_table_cr13_v0_12.txt"),
    ),
    "rbln-stat table legacy": (
        lambda text: parse_rbln_smi_table(text)[:1],
        capture("rbln_stat_table_ca12_legacy.txt"),
    ),
    "nvidia-smi help": (
        lambda text: (parse_help_query_gpu(text),),
        capture("nvidia_smi_help_query_gpu_535.txt"),
    ),
}
JSON_CASES = {name: case for name, case in TEXT_CASES.items() if name.endswith("json")}

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- mutations of text ------------------------------------------------------------------

interesting_text = st.sampled_from(
    [
        "",
        " ",
        "|",
        "+",
        "-",
        ",",
        "\n",
        ":",
        ".",
        "0",
        "9",
        "°",
        "C",
        "W",
        "uW",
        "GiB",
        "[N/A]",
        "NaN",
        "1e9",
        "-1",
        '"',
        "{",
        "}",
        "[",
        "]",
        "null",
        "x16",
        "GT/s",
        "\x00",
        "\ufeff",
    ]
)


@st.composite
def mutated_text(draw: st.DrawFn, original: str) -> str:
    text = original
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines(keepends=True)
        operation = draw(
            st.sampled_from(
                [
                    "delete",
                    "duplicate",
                    "replace",
                    "insert",
                    "drop-line",
                    "duplicate-line",
                    "swap-lines",
                    "truncate",
                ]
            )
        )
        if operation in ("drop-line", "duplicate-line", "swap-lines") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if operation == "drop-line":
                del lines[i]
            elif operation == "duplicate-line":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
            continue
        if not text:
            text = draw(interesting_text)
            continue
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start, min(len(text), start + 12)))
        if operation == "delete":
            text = text[:start] + text[end:]
        elif operation == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        elif operation == "replace":
            text = text[:start] + draw(st.one_of(interesting_text, st.text(max_size=3))) + text[end:]
        elif operation == "insert":
            text = text[:start] + draw(st.one_of(interesting_text, st.text(max_size=5))) + text[start:]
        else:
            text = text[:start]
    return text


# --- mutations of JSON structure ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**12) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_json(draw: st.DrawFn, original: str) -> str:
    document = json.loads(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = [path for path in _paths(document) if path]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]  # drop a key
        else:
            parent[path[-1]] = draw(json_values)  # swap the type / value
    return json.dumps(document)


# --- the property ---------------------------------------------------------------------------


def _check_outcome(parser: Parser, text: str) -> None:
    try:
        result = parser(text)
    except ToolOutputError as error:
        assert "adapter bug" not in str(error), str(error)
        assert error.raw == text
        return
    assert isinstance(result, tuple)
    for item in result:
        assert isinstance(item, (DeviceReport, DeviceProcess, FuriosaStatus, FuriosaTopology, frozenset))
        if isinstance(item, DeviceReport):
            telemetry = item.telemetry
            for number in (
                telemetry.temperature_celsius,
                telemetry.power_watts,
                telemetry.utilization_percent,
            ):
                assert number is None or math.isfinite(number)
            assert item.identity.index >= 0


@pytest.mark.parametrize("name", sorted(TEXT_CASES))
def test_original_outputs_parse(name: str) -> None:
    parser, text = TEXT_CASES[name]
    assert len(parser(text)) == 1


@pytest.mark.parametrize("name", sorted(TEXT_CASES))
@FUZZ
@given(data=st.data())
def test_mutated_text_gives_a_parse_or_tool_output_error(name: str, data: st.DataObject) -> None:
    parser, original = TEXT_CASES[name]
    _check_outcome(parser, data.draw(mutated_text(original)))


@pytest.mark.parametrize("name", sorted(JSON_CASES))
@FUZZ
@given(data=st.data())
def test_mutated_json_gives_a_parse_or_tool_output_error(name: str, data: st.DataObject) -> None:
    parser, original = JSON_CASES[name]
    _check_outcome(parser, data.draw(mutated_json(original)))

"""The box-table reader shared by furiosa-smi, furiosactl and rbln-smi tables."""

from __future__ import annotations

import pytest
from device_captures import capture

from lab.devices.parsing import JsonObject, parse_box_tables
from lab.devices.units import BadValue

TWO_ROWS_WITH_RULES = """\
+------+--------+----------------+---------+---------+--------------+
| Arch | Device | Firmware       | Temp.   | Power   | PCI-BDF      |
+------+--------+----------------+---------+---------+--------------+
| rngd | npu0   | 0.0.15+af1daaa | 30.18°C | 53.00 W | 0000:17:00.0 |
+------+--------+----------------+---------+---------+--------------+
| rngd | npu1   | 0.0.15+af1daaa | 31.02°C | 54.00 W | 0000:2a:00.0 |
+------+--------+----------------+---------+---------+--------------+
| rngd | npu2   | 0.0.15+af1daaa | 29.90°C | 52.00 W | 0000:3d:00.0 |
+------+--------+----------------+---------+---------+--------------+
"""


def test_captured_table_header_and_row() -> None:
    [table] = parse_box_tables(capture("furiosa_smi_info_rngd.txt"))
    assert table.title is None
    assert table.header == ("Arch", "Device", "Firmware", "Temp.", "Power", "PCI-BDF")
    assert table.rows == (("rngd", "npu0", "0.0.15+af1daaa", "30.18°C", "53.00 W", "0000:17:00.0"),)


def test_rules_between_rows_do_not_split_the_table() -> None:
    [table] = parse_box_tables(TWO_ROWS_WITH_RULES)
    assert [row[1] for row in table.rows] == ["npu0", "npu1", "npu2"]


def test_titled_tables_follow_each_other() -> None:
    text = capture("rbln_smi_table_ca12.txt") + (
        "+----------------------------------+\n"
        "|       Context Information        |\n"
        "+-----+-----+-----+\n"
        "| NPU | PID | CTX |\n"
        "+=====+=====+=====+\n"
        "| 0   | 42  | 7   |\n"
        "+-----+-----+-----+\n"
    )
    device, context = parse_box_tables(text)
    assert device.title == "Device Information KMD ver: N/A"
    assert device.rows[0][1] == "RBLN-CA12"
    assert context.title == "Context Information"
    assert context.header == ("NPU", "PID", "CTX")
    assert context.rows == (("0", "42", "7"),)


def test_title_box_with_nothing_under_it_is_a_message_table() -> None:
    tables = parse_box_tables("+-------------------+\n| No devices found  |\n+-------------------+\n")
    assert len(tables) == 1
    assert tables[0].title == "No devices found"
    assert tables[0].header == ()


@pytest.mark.parametrize(
    "text",
    [
        "| a | b |\n+---+---+\n",  # no top rule
        "+---+---+\n| a | b |\n+---+---+\n| 1 |\n+---+---+\n",  # short row
        "+---+---+\n| a | b |\n+---+---+\n| 1 | 2 |\n",  # no closing rule
        "+---+---+\n| a | a |\n+---+---+\n+---+---+\n",  # repeated header
        "Error: driver not loaded\n",  # free text
        "+---+---+\n| a | b |\n+---+---+\n| 1 | 2 |\n+---+---+\nwarning: trailing text\n",
    ],
)
def test_malformed_tables_raise_bad_value(text: str) -> None:
    with pytest.raises(BadValue):
        parse_box_tables(text)


def test_records_check_the_exact_header() -> None:
    [table] = parse_box_tables(capture("furiosa_smi_info_rngd.txt"))
    with pytest.raises(BadValue, match="differs from the expected"):
        table.records(("Arch", "Device"))


def test_json_accessors_are_typed() -> None:
    item = JsonObject.parse('{"npu": "0", "flag": true, "name": 3, "list": {}}', "doc")
    assert item.integer("npu") == 0
    assert item.boolean("flag") is True
    with pytest.raises(BadValue, match=r"doc\.name: expected a string"):
        item.text("name")
    with pytest.raises(BadValue, match="key 'missing' missing"):
        item.text("missing")
    with pytest.raises(BadValue, match="expected a list"):
        item.array("list")
    with pytest.raises(BadValue, match="expected an integer"):
        item.integer("flag")


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '{"a": NaN}', "null"])
def test_json_documents_that_are_not_objects_raise_bad_value(text: str) -> None:
    with pytest.raises(BadValue):
        JsonObject.parse(text, "doc")

"""Unit parsing: every unit a vendor tool prints, and the texts that must be refused."""

from __future__ import annotations

import pytest

from lab.devices.units import (
    BadValue,
    index_from_device_name,
    normalize_bdf,
    parse_bytes,
    parse_clock_mhz,
    parse_int,
    parse_number,
    parse_percent,
    parse_power_watts,
    parse_temperature_celsius,
    pcie_generation_from_speed,
)


@pytest.mark.parametrize(
    ("text", "celsius"),
    [("29C", 29.0), ("30.18°C", 30.18), (" 54°C", 54.0), ("38 C", 38.0), ("-5C", -5.0), ("41℃", 41.0)],
)
def test_temperature_units(text: str, celsius: float) -> None:
    assert parse_temperature_celsius(text) == pytest.approx(celsius)


def test_temperature_bare_number_needs_a_default_unit() -> None:
    with pytest.raises(BadValue, match="unit missing"):
        parse_temperature_celsius("34")
    assert parse_temperature_celsius("34", default_unit="C") == 34.0


@pytest.mark.parametrize(
    ("text", "watts"),
    [
        ("18109794uW", 18.109794),
        ("43.9W", 43.9),
        ("53.00 W", 53.0),
        ("0.99 W", 0.99),
        ("750mW", 0.75),
        ("1.2kW", 1200.0),
        ("5µW", 0.000005),
    ],
)
def test_power_units(text: str, watts: float) -> None:
    assert parse_power_watts(text) == pytest.approx(watts)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("75497472", 75497472),
        ("2.4GB", 2_400_000_000),
        ("15.7GiB", round(15.7 * 2**30)),
        ("0.0B", 0),
        ("81559 MiB", 81559 * 2**20),
        ("3.5GiB", 3.5 * 2**30),
        ("1KB", 1000),
        ("1KiB", 1024),
    ],
)
def test_byte_units_decimal_and_binary(text: str, count: int) -> None:
    assert parse_bytes(text, default_unit="B") == count


@pytest.mark.parametrize(
    ("speed", "generation"),
    [("2.5GT/s", 1), ("5GT/s", 2), ("8.0 GT/s", 3), ("16.0GT/s", 4), ("32.0GT/s", 5), ("64 GT/s PCIe", 6)],
)
def test_link_speed_to_generation(speed: str, generation: int) -> None:
    assert pcie_generation_from_speed(speed) == generation


@pytest.mark.parametrize("speed", ["32.0", "32.0Gb/s", "10GT/s", "GT/s", "", "32.0GT/s/s"])
def test_link_speed_refuses_what_is_not_a_pcie_rate(speed: str) -> None:
    with pytest.raises(BadValue):
        pcie_generation_from_speed(speed)


@pytest.mark.parametrize(
    "text",
    ["nan", "inf", "NaNW", "1e3W", "1_000W", "", "W", "12..5W", "١٢W", "12 Watts", "12W extra", "0x10W"],
)
def test_power_refuses_malformed_text(text: str) -> None:
    with pytest.raises(BadValue):
        parse_power_watts(text)


def test_unknown_unit_names_the_text() -> None:
    with pytest.raises(BadValue, match=r"unknown unit 'F' in '86F'"):
        parse_temperature_celsius("86F")


def test_percent_range_and_units() -> None:
    assert parse_percent("98.7") == 98.7
    assert parse_percent("0 %") == 0.0
    for bad in ("101", "-1", "5 W", "[N/A]"):
        with pytest.raises(BadValue):
            parse_percent(bad)


def test_clock_units() -> None:
    assert parse_clock_mhz("1980 MHz") == 1980.0
    assert parse_clock_mhz("1.98GHz") == pytest.approx(1980.0)
    assert parse_clock_mhz("1410", default_unit="MHz") == 1410.0


def test_plain_numbers_are_strict() -> None:
    assert parse_number("48.27") == 48.27
    assert parse_int("81559") == 81559
    for bad in ("1.5", "0x10", " ", "1_0", "١"):
        with pytest.raises(BadValue):
            parse_int(bad)
    for bad in ("nan", "Infinity", "1e5", "--1"):
        with pytest.raises(BadValue):
            parse_number(bad)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("00000000:17:00.0", "0000:17:00.0"),
        ("0000:17:00.0", "0000:17:00.0"),
        ("0000:D8:00.0", "0000:d8:00.0"),
        ("51:00.0", "0000:51:00.0"),
        ("0001:03:1f.7", "0001:03:1f.7"),
    ],
)
def test_bdf_normalisation(text: str, normal: str) -> None:
    assert normalize_bdf(text) == normal


@pytest.mark.parametrize("text", ["0000:17:00", "0000:17:00.8", "zz:00.0", "100000000:17:00.0", "GPU-0"])
def test_bdf_refuses_malformed_addresses(text: str) -> None:
    with pytest.raises(BadValue):
        normalize_bdf(text)


def test_device_name_index() -> None:
    assert index_from_device_name("npu0") == 0
    assert index_from_device_name("rbln12") == 12
    for bad in ("npu", "", "npu0pe1", "0npu"):
        with pytest.raises(BadValue):
            index_from_device_name(bad)

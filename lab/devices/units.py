"""Strict parsers for the values vendor tools print ("29C", "18109794uW", "2.4GB", "32.0GT/s").

Every function takes the text exactly as printed and either returns a number in the
model's unit or raises ``BadValue``; adapters turn ``BadValue`` into ``ToolOutputError``
with the tool's whole output attached. Numbers are matched with a regular expression
first, so Python's lenient ``float()`` never accepts "nan", "inf", "1_000" or "١٢".

>>> parse_power_watts("18109794uW")
18.109794
>>> parse_temperature_celsius("30.18°C")
30.18
>>> parse_bytes("15.7GiB")
16857746637
>>> pcie_generation_from_speed("32.0GT/s")
5
"""

from __future__ import annotations

import re


class BadValue(Exception):
    """A value did not have the expected shape; the message names the field and the text."""


_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_NUMBER_RE = re.compile(rf"(?P<number>{_NUMBER})", re.ASCII)
_INT_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_WITH_UNIT_RE = re.compile(rf"\s*(?P<number>{_NUMBER})\s*(?P<unit>[^\s0-9.+-][^\s]*)?\s*", re.ASCII)


def parse_number(text: str, what: str = "number") -> float:
    """A plain decimal number: "34", "48.27", "-1.5". Nothing else (no nan/inf/exponent)."""
    stripped = text.strip()
    if not _NUMBER_RE.fullmatch(stripped):
        raise BadValue(f"{what}: expected a number, got {text!r}")
    return float(stripped)


def parse_int(text: str, what: str = "integer") -> int:
    """A plain decimal integer: "0", "81559"."""
    stripped = text.strip()
    if not _INT_RE.fullmatch(stripped):
        raise BadValue(f"{what}: expected an integer, got {text!r}")
    return int(stripped)


def parse_count(text: str, what: str = "count") -> int:
    """A non-negative decimal integer: device indexes, error counters, lane counts."""
    value = parse_int(text, what)
    if value < 0:
        raise BadValue(f"{what}: expected a non-negative integer, got {text!r}")
    return value


def split_unit(text: str, what: str) -> tuple[float, str]:
    """Split "43.9W" / "53.00 W" / "30.18°C" into (43.9, "W"); the unit may be empty."""
    match = _WITH_UNIT_RE.fullmatch(text)
    if match is None:
        raise BadValue(f"{what}: expected a number with a unit, got {text!r}")
    return float(match.group("number")), match.group("unit") or ""


def _scaled(text: str, what: str, scales: dict[str, float], default_unit: str | None) -> float:
    number, unit = split_unit(text, what)
    if not unit:
        if default_unit is None:
            raise BadValue(f"{what}: unit missing in {text!r}")
        unit = default_unit
    if unit not in scales:
        raise BadValue(f"{what}: unknown unit {unit!r} in {text!r} (known: {', '.join(scales)})")
    return number * scales[unit]


_TEMPERATURE_UNITS = {"C": 1.0, "°C": 1.0, "℃": 1.0}
_POWER_UNITS = {"W": 1.0, "mW": 1e-3, "uW": 1e-6, "µW": 1e-6, "μW": 1e-6, "kW": 1e3}
_BYTE_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}
_BYTE_SCALES = {unit: float(scale) for unit, scale in _BYTE_UNITS.items()}
_CLOCK_UNITS = {"MHz": 1.0, "GHz": 1e3, "kHz": 1e-3}


def parse_temperature_celsius(text: str, *, default_unit: str | None = None) -> float:
    """Degrees Celsius from "29C", "30.18°C", "54°C" (or a bare number with ``default_unit="C"``)."""
    return _scaled(text, "temperature", _TEMPERATURE_UNITS, default_unit)


def parse_power_watts(text: str, *, default_unit: str | None = None) -> float:
    """Watts from "43.9W", "53.00 W", "18109794uW", "750mW" (bare number with ``default_unit``)."""
    return round(_scaled(text, "power", _POWER_UNITS, default_unit), 9)


def parse_bytes(text: str, *, default_unit: str | None = None) -> int:
    """Bytes from "2.4GB" (decimal, 10⁹), "15.7GiB" (binary, 2³⁰), "0.0B", "81559 MiB".

    Tools mix the two families (rbln-smi prints "2.4GB / 15.7GiB"); the text is taken
    literally, so keep the raw string next to the result where the vendor's meaning is unsure.
    """
    return round(_scaled(text, "memory", _BYTE_SCALES, default_unit))


def parse_clock_mhz(text: str, *, default_unit: str | None = None) -> float:
    """Megahertz from "1980 MHz", "1.98GHz" (bare number with ``default_unit="MHz"``)."""
    return _scaled(text, "clock", _CLOCK_UNITS, default_unit)


def parse_percent(text: str) -> float:
    """A percentage from "98.7", "0 %", "12%"; must lie within 0..100."""
    number, unit = split_unit(text, "utilization")
    if unit not in ("", "%"):
        raise BadValue(f"utilization: unknown unit {unit!r} in {text!r}")
    if not 0.0 <= number <= 100.0:
        raise BadValue(f"utilization: {text!r} is outside 0..100 %")
    return number


_GENERATION_BY_SPEED = {2.5: 1, 5.0: 2, 8.0: 3, 16.0: 4, 32.0: 5, 64.0: 6}


def pcie_generation_from_speed(text: str) -> int:
    """PCIe generation from a link speed: "2.5GT/s" → 1 … "32.0GT/s" → 5, "64 GT/s PCIe" → 6."""
    cleaned = text.strip()
    if cleaned.endswith("PCIe"):
        cleaned = cleaned[: -len("PCIe")]
    number, unit = split_unit(cleaned, "PCIe link speed")
    if unit != "GT/s":
        raise BadValue(f"PCIe link speed: expected GT/s, got {text!r}")
    if number not in _GENERATION_BY_SPEED:
        raise BadValue(f"PCIe link speed: {text!r} is not a PCIe generation's rate")
    return _GENERATION_BY_SPEED[number]


def check_pcie_generation(value: int, what: str = "PCIe generation") -> int:
    if not 1 <= value <= 6:
        raise BadValue(f"{what}: {value} is not between 1 and 6")
    return value


def check_pcie_width(value: int, what: str = "PCIe width") -> int:
    if value not in (1, 2, 4, 8, 12, 16, 32):
        raise BadValue(f"{what}: {value} lanes is not a PCIe link width")
    return value


_BDF_RE = re.compile(
    r"(?:(?P<domain>[0-9a-fA-F]{4,8}):)?(?P<bus>[0-9a-fA-F]{2}):(?P<device>[0-9a-fA-F]{2})\.(?P<function>[0-7])",
    re.ASCII,
)


def normalize_bdf(text: str) -> str:
    """The sysfs form of a PCI address: "00000000:17:00.0" → "0000:17:00.0", "17:00.0" → "0000:17:00.0"."""
    match = _BDF_RE.fullmatch(text.strip())
    if match is None:
        raise BadValue(f"PCI address: expected DDDD:BB:DD.F, got {text!r}")
    domain = int(match.group("domain") or "0", 16)
    if domain > 0xFFFF:
        raise BadValue(f"PCI address: domain of {text!r} exceeds 16 bits")
    return (
        f"{domain:04x}:{match.group('bus').lower()}:{match.group('device').lower()}.{match.group('function')}"
    )


_TRAILING_INDEX_RE = re.compile(r"[A-Za-z_-]*?(?P<index>[0-9]+)", re.ASCII)


def index_from_device_name(name: str) -> int:
    """The index in a device name: "npu0" → 0, "rbln12" → 12."""
    match = _TRAILING_INDEX_RE.fullmatch(name.strip())
    if match is None:
        raise BadValue(f"device name: expected letters then a number (e.g. npu0), got {name!r}")
    return int(match.group("index"))

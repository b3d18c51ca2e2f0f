"""The exporters their monitor reads, read their way; the Rebellions 1/1000 unit quirk handled explicitly.

Exposition texts follow the metric names and labels of their sources (lab/kcloud/monitor.py); the
values are the ones their own notes and tests quote (RNGD 34.641 °C / 37 W in kcloud-monitor's
test; ATOM "39 °C, 18.4 W by rbln-stat" in its ×1000 comment). Parsed by prometheus_client's parser.
"""

from __future__ import annotations

import pytest

from lab.devices.exporters import parse_exposition
from lab.kcloud.monitor import (
    AGREES,
    DISAGREES,
    OVER_CORRECTED,
    QUIRK,
    SOURCES,
    SOURCES_OF_TOOL,
    UNCHECKED,
    read,
    run_power,
)

KCLOUD_FURIOSA = """\
# HELP kcloud_furiosa_temperature_celsius device temperature
# TYPE kcloud_furiosa_temperature_celsius gauge
kcloud_furiosa_temperature_celsius{device="npu0",node="w1",pci="0000:00:05.0",sensor="ambient"} 28.5
kcloud_furiosa_temperature_celsius{device="npu0",node="w1",pci="0000:00:05.0",sensor="soc_peak"} 34.641
# TYPE kcloud_furiosa_power_watts gauge
kcloud_furiosa_power_watts{device="npu0",node="w1",pci="0000:00:05.0"} 37
# TYPE kcloud_furiosa_device_alive gauge
kcloud_furiosa_device_alive{device="npu0",node="w1",pci="0000:00:05.0"} 1
"""
FURIOSA_OFFICIAL = """\
# TYPE furiosa_npu_hw_temperature gauge
furiosa_npu_hw_temperature{arch="rngd",device="npu0",label="ambient",uuid="u0"} 28
furiosa_npu_hw_temperature{arch="rngd",device="npu0",label="peak",uuid="u0"} 35
# TYPE furiosa_npu_hw_power gauge
furiosa_npu_hw_power{arch="rngd",device="npu0",label="rms",uuid="u0"} 37.5
"""


def _rbln(temperature: float, power: float) -> str:
    return (
        "# HELP RBLN_DEVICE_STATUS:TEMPERATURE NPU temperature (C)\n"
        "# TYPE RBLN_DEVICE_STATUS:TEMPERATURE gauge\n"
        f'RBLN_DEVICE_STATUS:TEMPERATURE{{card="RBLN-CA22",device="rbln0",uuid="r0"}} {temperature}\n'
        "# HELP RBLN_DEVICE_STATUS:CARD_POWER Card power usage (W)\n"
        "# TYPE RBLN_DEVICE_STATUS:CARD_POWER gauge\n"
        f'RBLN_DEVICE_STATUS:CARD_POWER{{card="RBLN-CA22",device="rbln0",uuid="r0"}} {power}\n'
    )


def test_their_furiosa_exporter_reads_soc_peak_and_power() -> None:
    source = SOURCES["kcloud-furiosa-exporter"]
    samples = parse_exposition(KCLOUD_FURIOSA, where=source.name)
    temperature = read(samples, source, "npu0", "temperature", tool_value=35.0)
    power = read(samples, source, "npu0", "power", tool_value=38.0)
    assert temperature is not None and power is not None
    assert (temperature.exporter, temperature.verdict) == (34.641, AGREES)  # soc_peak, not ambient 28.5
    assert (power.dashboard, power.verdict) == (37.0, AGREES)
    assert read(samples, source, "npu1", "power", tool_value=None) is None  # no sample: no reading


def test_furiosa_official_exporter_and_tool_disagreement_is_a_finding() -> None:
    source = SOURCES["furiosa-metrics-exporter"]
    samples = parse_exposition(FURIOSA_OFFICIAL, where=source.name)
    assert SOURCES_OF_TOOL["furiosa-smi"] == ("kcloud-furiosa-exporter", "furiosa-metrics-exporter")
    power = read(samples, source, "npu0", "power", tool_value=52.0)
    assert power is not None and power.verdict == DISAGREES  # 37.5 vs 52 W: beyond 10 %
    assert "vendor tool 52: disagrees" in power.sentence()


def test_rebellions_exporter_at_one_thousandth_is_the_quirk_their_dashboard_corrects() -> None:
    source = SOURCES["rbln-metrics-exporter"]
    samples = parse_exposition(_rbln(0.039, 0.0184), where=source.name)
    temperature = read(samples, source, "rbln0", "temperature", tool_value=39.0)
    power = read(samples, source, "rbln0", "power", tool_value=18.4)
    assert temperature is not None and power is not None
    assert (temperature.exporter, temperature.dashboard, temperature.verdict) == (0.039, 39.0, QUIRK)
    assert power.dashboard == pytest.approx(18.4) and power.verdict == QUIRK


def test_a_fixed_rebellions_exporter_makes_their_x1000_wrong_and_we_say_so() -> None:
    source = SOURCES["rbln-metrics-exporter"]
    samples = parse_exposition(_rbln(39.0, 18.4), where=source.name)
    power = read(samples, source, "rbln0", "power", tool_value=18.4)
    assert power is not None and power.dashboard == pytest.approx(18400.0) and power.verdict == OVER_CORRECTED
    unchecked = read(samples, source, "rbln0", "temperature", tool_value=None)
    assert unchecked is not None and unchecked.verdict == UNCHECKED  # never assumed either way
    wrong = read(
        parse_exposition(_rbln(0.5, 0.5), where=source.name), source, "rbln0", "power", tool_value=18.4
    )
    assert wrong is not None and wrong.verdict == DISAGREES  # neither as is nor ×1000


def test_run_power_is_the_mean_of_what_their_dashboard_showed() -> None:
    source = SOURCES["rbln-metrics-exporter"]
    scrapes = [parse_exposition(_rbln(0.04, watts), where="s") for watts in (0.018, 0.020, 0.022)]
    scrapes.append(parse_exposition("# TYPE other gauge\nother 1\n", where="s"))  # a scrape without the card
    mean, count = run_power(scrapes, source, "rbln0")
    assert count == 3 and mean == pytest.approx(20.0)
    assert run_power([], SOURCES["dcgm-exporter"], "0") == (None, 0)
    with pytest.raises(ValueError, match="temperature or power"):
        read({}, source, "rbln0", "memory", tool_value=None)

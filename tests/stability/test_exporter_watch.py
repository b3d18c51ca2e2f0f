"""When the soak checks the exporter, and what counts as a disagreement when the card changes
between the tool's reading and the scrape (unit level: real parser, real judgement)."""

from __future__ import annotations

from lab.devices.exporters import EXPORTERS, conformance, parse_exposition
from lab.devices.model import DeviceIdentity, DeviceReport, DeviceTelemetry
from lab.stability.exporter_watch import ExporterWatch
from lab.transport.fake import FakeTransport

RBLN = EXPORTERS["rbln-smi"]


def _report(temperature: float, power: float) -> DeviceReport:
    return DeviceReport(
        tool="rbln-smi",
        identity=DeviceIdentity(index=0, device="rbln0", product="RBLN-CA12", card_id="c0"),
        telemetry=DeviceTelemetry(temperature_celsius=temperature, power_watts=power),
    )


def _page(temperature: float, power: float) -> dict:  # type: ignore[type-arg]
    labels = 'device="rbln0",uuid="u",name="RBLN-CA12"'
    text = f"rbln_npu_temperature{{{labels}}} {temperature}\nrbln_npu_power{{{labels}}} {power}\n"
    return parse_exposition(text, where="rbln-exporter")


def test_a_value_the_card_passed_through_between_two_readings_agrees() -> None:
    # the card heated from 40 to 52 °C between the two tool reads; the scrape saw 46 °C
    _, wrong = conformance(RBLN, _page(46.0, 100.0), [_report(40.0, 100.0)], later=[_report(52.0, 100.0)])
    assert wrong == []
    _, alone = conformance(RBLN, _page(46.0, 100.0), [_report(40.0, 100.0)])
    assert alone == ["rbln0 temperature: exporter rbln_npu_temperature = 46, rbln-smi = 40 (allowed ±3)"]


def test_a_value_outside_both_readings_disagrees() -> None:
    _, wrong = conformance(RBLN, _page(0.046, 0.1), [_report(45.0, 99.0)], later=[_report(46.0, 101.0)])
    assert [line.split(":")[0] for line in wrong] == ["rbln0 temperature", "rbln0 power"]


def test_checks_sit_mid_slot_and_a_late_round_does_not_burst() -> None:
    watch = ExporterWatch(FakeTransport("n"), (), every_s=4.0)
    due = [second for second in range(21) if watch.due(float(second))]
    assert due == [2, 6, 10, 14, 18]  # five checks in a 20 s soak, none at its start or end
    late = ExporterWatch(FakeTransport("n"), (), every_s=4.0)
    assert [second for second in (0.0, 9.0, 9.5, 10.0, 13.9, 14.0) if late.due(second)] == [9.0, 14.0]

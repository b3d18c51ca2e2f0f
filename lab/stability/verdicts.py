"""From a soak's findings to the profile's measurements: one per criterion for the node.

Each criterion's node value is its worst card's (the hottest card sets the temperature
margin, the slowest drift sets the drift; error and event counts add up over the cards).
When the verdict is not PASS the reason names the card, the node time of the first violation
and the sample that showed it::

    for measurement in soak_measurements(result, profile):
        measurement.name, measurement.verdict, measurement.reason
        # 'temperature-margin', FAIL, '... below minimum 10 °C; first on npu0 at t=342 s:
        #  86.2 °C is -1.2 °C below the 85 °C slowdown point [temperature=86.2 °C, ...]'

A criterion no card's tool reported (a tool without a throttle state, say) gives no
measurement; ``unreported(result)`` lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lab.criteria import Measurement, Outcome, evaluate
from lab.inventory.model import Profile
from lab.stability.drills import DrillResult
from lab.stability.judge import (
    CARD_CRITERIA,
    CARD_SPREAD,
    CORRECTABLE_GROWTH,
    LIVENESS,
    P99_LATENCY,
    POWER_STABILITY,
    TEMPERATURE_MARGIN,
    THROTTLING,
    THROUGHPUT_DRIFT,
    UNCORRECTABLE,
    Finding,
)
from lab.stability.settings import SoakSettingError
from lab.stability.soak import SoakResult

_SUMMED = {UNCORRECTABLE, THROTTLING, LIVENESS}
_CHANNEL = {
    UNCORRECTABLE: "uncorrectable-errors",
    CORRECTABLE_GROWTH: "correctable-errors",
    THROTTLING: "throttled",
    TEMPERATURE_MARGIN: "temperature",
    THROUGHPUT_DRIFT: "throughput",
    POWER_STABILITY: "power",
    P99_LATENCY: "p99-latency",
    LIVENESS: "present",
    CARD_SPREAD: "throughput",
}
"""The series that back each criterion's measurement (its evidence)."""
_LOWEST = {TEMPERATURE_MARGIN, THROUGHPUT_DRIFT}


def node_finding(result: SoakResult, criterion: str) -> Finding | None:
    """The node's value of ``criterion``: summed counts, else the worst card (None: nothing reported)."""
    findings = [cards[criterion] for cards in result.findings.values() if criterion in cards]
    reported = [finding for finding in findings if finding.value is not None]
    if not reported:
        return None
    values = [finding.value for finding in reported if finding.value is not None]
    if criterion in _SUMMED:
        value = sum(values)
        worst = max(reported, key=lambda finding: finding.value or 0.0)
    elif criterion in _LOWEST:
        worst = min(reported, key=lambda finding: finding.value if finding.value is not None else 0.0)
        value = worst.value or 0.0
    else:
        worst = max(reported, key=lambda finding: finding.value if finding.value is not None else 0.0)
        value = worst.value or 0.0
    firsts = [finding for finding in findings if finding.first is not None]
    earliest = min(firsts, key=lambda finding: finding.first.t if finding.first else 0.0, default=None)
    chosen = earliest if earliest is not None else worst
    return Finding(criterion, chosen.card, value, chosen.first)


def soak_measurements(result: SoakResult, profile: Profile, model: str | None = None) -> list[Measurement]:
    """One measurement per criterion the soak could judge, in the profile's terms; its evidence
    is the series of that quantity for every card."""
    measurements: list[Measurement] = []
    findings = [node_finding(result, criterion) for criterion in CARD_CRITERIA]
    findings.append(result.spread)
    for finding in findings:
        if finding is None or finding.value is None or finding.criterion not in profile.criteria:
            continue
        value = round(finding.value, 6)
        if finding.criterion == CORRECTABLE_GROWTH:
            value = round(finding.value, 3)
        evidence = series_of(result, _CHANNEL.get(finding.criterion, ""))
        measurement = evaluate(profile.criteria[finding.criterion], value, model, evidence=evidence)
        if measurement.verdict is not Outcome.PASS and finding.first is not None:
            first = finding.first
            where = f"first on {finding.card}" if finding.card != "node" else "first"
            measurement = replace(
                measurement,
                reason=f"{measurement.reason}; {where} at t={first.t:g} s: {first.message} [{first.sample}]",
            )
        measurements.append(measurement)
    return measurements


EXPORTER_AGREEMENT = "soak-exporter-agreement"


def exporter_measurement(
    result: SoakResult, profile: Profile, model: str | None = None
) -> Measurement | None:
    """Disagreements of the vendor exporter with the tool over the soak's checks, judged against
    ``soak-exporter-agreement``; None when nothing was compared (no exporter, no criterion, or
    every scrape failed: ``exporter_errors`` says why)."""
    compared = [check for check in result.exporter_checks if check.error is None]
    if not compared or EXPORTER_AGREEMENT not in profile.criteria:
        return None
    count = sum(len(check.disagreements) for check in compared)
    measurement = evaluate(
        profile.criteria[EXPORTER_AGREEMENT],
        count,
        model,
        evidence=series_of(result, "exporter-disagreements"),
    )
    first = next((check for check in compared if check.disagreements), None)
    reason = f"{len(compared)} checks during the soak"
    if first is not None:
        reason += f"; first at t={first.t:g} s: {first.disagreements[0]}"
    return replace(measurement, reason=f"{measurement.reason}; {reason}")


def exporter_errors(result: SoakResult) -> list[str]:
    """Why exporter checks of the soak could not compare (one line per failed scrape)."""
    return [f"t={check.t:g} s: {check.error}" for check in result.exporter_checks if check.error]


def series_of(result: SoakResult, channel: str) -> list[str]:
    """The soak's series files of ``channel`` (e.g. ``"temperature"``), one per card."""
    ending = f".{channel}.series.jsonl"
    return [path for path in result.evidence if path.endswith(ending)]


def unreported(result: SoakResult) -> list[str]:
    """Criteria no card's tool reported (no measurement is made for them)."""
    return [criterion for criterion in CARD_CRITERIA if node_finding(result, criterion) is None]


def drill_measurement(
    profile: Profile, criterion: str, result: DrillResult, model: str | None
) -> Measurement:
    """The drill's value judged against ``criterion``, its detail appended to the reason; a hang
    (no progress within the deadline) is FAIL by that verdict, whatever the value."""
    measurement = evaluate(profile.criteria[criterion], result.value, model)
    if result.hung:
        return replace(measurement, verdict=Outcome.FAIL, reason=f"hung: {result.detail}")
    return replace(measurement, reason=f"{measurement.reason}; {result.detail}")


def failures(measurements: Sequence[Measurement]) -> list[Measurement]:
    """The measurements whose verdict is FAIL."""
    return [measurement for measurement in measurements if measurement.verdict is Outcome.FAIL]


def drill_deadline(profile: Profile, criterion: str, model: str | None) -> float:
    """A drill's deadline in wall seconds: its criterion's maximum (the limit is the deadline)."""
    maximum = profile.criteria[criterion].limits_for(model).maximum if criterion in profile.criteria else None
    if maximum is None or maximum <= 0:
        raise SoakSettingError(
            f"profile {profile.name}: criterion {criterion} needs a positive max (the drill's deadline)"
        )
    return maximum


# Criteria whose values are timings: on a device computing on an oversubscribed controller
# they measure the machine's other jobs as much as the device.
TIMING_CRITERIA = ("throughput-drift", "card-spread", "soak-p99-latency")


def inconclusive_when_host_busy(
    measurements: Sequence[Measurement], result: SoakResult, profile: Profile
) -> tuple[list[Measurement], str | None]:
    """Timing FAILs of a soak whose node computes on this machine while the machine was
    oversubscribed (PSI share above the profile's ``host_busy_cpu_pressure``) become ERROR,
    inconclusive, as the performance suite does; returns the measurements and the reason."""
    limit = profile.settings.get("host_busy_cpu_pressure", 0.5)
    pressure = result.host_cpu_pressure
    if pressure is None or not isinstance(limit, int | float) or pressure <= float(limit):
        return list(measurements), None
    busy = (
        f"the host computing this device was oversubscribed: tasks waited for a CPU during "
        f"{pressure:.0%} of the soak (limit {float(limit):.0%}, profile setting host_busy_cpu_pressure)"
    )
    judged: list[Measurement] = []
    converted = False
    for measured in measurements:
        if measured.name in TIMING_CRITERIA and measured.verdict is Outcome.FAIL:
            measured = replace(
                measured, verdict=Outcome.ERROR, reason=f"inconclusive: {busy} ({measured.reason})"
            )
            converted = True
        judged.append(measured)
    return judged, busy if converted else None

"""Derived figures: efficiency, fraction of the catalog peak, multi-card scaling.

::

    efficiency(samples_per_second=5000, mean_power_watts=125.0)      # 40.0 samples/s/W
    peak_fraction(5000, ops_per_sample=8.2e9, peak_tops=128)         # 0.32 (None if unknown)
    scaling(n_card_throughput=9800, one_card_throughput=5000, cards=2)   # 0.98

Power is the card's own *board* power from its vendor tool, averaged over the LoadGen
performance window; MLPerf's power rules measure the whole system at the wall, so these
efficiencies are not comparable with MLPerf Power results.
"""

from __future__ import annotations


def efficiency(samples_per_second: float, mean_power_watts: float | None) -> float | None:
    """Samples per second per watt; None when no power was measured (or it was 0)."""
    if mean_power_watts is None or mean_power_watts <= 0:
        return None
    return samples_per_second / mean_power_watts


def peak_fraction(
    samples_per_second: float, ops_per_sample: float | None, peak_tops: float | None
) -> float | None:
    """Achieved operations/s ÷ the catalog's peak (TOPS); None when either is unknown."""
    if ops_per_sample is None or peak_tops is None or peak_tops <= 0:
        return None
    return samples_per_second * ops_per_sample / (peak_tops * 1e12)


def scaling(n_card_throughput: float, one_card_throughput: float, cards: int) -> float:
    """Throughput of ``cards`` cards ÷ (cards × one card): 1.0 is perfect scaling."""
    if cards < 1 or one_card_throughput <= 0:
        raise ValueError("scaling needs at least one card and a positive one-card throughput")
    return n_card_throughput / (cards * one_card_throughput)

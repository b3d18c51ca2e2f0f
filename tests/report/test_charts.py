"""Inline SVG charts: counts, limits, markers, escaping."""

from __future__ import annotations

import re
from pathlib import Path

from lab.report.charts import curve_chart, histogram, line_chart, percentile, sparkline
from lab.results.series import Series, read_series, write_series


def _bar_heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar"[^>]*height="([0-9.]+)"', svg)]


def test_histogram_bins_hold_every_sample_once() -> None:
    # 300 samples at 1.0, 100 at 9.0: the tallest bar is the 300, one bar of a third of it
    series = Series("latency", "ms", values=(1.0,) * 300 + (9.0,) * 100, kind="samples")
    heights = sorted(_bar_heights(str(histogram(series, title="latency", bins=20))))
    assert len(heights) == 2 and abs(heights[1] / heights[0] - 3.0) < 0.01  # empty bins draw nothing


def test_histogram_marks_percentiles_and_the_limit() -> None:
    series = Series(
        "latency", "ms", values=tuple(float(i) for i in range(1, 101)), kind="samples", maximum=120.0
    )
    svg = str(histogram(series, title="latency"))
    assert "p50 50<" in svg and "p90 90<" in svg and "p99 99<" in svg
    assert svg.count('class="limit"') == 1
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0 and percentile([5.0], 0.99) == 5.0


def test_line_chart_draws_both_limits_and_rings_the_first_violation() -> None:
    series = Series("temp", "°C", t=(0.0, 10.0, 20.0), values=(50.0, 90.0, 95.0), minimum=40.0, maximum=85.0)
    svg = str(line_chart(series, title="온도 <b>"))
    assert svg.count('class="limit"') == 2
    (ring,) = re.findall(r'<circle class="violation" cx="([0-9.]+)"', svg)
    assert abs(float(ring) - (56 + (640 - 56 - 12) / 2)) < 0.2  # t=10 of 0..20: the middle of the plot
    assert "온도 &lt;b&gt;" in svg and "<b>" not in svg
    assert "90 °C above maximum 85 °C" in svg


def test_long_series_are_thinned_without_losing_the_spike() -> None:
    values = [50.0] * 10_000
    values[7_777] = 99.0
    series = Series(
        "power", "W", t=tuple(float(i) for i in range(10_000)), values=tuple(values), maximum=90.0
    )
    svg = str(line_chart(series, title="power"))
    points = re.search(r'<polyline class="line" fill="none" points="([^"]*)"', svg)
    assert points is not None and len(points.group(1).split()) <= 600
    top = min(float(point.split(",")[1]) for point in points.group(1).split())
    assert top < 40  # the 99 W spike is still drawn near the top of the plot


def test_empty_and_flat_inputs_render_without_errors() -> None:
    assert "(no data)" in str(line_chart(Series("x", "", t=(), values=()), title="x"))
    assert "(no data)" in str(histogram(Series("x", "", values=(), kind="samples"), title="x"))
    assert "<polyline" in str(line_chart(Series("x", "", t=(0.0, 1.0), values=(5.0, 5.0)), title="x"))
    assert "<polyline" not in str(sparkline([1.0]))
    assert 'class="violation"' in str(sparkline([1.0, 2.0, float("nan"), 3.0], flagged=True))


def test_curve_chart_places_each_point_by_its_x_and_labels_the_x_unit(tmp_path: Path) -> None:
    # a throughput–latency curve: x = tokens/s (in t), y = p99 TPOT; stored and read back whole
    curve = Series(
        "throughput-latency", "ms", t=(100.0, 400.0, 1000.0), values=(11.0, 12.0, 15.0),
        kind="curve", maximum=200.0, x_unit="tokens/s",
    )  # fmt: skip
    path = write_series(tmp_path, "t::curve", curve)
    assert read_series(tmp_path / path) == curve
    svg = str(curve_chart(read_series(tmp_path / path), title="curve <i>"))
    xs = [float(x) for x in re.findall(r'<circle class="point" cx="([0-9.]+)"', svg)]
    assert len(xs) == 3 and xs == sorted(xs)
    # x = 400 of a 100..1000 range (padded 5 % each side): proportional, not evenly spaced
    left, right = 100 - 45, 1000 + 45
    assert abs(xs[1] - (56 + (400 - left) / (right - left) * (640 - 56 - 12))) < 0.2
    assert "400 tokens/s: 12 ms" in svg and "1045 tokens/s" in svg
    assert svg.count('class="limit"') == 1 and "curve &lt;i&gt;" in svg

"""Inline SVG charts for the report: no script, no font file, nothing fetched.

Each function returns ``markupsafe.Markup`` that a template can place as is; every piece
of text that came from a run (series names, units, messages) is escaped here.

::

    line_chart(series, title="Temperature")      # values over time, limits dashed, first violation ringed
    histogram(series, title="Latency")           # a distribution with p50/p90/p99 ticks and the limit
    sparkline([41.0, 40.8, 44.1], flagged=True)  # a word-sized trend for the history section
    curve_chart(series, title="Throughput–latency")  # kind "curve": y over x (t), points marked
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from lab.results.series import Series

WIDTH, HEIGHT = 640, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 24, 32
_MAX_POINTS = 600  # more points than pixels only makes the file bigger


def line_chart(series: Series, *, title: str) -> Markup:
    """Values over time with the limits drawn (dashed) and the first violation marked."""
    times, values = _thin(series.t, series.values)
    if not values:
        return _empty(title)
    limits = [bound for bound in (series.minimum, series.maximum) if bound is not None]
    low, high = _range([*values, *limits])
    start, end = (times[0], times[-1]) if times else (0.0, 1.0)
    if end <= start:
        end = start + 1.0

    x_scale = (WIDTH - _LEFT - _RIGHT) / (end - start)
    y_scale = (HEIGHT - _TOP - _BOTTOM) / (high - low)
    x_zero, y_zero = _LEFT - start * x_scale, HEIGHT - _BOTTOM + low * y_scale

    def x(moment: float) -> float:
        return x_zero + moment * x_scale

    def y(value: float) -> float:
        return y_zero - value * y_scale

    # inline arithmetic: this line runs once per plotted point, hundreds of thousands of times
    points = " ".join(
        [f"{x_zero + t * x_scale:.1f},{y_zero - v * y_scale:.1f}" for t, v in zip(times, values, strict=True)]
    )
    parts = [_frame(title, low, high, f"{start:g} s", f"{end:g} s", series.unit)]
    parts.append(f'<polyline class="line" fill="none" points="{points}"/>')
    for bound in limits:
        level = f"{y(bound):.1f}"
        parts.append(f'<line class="limit" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{level}" y2="{level}"/>')
    violation = series.violation()
    if violation is not None:
        cx, cy = x(min(max(violation.t, start), end)), y(min(max(violation.value, low), high))
        parts.append(
            f'<circle class="violation" cx="{cx:.1f}" cy="{cy:.1f}" r="6">'
            f"<title>{escape(violation.message)}</title></circle>"
        )
    return _svg(title, "".join(parts))


def curve_chart(series: Series, *, title: str) -> Markup:
    """Values over an x that is not time (a throughput–latency curve): points joined in their
    order and marked, the x range labelled in ``series.x_unit``, limits dashed."""
    if not series.values or len(series.t) != len(series.values):
        return _empty(title)
    xs, values = list(series.t), list(series.values)
    limits = [bound for bound in (series.minimum, series.maximum) if bound is not None]
    low, high = _range([*values, *limits])
    left, right = _range(xs)
    x_scale = (WIDTH - _LEFT - _RIGHT) / (right - left)
    y_scale = (HEIGHT - _TOP - _BOTTOM) / (high - low)

    def x(value: float) -> float:
        return _LEFT + (value - left) * x_scale

    def y(value: float) -> float:
        return HEIGHT - _BOTTOM - (value - low) * y_scale

    unit = f" {series.x_unit}" if series.x_unit else ""
    parts = [_frame(title, low, high, f"{left:.4g}{unit}", f"{right:.4g}{unit}", series.unit)]
    points = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(xs, values, strict=True))
    parts.append(f'<polyline class="line" fill="none" points="{points}"/>')
    for a, b in zip(xs, values, strict=True):
        parts.append(
            f'<circle class="point" cx="{x(a):.1f}" cy="{y(b):.1f}" r="3">'
            f"<title>{escape(f'{a:.4g}{unit}: {b:.4g} {series.unit}')}</title></circle>"
        )
    for bound in limits:
        level = f"{y(bound):.1f}"
        parts.append(f'<line class="limit" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{level}" y2="{level}"/>')
    return _svg(title, "".join(parts))


def histogram(series: Series, *, title: str, bins: int = 30) -> Markup:
    """The distribution of ``series.values`` with p50/p90/p99 ticks and the maximum limit."""
    values = sorted(series.values)
    if not values:
        return _empty(title)
    limits = [bound for bound in (series.minimum, series.maximum) if bound is not None]
    low, high = _range([*values, *limits])
    # values are sorted: each bin's count is the distance between two bisections
    edges = [bisect.bisect_left(values, low + (high - low) * i / bins) for i in range(1, bins)]
    bounds = [0, *edges, len(values)]
    counts = [bounds[i + 1] - bounds[i] for i in range(bins)]
    tallest = max(counts) or 1
    plot_width = WIDTH - _LEFT - _RIGHT
    plot_height = HEIGHT - _TOP - _BOTTOM

    def x(value: float) -> float:
        return _LEFT + (value - low) / (high - low) * plot_width

    parts = [_frame(title, 0, tallest, f"{low:g}", f"{high:g}", series.unit, vertical_unit="n")]
    bar = plot_width / bins
    width = f"{max(bar - 1, 0.5):.1f}"
    for index, count in enumerate(counts):
        if count == 0:
            continue  # an empty bin draws nothing
        height = count / tallest * plot_height
        parts.append(
            f'<rect class="bar" x="{_LEFT + index * bar:.1f}" y="{HEIGHT - _BOTTOM - height:.1f}" '
            f'width="{width}" height="{height:.1f}"/>'
        )
    for row, (label, fraction) in enumerate((("p50", 0.50), ("p90", 0.90), ("p99", 0.99))):
        value = percentile(values, fraction)
        # labels on separate rows: close percentiles would otherwise print over each other
        parts.append(
            f'<line class="pct" x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{_TOP}" y2="{HEIGHT - _BOTTOM}"/>'
            f'<text class="pct" x="{x(value) + 3:.1f}" y="{_TOP + 10 + 12 * row}">{label} {value:.4g}</text>'
        )
    for bound in limits:
        at = f"{x(bound):.1f}"
        parts.append(f'<line class="limit" x1="{at}" x2="{at}" y1="{_TOP}" y2="{HEIGHT - _BOTTOM}"/>')
    return _svg(title, "".join(parts))


def sparkline(
    values: Sequence[float], *, flagged: bool = False, width: int = 120, height: int = 24
) -> Markup:
    """A word-sized trend; the last point is red when ``flagged``."""
    finite = [value for value in values if math.isfinite(value)]
    if len(finite) < 2:
        return Markup(f'<svg class="spark" width="{width}" height="{height}" role="img"></svg>')
    low, high = _range(finite)
    step = (width - 4) / (len(finite) - 1)
    points = [
        (2 + i * step, height - 2 - (v - low) / (high - low) * (height - 4)) for i, v in enumerate(finite)
    ]
    line = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    last_x, last_y = points[-1]
    kind = "violation" if flagged else "last"
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<polyline class="line" fill="none" points="{line}"/>'
        f'<circle class="{kind}" cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5"/></svg>'
    )


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (MLPerf reports nearest rank too)."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _thin(times: Sequence[float], values: Sequence[float]) -> tuple[list[float], list[float]]:
    if not times:
        times = [float(index) for index in range(len(values))]
    if len(values) <= _MAX_POINTS:
        return list(times), list(values)
    # keep each bucket's extreme so a short spike (the violation) never disappears
    step = len(values) / _MAX_POINTS
    kept_t: list[float] = []
    kept_v: list[float] = []
    for bucket in range(_MAX_POINTS):
        first, last = int(bucket * step), max(int((bucket + 1) * step), int(bucket * step) + 1)
        index = max(range(first, min(last, len(values))), key=lambda i: abs(values[i] - values[first]))
        kept_t.append(times[index])
        kept_v.append(values[index])
    return kept_t, kept_v


def _range(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < 1e-12:
        pad = abs(high) * 0.05 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _frame(
    title: str, low: float, high: float, left: str, right: str, unit: str, *, vertical_unit: str = ""
) -> str:
    axis_unit = escape(vertical_unit or unit)
    bottom = HEIGHT - _BOTTOM
    return (
        f'<text class="title" x="{_LEFT}" y="14">{escape(title)}</text>'
        f'<line class="axis" x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{bottom}"/>'
        f'<line class="axis" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{bottom}" y2="{bottom}"/>'
        f'<text class="tick" x="{_LEFT - 4}" y="{_TOP + 4}" text-anchor="end">{high:.4g}</text>'
        f'<text class="tick" x="{_LEFT - 4}" y="{bottom}" text-anchor="end">{low:.4g}</text>'
        f'<text class="tick" x="{_LEFT - 4}" y="{(bottom + _TOP) // 2}" text-anchor="end">{axis_unit}</text>'
        f'<text class="tick" x="{_LEFT}" y="{HEIGHT - 14}">{escape(left)}</text>'
        f'<text class="tick" x="{WIDTH - _RIGHT}" y="{HEIGHT - 14}" text-anchor="end">{escape(right)}</text>'
    )


def _svg(title: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">{body}</svg>'
    )


def _empty(title: str) -> Markup:
    return _svg(title, f'<text class="title" x="{_LEFT}" y="14">{escape(title)} (no data)</text>')

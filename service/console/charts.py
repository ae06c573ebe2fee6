"""Small charts drawn on the server as inline SVG geometry (no script, no library).

`effect_chart(points, null)` lays out a cumulative effect over days: the effect as a line with
a dot per day, its confidence interval as a band and a bar per day (one day has no band), the
value of no effect as a dashed line. The template draws the geometry inside an
<svg role="img"> and shows the same numbers in a table for screen readers and for copying.
`sparkline(values)` is the portfolio's small weekly trend (its numbers in the label).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD_X, PAD_Y = 560, 180, 48, 16


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    line: str  # polyline points "x,y x,y ..."
    band: str  # polygon points of the interval
    null_y: float
    y_ticks: list[tuple[float, str]]  # (y, label)
    x_labels: list[tuple[float, str]]  # (x, label)
    dots: list[tuple[float, float]]
    bars: list[tuple[float, float, float]]  # (x, y of the interval's top, y of its bottom)


def effect_chart(points: Sequence[dict[str, Any]], null: float) -> Chart | None:
    """The chart of `points` (each with date, effect, ci_low, ci_high; None effects are
    skipped), or None when fewer than one point has an effect."""
    pts = [p for p in points if p.get("effect") is not None]
    if not pts:
        return None
    lows = [float(p["ci_low"]) for p in pts]
    highs = [float(p["ci_high"]) for p in pts]
    top, bottom = max([*highs, null]), min([*lows, null])
    if top - bottom < 1e-12:
        top, bottom = top + 0.5, bottom - 0.5
    margin = (top - bottom) * 0.08
    top, bottom = top + margin, bottom - margin
    inner_w, inner_h = WIDTH - 2 * PAD_X, HEIGHT - 2 * PAD_Y

    def x(i: int) -> float:
        return PAD_X + (inner_w * i / (len(pts) - 1) if len(pts) > 1 else inner_w / 2)

    def y(v: float) -> float:
        return PAD_Y + inner_h * (top - v) / (top - bottom)

    line = " ".join(f"{x(i):.1f},{y(float(p['effect'])):.1f}" for i, p in enumerate(pts))
    upper = [f"{x(i):.1f},{y(h):.1f}" for i, h in enumerate(highs)]
    lower = [f"{x(i):.1f},{y(lo):.1f}" for i, lo in reversed(list(enumerate(lows)))]
    ticks = [bottom + (top - bottom) * k / 4 for k in range(5)]
    step = max(1, len(pts) // 6)
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        line=line,
        band=" ".join(upper + lower),
        null_y=round(y(null), 1),
        y_ticks=[(round(y(v), 1), f"{v:.3g}") for v in ticks],
        x_labels=[(round(x(i), 1), str(p["date"])[5:]) for i, p in enumerate(pts)][::step],
        dots=[(round(x(i), 1), round(y(float(p["effect"])), 1)) for i, p in enumerate(pts)],
        bars=[(round(x(i), 1), round(y(h), 1), round(y(lo), 1))
              for i, (lo, h) in enumerate(zip(lows, highs, strict=True))],
    )  # fmt: skip


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str  # polyline "x,y x,y ..."
    last: tuple[float, float]  # the newest value's dot
    peak: int


def sparkline(values: Sequence[int], width: int = 96, height: int = 24) -> Sparkline:
    """A small line of `values` (oldest first) scaled to its own peak (a flat line at the
    bottom when every value is 0)."""
    peak = max(values, default=0)
    pad = 2.0
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    n = len(values)

    def at(i: int, v: int) -> tuple[float, float]:
        x = pad + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = pad + inner_h * (1 - (v / peak if peak else 0.0))
        return round(x, 1), round(y, 1)

    coords = [at(i, v) for i, v in enumerate(values)]
    return Sparkline(
        width=width,
        height=height,
        points=" ".join(f"{x},{y}" for x, y in coords),
        last=coords[-1] if coords else (pad, height - pad),
        peak=int(peak),
    )

"""Geometry of the hourly in/out chart, drawn as inline SVG by a template (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 960
HEIGHT = 240
LEFT = 44  # room for the count labels
BOTTOM = 24  # room for the hour labels
TOP = 12
BAR_GAP = 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    hour: int
    count: int
    direction: str


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class HourlyChart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    hour_labels: list[tuple[float, str]]
    total_in: int
    total_out: int


def _tick_step(value: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) so that four steps reach `value`."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if 4 * step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def hourly_chart(hours: list[tuple[int, int, int]]) -> HourlyChart:
    """Bars for 24 hours of (hour, entries, exits): entries and exits side by side."""
    step = _tick_step(max([max(ins, outs) for _, ins, outs in hours] + [1]))
    top_value = 4 * step
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = (WIDTH - LEFT) / 24
    bar_width = (slot - 3 * BAR_GAP) / 2
    bars = []
    for hour, ins, outs in hours:
        for index, (direction, count) in enumerate((("in", ins), ("out", outs))):
            height = plot_height * count / top_value
            bars.append(
                Bar(
                    x=round(LEFT + hour * slot + BAR_GAP + index * (bar_width + BAR_GAP), 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    hour=hour,
                    count=count,
                    direction=direction,
                )
            )
    ticks = [
        Tick(y=round(baseline - plot_height * index / 4, 2), value=step * index)
        for index in range(5)
    ]
    labels = [(round(LEFT + hour * slot + slot / 2, 2), f"{hour:02d}") for hour in range(0, 24, 2)]
    return HourlyChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        baseline=baseline,
        bars=bars,
        ticks=ticks,
        hour_labels=labels,
        total_in=sum(ins for _, ins, _ in hours),
        total_out=sum(outs for _, _, outs in hours),
    )

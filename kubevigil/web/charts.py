"""Chart geometry for the page's server-drawn SVG: value strips, line charts, per-minute columns and the heatmap.

Templates draw what these compute; colours are CSS classes (a strict Content-Security-Policy allows no inline
style), so every mark here names its class.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MIN_SPAN = 120.0  # a chart covers at least two minutes, so a fresh process does not draw one wide bar
TICKS = 4


@dataclass(frozen=True, slots=True)
class Window:
    """The time range a chart covers, and how to place a time on `width` units."""

    start: float
    end: float
    width: float

    def x(self, at: float) -> float:
        return round((min(max(at, self.start), self.end) - self.start) / (self.end - self.start) * self.width, 2)

    def ticks(self) -> list[tuple[float, str]]:
        """A few evenly spaced (x, "HH:MM") labels, UTC; with seconds when the window is shorter than 10 minutes."""
        step = (self.end - self.start) / TICKS
        shape = "%H:%M:%S" if self.end - self.start < 600 else "%H:%M"
        return [(self.x(self.start + i * step), time.strftime(shape, time.gmtime(self.start + i * step)))
                for i in range(TICKS + 1)]


def window(first: float | None, now: float, longest: float, width: float) -> Window:
    """From the first point (at most `longest` ago, at least MIN_SPAN) to now."""
    span = min(longest, max(MIN_SPAN, now - first if first is not None else 0.0))
    return Window(now - span, now, width)


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    css: str
    label: str


def strip(points: Sequence[Sequence[Any]], win: Window, kinds: Mapping[Any, tuple[str, str]]) -> list[Bar]:
    """Each value holds from its time to the next point's (the last one to the window's end); equal neighbours
    merge into one bar. `kinds` maps a value to its (css class, words)."""
    bars: list[Bar] = []
    for i, (at, value) in enumerate(points):
        until = points[i + 1][0] if i + 1 < len(points) else win.end
        if until < win.start:
            continue
        x0, x1 = win.x(at), win.x(until)
        css, words = kinds.get(value, ("none", str(value)))
        if bars and bars[-1].css == css and math.isclose(bars[-1].x + bars[-1].width, x0, abs_tol=0.01):
            bars[-1] = Bar(bars[-1].x, round(x1 - bars[-1].x, 2), css, bars[-1].label)
        elif x1 > x0:
            stamp = time.strftime("%H:%M:%S", time.gmtime(at))
            bars.append(Bar(x0, round(x1 - x0, 2), css, f"from {stamp} UTC: {words}"))
    return bars


def first_time(series: Mapping[str, Sequence[Sequence[Any]]]) -> float | None:
    """The earliest time in any of the series."""
    return min((points[0][0] for points in series.values() if points), default=None)


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    css: str
    segments: list[str]  # SVG polyline `points`, one per run without gaps
    last: float | None
    end: tuple[float, float] | None  # where the latest value is drawn (a dot: a lone point is visible too)


@dataclass(frozen=True, slots=True)
class LineChart:
    width: float
    height: float
    lines: list[Line]
    top: float  # the value at the top edge
    x_ticks: list[tuple[float, str]]


def nice_top(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^n at or above `value` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= value)


def line_chart(series: Mapping[str, Sequence[Sequence[Any]]], win: Window, height: float) -> LineChart:
    """Lines over the window; a None value breaks a line, so a missing cycle is not drawn as a slope."""
    values = [v for points in series.values() for _, v in points if v is not None]
    top = nice_top(max(values, default=0.0))
    lines = []
    for i, (label, points) in enumerate(series.items()):
        segments: list[list[str]] = [[]]
        end = None
        for at, value in points:
            if at < win.start:
                continue
            if value is None:
                segments.append([])
                continue
            end = (win.x(at), round(height - value / top * height, 2))
            segments[-1].append(f"{end[0]},{end[1]}")
        last = next((v for _, v in reversed(points) if v is not None), None)
        lines.append(Line(label, f"s{i % 4}", [" ".join(s) for s in segments if s], last, end))
    return LineChart(win.width, height, lines, top, win.ticks())


@dataclass(frozen=True, slots=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    label: str


def columns(counts: Sequence[Sequence[Any]], width: float, height: float) -> tuple[list[Column], float]:
    """One column per (time, count), left to right; returns them and the count at the top edge."""
    top = nice_top(max((n for _, n in counts), default=0))
    step = width / max(1, len(counts))
    out = []
    for i, (at, n) in enumerate(counts):
        h = round(n / top * height, 2)
        label = f"{time.strftime('%H:%M', time.gmtime(at))} UTC: {n}"
        out.append(Column(round(i * step, 2), round(height - h, 2), round(max(step - 1, 1), 2), h, label))
    return out, top


@dataclass(frozen=True, slots=True)
class Cell:
    x: float
    y: float
    css: str
    mark: bool  # an error: drawn with a cross, not only a colour
    label: str


@dataclass(frozen=True, slots=True)
class Heatmap:
    width: float
    height: float
    cell: float
    margin: float  # room for the row labels
    top: float  # room for the column labels
    cells: list[Cell]
    rows: list[tuple[float, str, str]]  # (y, short label, full name)
    columns: list[tuple[float, str, str]]


def latency_css(ok: bool, seconds: float | None) -> str:
    if not ok:
        return "err"
    if seconds is None:
        return "none"
    return next(f"lat{i}" for i, bound in enumerate((0.05, 0.2, 0.5, 1.0, math.inf)) if seconds < bound)


def short_names(names: Sequence[str]) -> dict[str, str]:
    """Node names up to their first dot (ip-10-0-1-11), unless that makes two of them alike."""
    short = {n: n.split(".", 1)[0] for n in names}
    return short if len(set(short.values())) == len(short) else {n: n for n in names}


def heatmap(rows: Sequence[str], cols: Sequence[str], cell_of: Callable[[str, str], tuple[str, bool, str]],
            cell: float = 26.0) -> Heatmap:
    """Row x column cells; `cell_of(row, col)` gives (css class, error mark, label)."""
    short = short_names([*rows, *cols])
    margin = 8.0 + 7.0 * max((len(short[r]) for r in rows), default=4)
    top = 8.0 + 7.0 * max((len(short[c]) for c in cols), default=4)
    cells = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            css, mark, label = cell_of(r, c)
            cells.append(Cell(margin + j * cell, top + i * cell, css, mark, label))
    return Heatmap(
        width=margin + len(cols) * cell + 4, height=top + len(rows) * cell + 4, cell=cell, margin=margin, top=top,
        cells=cells,
        rows=[(top + i * cell + cell / 2, short[r], r) for i, r in enumerate(rows)],
        columns=[(margin + j * cell + cell / 2, short[c], c) for j, c in enumerate(cols)],
    )


def matrix(rows: Sequence[str], cols: Sequence[str], paths: Mapping[str, Mapping[str, Mapping[str, Any]]],
           sources: Mapping[str, Mapping[str, Any]]) -> Heatmap:
    """Who reaches whom: a path's latency colour, a cross on an error, grey where the source's nurse did not say."""

    short = short_names([*rows, *cols])

    def cell_of(src: str, dst: str) -> tuple[str, bool, str]:
        path = f"{short[src]} -> {short[dst]}"
        if not sources.get(src, {}).get("reachable", True):
            return "unknown", False, f"{path}: no answer from the nurse on {short[src]}"
        cell = paths.get(src, {}).get(dst)
        if cell is None:
            return "none", False, f"{path}: not checked"
        ok = bool(cell.get("ok"))
        what = f"{cell.get('event') or 'error'}" if not ok else "ok"
        seconds = cell.get("seconds")
        took = f", {seconds * 1000:.0f} ms" if seconds is not None else ""
        return latency_css(ok, seconds), not ok, f"{path}: {what}{took}"

    return heatmap(rows, cols, cell_of)

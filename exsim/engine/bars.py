"""Bars as the engine sees them: columns of integer ticks, and the intra-bar path.

A chunk holds a few thousand consecutive bars column-wise (plain lists, filled from Arrow
in the reader thread) so the replay loop never builds one object per bar. Prices are integer
multiples of the symbol's tickSize; volume stays a float (it is only reported, never matched).
"""
from __future__ import annotations

from typing import Optional

import msgspec


class BarChunk(msgspec.Struct):
    """Rows sorted by (ts, symbol): with several symbols, the bars of one open time (a *step*
    of the clock) are consecutive rows. `sym` is each row's symbol index (the Sim's market
    order), None when the whole chunk is one symbol's (index 0); `starts` the first row of each
    step, None when every row is a step of its own."""

    ts: list[int]  # open time, epoch ms
    open: list[int]  # ticks
    high: list[int]
    low: list[int]
    close: list[int]
    volume: list[float]
    sym: Optional[list[int]] = None
    starts: Optional[list[int]] = None
    # the bar's mark-price kline (ticks; 0 where none), when mark-price klines are loaded
    mark_high: Optional[list[int]] = None
    mark_low: Optional[list[int]] = None
    mark: Optional[list[int]] = None  # close
    # per row, its bars at fill_resolution (o, h, l, c ticks, volume), in time order: the
    # clock replays a bar as these segments when orders or positions are open
    sub: Optional[list[list[tuple]]] = None
    # per symbol index, its rows and columns, split on first use (Clock.recent_bars)
    by_symbol: Optional[dict] = None

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def steps(self) -> int:
        return len(self.ts) if self.starts is None else len(self.starts)

    def step_rows(self, step: int) -> tuple[int, int]:
        """Rows [i, j) of step number `step` of this chunk."""
        if self.starts is None:
            return step, step + 1
        starts = self.starts
        return starts[step], starts[step + 1] if step + 1 < len(starts) else len(self.ts)

    def symbol_at(self, row: int) -> int:
        return 0 if self.sym is None else self.sym[row]


def step_starts(ts: list[int]) -> list[int]:
    """First row of each run of equal open times (the steps of a multi-symbol chunk)."""
    return [k for k in range(len(ts)) if k == 0 or ts[k] != ts[k - 1]]


def path_points(o: int, h: int, l: int, c: int) -> tuple[int, int, int, int]:
    """The assumed intra-bar path: O-L-H-C for an up (or flat) bar, O-H-L-C for a down bar.

    This is the one place the assumption lives; ticks (x=false updates) and fills both follow it.
    """
    if c >= o:
        return (o, l, h, c)
    return (o, h, l, c)


def point_at(points: tuple[int, int, int, int], frac: float) -> int:
    """Price at `frac` (0..1) of the way along the path, the three legs taking equal time."""
    if frac >= 1.0:
        return points[3]
    pos = frac * 3.0
    leg = int(pos)
    a, b = points[leg], points[leg + 1]
    return a + round((b - a) * (pos - leg))


def tick_segments(o: int, h: int, l: int, c: int, n: int) -> list[tuple[int, int, int, int]]:
    """Split a bar into n consecutive (open, high, low, close) segments along its path.

    Segment j covers path fractions [(j-1)/n, j/n]; its high/low include any path corner
    passed inside it, so the union of segments reaches exactly the bar's high and low.
    """
    if n <= 1:
        return [(o, h, l, c)]
    points = path_points(o, h, l, c)
    corners = (0.0, 1 / 3, 2 / 3, 1.0)
    out = []
    prev_frac, prev_price = 0.0, o
    for j in range(1, n + 1):
        frac = j / n
        price = point_at(points, frac)
        seg_hi = max(prev_price, price)
        seg_lo = min(prev_price, price)
        for k in (1, 2):
            if prev_frac < corners[k] <= frac:
                seg_hi = max(seg_hi, points[k])
                seg_lo = min(seg_lo, points[k])
        out.append((prev_price, seg_hi, seg_lo, price))
        prev_frac, prev_price = frac, price
    return out

"""Bars of a coarser interval built from the base bars as they replay (a 1h kline from 1m bars).

A period's bar is the merge of the base bars closed in it so far and the base bar still
forming: open of the first, high/low the extremes, close the latest, volumes summed. It is
final exactly when the last base bar of the period closes (Binance's boundaries: see
timeutil.period_open); when data has a gap at the end of a period, the period is closed by
the first base bar after it.
"""
from __future__ import annotations

from typing import Optional

from ..timeutil import period_end, period_open

Frame = tuple  # (open_ts, close_ts, o, h, l, c, v, final)


class PeriodBar:
    __slots__ = ("interval", "base_ms", "open_ts", "end_ts", "closed")

    def __init__(self, interval: str, base_ms: int) -> None:
        self.interval = interval
        self.base_ms = base_ms
        self.open_ts: Optional[int] = None
        self.end_ts = 0
        self.closed: Optional[tuple] = None  # (o, h, l, c, v) of the base bars closed so far

    def seed(self, open_ts: int, o: int, h: int, l: int, c: int, v: float) -> None:
        """The period's bar as the base bars already replayed make it (from the database, when a
        stream is subscribed mid-period)."""
        self.open_ts, self.end_ts = open_ts, period_end(self.interval, open_ts)
        self.closed = (o, h, l, c, v)

    def reset(self) -> None:
        self.open_ts, self.closed = None, None

    def update(self, ts: int, o: int, h: int, l: int, c: int, v: float, final: bool) -> list[Frame]:
        """The frames one base tick makes: the period's bar so far (and before it the final of
        the previous period, if a data gap left it unclosed)."""
        out = []
        p = period_open(self.interval, ts) if ts >= self.end_ts or self.open_ts is None else self.open_ts
        if p != self.open_ts:
            if self.closed is not None:  # the previous period's last base bar never came
                out.append((self.open_ts, self.end_ts - 1, *self.closed, True))
            self.open_ts, self.end_ts, self.closed = p, period_end(self.interval, p), None
        if self.closed is None:
            bar = (o, h, l, c, v)
        else:
            co, ch, cl, _, cv = self.closed
            bar = (co, ch if ch > h else h, cl if cl < l else l, c, cv + v)
        done = final and ts + self.base_ms >= self.end_ts
        out.append((p, self.end_ts - 1, *bar, done))
        if done:
            self.open_ts, self.closed = None, None
        elif final:
            self.closed = bar
        return out

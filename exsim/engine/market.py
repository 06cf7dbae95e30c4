"""One replayed symbol: its instrument, last price, bar so far, data range, funding schedule and
its order book."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Iterable, Optional

from ..timeutil import FUNDING_PERIOD_MS
from .book import Book
from .instrument import Instrument


class Market:
    def __init__(self, index: int, inst: Instrument, interval_ms: int) -> None:
        self.index = index  # position in the Sim's markets (the bar chunks' `sym`)
        self.inst = inst
        self.interval_ms = interval_ms
        self.book = Book()
        self.last = 0  # ticks; 0 until the symbol's first bar is revealed
        # mark price (ticks): the loaded mark-price klines' close, else the last price
        self.mark = 0
        self.has_mark_data = False
        self.mark_bars: dict[int, tuple[int, int, int]] = {}  # open ts -> mark (high, low, close), this chunk
        self.arrived: list = []  # orders that reached the book during the current segment (latency)
        self.risk_bounds: tuple | None = None  # engine/risk.py RiskWatch.check's, for the fast path
        self.bar: Optional[tuple] = None  # (ts, o, h, l, c, v) of the current/last bar so far
        self.bar_final = True
        self.data_end: Optional[int] = None  # close of the symbol's last bar in the run (+1 ms)
        self.funding: list[tuple[int, Fraction]] = []  # (time, rate) ahead of sim time
        self.funding_idx = 0
        self.last_funding_rate = Fraction(0)
        self.constant_rate: Optional[Fraction] = None
        self.next_funding_time = 0
        self.run_start = 0

    def reset(self) -> None:
        self.last, self.mark, self.bar, self.bar_final = 0, 0, None, True

    def trading(self, now: int) -> bool:
        """Orders are accepted once the symbol's first bar is revealed and until its data ends
        (other symbols may replay on; Binance then lists it as not trading)."""
        return self.last != 0 and (self.data_end is None or now <= self.data_end)

    def status(self, now: int) -> str:
        """exchangeInfo's status: before its data PENDING_TRADING, after it CLOSE."""
        if self.last == 0:
            return "PENDING_TRADING"
        return "TRADING" if self.trading(now) else "CLOSE"

    def set_funding(self, rows: Iterable[tuple[int, float]], constant_rate: float, start: int) -> None:
        # rates may come as Fractions already (converted off the event loop: see exsim/replay.py)
        self.funding = [(int(t), r if isinstance(r, Fraction) else Fraction(Decimal(str(r)))) for t, r in rows]
        self.funding_idx = 0
        self.run_start = start
        self.constant_rate = None if self.funding else Fraction(Decimal(str(constant_rate)))
        self.last_funding_rate = self.constant_rate or Fraction(0)
        self.next_funding_time = (self.funding[0][0] if self.funding
                                  else (start // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS)

    def advance_funding(self) -> tuple[int, Fraction]:
        """(time, rate) of the next funding settlement; moves the schedule past it."""
        when = self.next_funding_time
        if self.funding:
            rate = self.funding[self.funding_idx][1] if self.funding_idx < len(self.funding) else self.last_funding_rate
            self.funding_idx += 1
            self.next_funding_time = (self.funding[self.funding_idx][0] if self.funding_idx < len(self.funding)
                                      else self.next_funding_time + FUNDING_PERIOD_MS)
        else:
            rate = self.constant_rate or Fraction(0)
            self.next_funding_time += FUNDING_PERIOD_MS
        self.last_funding_rate = rate
        return when, rate

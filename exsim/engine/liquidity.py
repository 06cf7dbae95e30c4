"""How much a bar can fill: `max_participation` of its volume, shared by every order of the
symbol (all accounts) in book order. Off (0) means unlimited liquidity, the default.

A fill on a price segment takes from the volume of the bar it belongs to (as known so far: with
intra-bar ticks, each tick adds its share). An order filled on arrival (a MARKET or marketable
LIMIT sent between bars) takes from the last bar's volume: the liquidity that traded at the
price it fills at.
"""
from __future__ import annotations

from fractions import Fraction

from .instrument import Instrument


class VolumeCap:
    def __init__(self, participation: float) -> None:
        self.share = Fraction(str(participation))
        self._bar: dict[str, int] = {}  # symbol -> open time of the bar being drawn from
        self._used: dict[str, int] = {}  # symbol -> steps taken from it
        self._volume: dict[str, float] = {}  # symbol -> its volume known so far

    def on_segment(self, symbol: str, bar_ts: int, volume: float) -> None:
        if self._bar.get(symbol) != bar_ts:
            self._bar[symbol], self._used[symbol] = bar_ts, 0
        self._volume[symbol] = volume

    def available(self, inst: Instrument) -> int:
        """Steps the orders of the symbol may still fill in the current bar."""
        symbol = inst.symbol
        allowed = Fraction(str(self._volume.get(symbol, 0.0))) * self.share / inst.qty.size
        return max(0, int(allowed) - self._used.get(symbol, 0))

    def take(self, inst: Instrument, want: int) -> int:
        """Steps (at most `want`) filled now; recorded as taken."""
        got = min(want, self.available(inst))
        self._used[inst.symbol] = self._used.get(inst.symbol, 0) + got
        return got

    def reset(self) -> None:
        self._bar.clear()
        self._used.clear()
        self._volume.clear()

"""The synthetic order book of one symbol: its levels and update ids as the replayed price moves.

A bar replay has no order book, so ExSim derives one from the price, deterministically, in
integer ticks and steps:

- Levels: `DEPTH` (1000, REST's largest limit) price levels a tick apart on each side, the
  bids from the best bid down, the asks from the best ask up. The best bid and ask are those
  of bookTicker (rest_market.book: half the configured spread each side of the last price).
- Quantities: a level's quantity is a fixed function of its price, 1..LOTS x minQty (a
  multiplicative hash of the price in ticks), except the best level of each side, which holds
  bookTicker's 100 x minQty. So the book reads like a static landscape of resting liquidity
  that the price walks through: a move of k ticks changes about k + 2 levels per side (levels
  leave one edge, enter the other, and the old and new best levels swap their quantities).
- Update ids: every replayed tick of the symbol is one book update with the even id
  `u = 2 x tick number` (the tick number also names the tick's trade: store/trades_reader.py).
  An update's `pu` is the previous update's `u` and `U = pu + 1`. REST's `lastUpdateId` is the
  last update's `u + 1`: an odd id that no event ends on, so the next event always satisfies
  Binance's "U <= lastUpdateId <= u" for a snapshot taken at any moment, even with the clock
  paused (an even id would be the last event's `u`, which a client subscribing after that
  event never sees).

The book's state is what was last published (by a stream event or a REST snapshot), and the
next update is the difference from it; while a depth stream is subscribed it advances on every
tick, so a REST snapshot is always the state the next event starts from.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from ..engine.instrument import Instrument
from ..engine.market import Market
from ..store.trades_reader import tick_index, trade_id

DEPTH = 1000
LOTS = 199
TOP_LOTS = 100  # the best level's quantity in minQty: bookTicker's B / A
_HASH = 2654435761  # Knuth's multiplicative hash constant

Level = tuple[int, int]  # (price in ticks, quantity in steps); quantity 0: the level is gone


class Update(NamedTuple):
    U: int
    u: int
    pu: int
    bids: list[Level]  # the levels that changed, best first; quantity 0 for a removed one
    asks: list[Level]
    bid: int  # the best bid and ask after the update (0, 0: an empty book)
    ask: int


def market_tick(m: Market, now: int, interval_ms: int, n: int) -> int:
    """The tick number of the last tick of `m` replayed by sim time `now` (0: none yet)."""
    if m.bar is None:
        return 0
    ts = m.bar[0]
    j = n if m.bar_final else tick_index(ts, now, interval_ms, n)
    return trade_id(ts, j, interval_ms, n)


def _span(best: int, side: int) -> tuple[int, int]:
    """The prices [lo, hi] of one side's levels (lo > hi: none)."""
    if best <= 0:
        return 1, 0
    return (max(1, best - DEPTH + 1), best) if side < 0 else (best, best + DEPTH - 1)


def _minus(a: tuple[int, int], b: tuple[int, int]) -> list[range]:
    """The prices of span a that are not in span b."""
    lo, hi = a
    if lo > hi:
        return []
    if b[0] > b[1] or b[1] < lo or b[0] > hi:
        return [range(lo, hi + 1)]
    return [r for r in (range(lo, b[0]), range(b[1] + 1, hi + 1)) if r]


class DepthBook:
    """One symbol's synthetic book (see the module doc)."""

    def __init__(self, inst: Instrument) -> None:
        self.min_qty = inst.min_qty
        self.top_qty = inst.min_qty * TOP_LOTS
        self.update: Optional[Update] = None  # the last one published
        self.tick = -1

    def qty(self, price: int) -> int:
        return self.min_qty * (1 + ((price * _HASH) >> 16) % LOTS)

    def _level(self, price: int, best: int) -> Level:
        return price, self.top_qty if price == best else self.qty(price)

    def levels(self, limit: int) -> tuple[list[Level], list[Level]]:
        """The best `limit` levels of each side as last published, best first."""
        upd = self.update
        if upd is None:
            return [], []
        bid, ask = upd.bid, upd.ask
        bids = [self._level(p, bid) for p in range(bid, max(0, bid - min(limit, DEPTH)), -1)] if bid > 0 else []
        asks = [self._level(p, ask) for p in range(ask, ask + min(limit, DEPTH))] if ask > 0 else []
        return bids, asks

    def at(self, tick: int, bid: int, ask: int) -> Update:
        """The update that brings the book to tick number `tick`, best bid/ask (bid, ask); the
        same object again for the same tick (several streams, a REST snapshot)."""
        last = self.update
        if last is not None and tick == self.tick:
            return last
        u = 2 * tick
        pu = last.u if last is not None and last.u < u else u - 2  # a new run may go back in time
        old_bid, old_ask = (last.bid, last.ask) if last is not None else (0, 0)
        upd = Update(pu + 1, u, pu, self._side(old_bid, bid, -1), self._side(old_ask, ask, 1), bid, ask)
        self.update, self.tick = upd, tick
        return upd

    def _side(self, old: int, new: int, side: int) -> list[Level]:
        """The levels of one side that differ between best `old` and best `new`, best first."""
        if old == new:
            return []
        was, now = _span(old, side), _span(new, side)
        changed = {p: 0 for r in _minus(was, now) for p in r}
        for r in _minus(now, was):
            for p in r:
                changed[p] = self.qty(p)
        if now[0] <= old <= now[1]:
            changed[old] = self.qty(old)  # the old best is an ordinary level now
        if new > 0:
            changed[new] = self.top_qty
        return sorted(changed.items(), reverse=side < 0)

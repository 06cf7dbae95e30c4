"""The synthetic trade tape: what "a trade" is in a bar replay, and reading it back from the bars.

There are no real trades in a database of bars, so ExSim defines them, once, here; the
`@trade` and `@aggTrade` streams (wire/streams.py) and the REST routes `/fapi/v1/trades`,
`/fapi/v1/historicalTrades` and `/fapi/v1/aggTrades` (wire/rest_trades_market.py) all use
these functions, so the same id always has the same price, quantity and time.

With `n` = ticks_per_bar and `ims` the base interval in ms, a base bar (ts, o, h, l, c, v)
holds one trade per intra-bar tick j = 1..n (the clock's ticks, engine/bars.tick_segments):

- id      `(ts // ims) * n + j`: per symbol, increasing, a pure function of the bar's time, so
          REST can find a trade from its id without counting (ids skip over gaps in the data);
- time    `ts + (ims * j) // n - 1`: 1 ms before the clock reaches the tick's end (the stream
          sends it then, as event time E), so every trade lies inside its bar and a trade
          is visible exactly when the tick that made it has been replayed (time < sim time);
- price   the tick's close (for n = 1: the bar's close);
- qty     the bar's volume so far at tick j, `v * j / n` (the same float the clock hands to
          the streams), divided by j: an even share of the bar's volume per trade, rounded to
          whole steps. A tick whose share rounds to 0 steps has no trade (its id is skipped);
- m       (buyer is maker: the taker sold) when the price is below the bar's open.

One trade per aggregate trade: aggTrade `a` = `f` = `l` = the trade's id.
Every function here that takes `con` blocks: callers run it in the store's query thread.
"""
from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple, Optional

import duckdb

from ..engine.bars import tick_segments
from .reader import bar_source

PAGE_BARS_MAX = 20_000  # bars read per query while looking for `limit` trades
SCAN_BARS_MAX = 200_000  # ...and at most this many per request (a long stretch of empty bars)


class Tape(NamedTuple):
    """What defines one symbol's synthetic trades besides its bars."""

    interval_ms: int
    ticks_per_bar: int
    tick_size: str  # the price grid: bars are snapped to it as the replay snaps them
    qty_units: int  # Grid.units of the quantity grid (a step in 10**-decimals)
    qty_decimals: int


class Trade(NamedTuple):
    id: int
    time: int
    price: int  # ticks
    qty: int  # steps
    buyer_maker: bool


def trade_id(ts: int, j: int, interval_ms: int, n: int) -> int:
    return (ts // interval_ms) * n + j


def tick_index(ts: int, now: int, interval_ms: int, n: int) -> int:
    """j of the tick of the bar opened at `ts` that ends at sim time `now` (the clock's
    `now = ts + (ims * j) // n`, strictly increasing in j while n <= ims)."""
    return -((-(now - ts) * n) // interval_ms)


def qty_steps(v_so_far: float, j: int, tape: Tape) -> int:
    """The steps of trade j, from the bar's volume so far at tick j (see the module doc)."""
    return round(v_so_far / j * 10 ** tape.qty_decimals / tape.qty_units)


def bar_trades(ts: int, o: int, h: int, l: int, c: int, v: float, tape: Tape) -> list[Trade]:
    """The synthetic trades of one base bar, in order."""
    n, ims = tape.ticks_per_bar, tape.interval_ms
    closes = [c] if n == 1 else [seg[3] for seg in tick_segments(o, h, l, c, n)]
    out = []
    for j in range(1, n + 1):
        q = qty_steps(v * j / n, j, tape)
        if q > 0:
            price = closes[j - 1]
            out.append(Trade(trade_id(ts, j, ims, n), ts + (ims * j) // n - 1, price, q, price < o))
    return out


def _bars(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, tape: Tape, lo: int, hi: int,
          newest_first: bool, limit: int) -> list[tuple]:
    """Bars (ts, o, h, l, c, v) with lo <= ts <= hi, prices in ticks as the replay reads them."""
    src, params = bar_source(con, symbol, interval, hi + tape.interval_ms, since=lo)
    t = float(Decimal(tape.tick_size))
    sql = (f"SELECT ts, CAST(round(open / {t}) AS BIGINT), CAST(round(high / {t}) AS BIGINT), "
           f"CAST(round(low / {t}) AS BIGINT), CAST(round(close / {t}) AS BIGINT), CAST(volume AS DOUBLE) "
           f"FROM {src} WHERE ts >= ? AND ts <= ? ORDER BY ts {'DESC' if newest_first else 'ASC'} LIMIT ?")
    return con.execute(sql, params + [lo, hi, limit]).fetchall()


def trades(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, tape: Tape, now: int, limit: int,
           from_id: Optional[int] = None, start: Optional[int] = None, end: Optional[int] = None) -> list[Trade]:
    """Up to `limit` trades made before sim time `now`, oldest first: from `from_id` and/or
    `start` on (the first `limit`), else the last `limit` up to `end` (or now)."""
    ims, n = tape.interval_ms, tape.ticks_per_bar
    hi_time = now - 1 if end is None else min(end, now - 1)  # the latest visible trade time
    lo_time = -(1 << 62) if start is None else start
    lo_id = -(1 << 62) if from_id is None else from_id
    lo_ts = lo_time - ims + 1  # a bar's trades lie in [ts, ts + ims - 1]
    if from_id is not None:
        lo_ts = max(lo_ts, ((from_id - 1) // n) * ims)
    hi_ts = hi_time
    if lo_ts > hi_ts:
        return []
    forward = from_id is not None or start is not None
    page = min(PAGE_BARS_MAX, limit // n + 2)
    out: list[Trade] = []
    scanned = 0
    while scanned < SCAN_BARS_MAX:
        rows = _bars(con, symbol, interval, tape, lo_ts, hi_ts, not forward, page)
        scanned += len(rows)
        got = [t for ts, o, h, l, c, v in (rows if forward else reversed(rows))
               for t in bar_trades(ts, o, h, l, c, v, tape) if lo_time <= t.time <= hi_time and t.id >= lo_id]
        out = out + got if forward else got + out
        if forward and len(out) >= limit:
            return out[:limit]
        if not forward and len(out) >= limit:
            return out[-limit:]
        if len(rows) < page:
            break
        if forward:
            lo_ts = rows[-1][0] + 1
        else:
            hi_ts = rows[-1][0] - 1
        page = min(PAGE_BARS_MAX, page * 4)
    return out if forward else out[-limit:]

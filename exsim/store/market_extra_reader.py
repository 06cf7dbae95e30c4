"""Queries behind the extra market-data routes (wire/rest_market_extra.py): funding settlements
for premium-index klines and open-interest points. Every function blocks: callers run it on
the store's query thread (`Database.query`), never on the event loop.

Open interest comes from an `open_interest` table when the database has rows for the symbol:

    open_interest(symbol VARCHAR, ts BIGINT, sum_open_interest DOUBLE,
                  sum_open_interest_value DOUBLE)

(one snapshot per row, e.g. the 5-minute `metrics` files Binance publishes). Without one it is
synthetic and deterministic: the base volume of the bars that opened in the 24 h before the
point and closed before it (the `ticker/24hr` volume at that moment), valued at the close of
the last of those bars.
"""
from __future__ import annotations

from decimal import Decimal

import duckdb

from .reader import bar_source
from .schema import existing_tables

DAY_MS = 86_400_000
OI_TABLE = "open_interest"


def funding_steps(con: duckdb.DuckDBPyConnection, symbol: str, lo: int, hi: int) -> list[tuple[int, float]]:
    """(funding_time, rate) of the settlements in (lo, hi], led by the last one at or before
    `lo` (the rate in force at `lo`), oldest first; [] without a funding table."""
    if "funding" not in existing_tables(con):
        return []
    return con.execute(
        "SELECT funding_time, funding_rate FROM funding WHERE symbol = ? AND funding_time <= ? AND "
        "funding_time >= coalesce((SELECT max(funding_time) FROM funding WHERE symbol = ? "
        "AND funding_time <= ?), ?) ORDER BY funding_time",
        [symbol, hi, symbol, lo, lo]).fetchall()


def _has_snapshots(con: duckdb.DuckDBPyConnection, symbol: str) -> bool:
    return OI_TABLE in existing_tables(con) and con.execute(
        f"SELECT 1 FROM {OI_TABLE} WHERE symbol = ? LIMIT 1", [symbol]).fetchall() != []


def open_interest(con: duckdb.DuckDBPyConnection, symbol: str, base: str, first: int, last: int,
                  step: int, now: int, stale_ms: int) -> list[tuple[int, Decimal, float]]:
    """(t, open interest, its value in quote) at t = first, first + step, ... <= min(last, now),
    oldest first, for the points that have data: a snapshot in (t - stale_ms, t], or (synthetic)
    at least one bar closed before t."""
    last = min(last, now)
    if last < first:
        return []
    grid = "(SELECT range AS t FROM range(?, ?, ?))"
    grid_params = [first, last + 1, step]
    if _has_snapshots(con, symbol):
        rows = con.execute(
            f"SELECT g.t, CAST(o.sum_open_interest AS DECIMAL(38, 8)), o.sum_open_interest_value "
            f"FROM {grid} g ASOF JOIN (SELECT ts, sum_open_interest, sum_open_interest_value "
            f"FROM {OI_TABLE} WHERE symbol = ? AND ts <= ?) o ON g.t >= o.ts "
            f"WHERE o.ts > g.t - ? ORDER BY g.t", grid_params + [symbol, last, stale_ms]).fetchall()
        return [(t, oi, float(value if value is not None else 0.0)) for t, oi, value in rows]
    # A running total of volume, as exact decimals (a float window sum's order, and so its last
    # bits, is DuckDB's choice): a point's 24 h volume is the difference of two totals.
    src, params = bar_source(con, symbol, base, last, since=first - DAY_MS)  # what the points need
    rows = con.execute(
        f"WITH b AS (SELECT ts, close_ts, close, sum(CAST(volume AS DECIMAL(38, 8))) OVER "
        f"(ORDER BY ts ROWS UNBOUNDED PRECEDING) AS total FROM {src}) "
        f"SELECT g.t, hi.total - coalesce(lo.total, 0), hi.close FROM {grid} g "
        f"ASOF JOIN b hi ON g.t > hi.close_ts "
        f"ASOF LEFT JOIN b lo ON g.t - {DAY_MS} > lo.ts ORDER BY g.t",
        params + grid_params).fetchall()
    return [(t, oi, float(oi) * (close or 0.0)) for t, oi, close in rows]


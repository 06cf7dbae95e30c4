"""Deterministic synthetic market data, generated inside DuckDB in one SQL statement per symbol.

Randomness comes from `hash(seed, symbol, minute)` rather than a stateful RNG, so the same
seed gives the same bars on any machine and any thread count. Prices follow a geometric random
walk whose volatility and drift change by regime (two-week volatility regimes, monthly drift),
OHLC comes from the minute's move plus wick noise, funding settles every 8 h.
"""
from __future__ import annotations

import time
from decimal import Decimal

import duckdb

from ..config import DEFAULT_SYMBOLS, SymbolSpec
from .schema import ensure_schema, ohlc_ddl, ohlc_table, set_info

DEMO_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
DEMO_END_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z (exclusive)

# symbol -> (first price, annualised volatility, volume per minute in base units)
DEMO_SYMBOLS: dict[str, tuple[float, float, float]] = {
    "BTCUSDT": (42_000.0, 0.55, 180.0),
    "ETHUSDT": (2_300.0, 0.70, 2_400.0),
}

# hash -> uniform in (0, 1); never exactly 0 so ln() is safe
_U = "((hash({args}) % 9007199254740992)::DOUBLE + 0.5) / 9007199254740992.0"


def _u(*args: str) -> str:
    return _U.format(args=", ".join(args))


def _normal(tag: str, index: str) -> str:
    # Box-Muller. Two hashes of the same tuple with different tags are correlated (DuckDB combines
    # per-argument hashes), which biased the walk; chaining hash(hash(...)) decorrelates them.
    base = f"hash($seed, $sym, '{tag}', {index})"
    u1 = _u(base)
    u2 = _u(f"hash({base})")
    return f"(sqrt(-2 * ln({u1})) * cos(2 * pi() * {u2}))"


def _bars_sql(table: str, tick_size: str) -> str:
    tick, dec = float(tick_size), max(0, -Decimal(tick_size).as_tuple().exponent)

    def on_tick(expr: str) -> str:  # round to the tick, then to its decimals (no 0.1 float tails)
        return f"round(round({expr} / {tick}) * {tick}, {dec})"

    per_min = "(1.0 / sqrt(525600.0))"
    vol_regime = f"exp(0.45 * {_normal('vr', 'i // 20160')})"  # 14-day blocks
    drift_regime = f"(0.9 * {_normal('dr', 'i // 43200')} / 525600.0)"  # monthly drift, ~+-90%/yr
    return f"""
    INSERT INTO {table}
    WITH steps AS (
        SELECT i, $start + i * 60000 AS ts,
               $vol * {per_min} * {vol_regime} AS sigma,
               {drift_regime} + $vol * {per_min} * {vol_regime} * {_normal('r', 'i')} AS r,
               abs({_normal('h', 'i')}) AS zh, abs({_normal('l', 'i')}) AS zl,
               exp(0.6 * {_normal('v', 'i')}) * {vol_regime} AS vm
        FROM range(0, $n) t(i)
    ), walk AS (
        SELECT *, $p0 * exp(sum(r) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS c
        FROM steps
    ), ohlc AS (
        SELECT ts, coalesce(lag(c) OVER (ORDER BY i), $p0) AS o, c, sigma, zh, zl, vm FROM walk
    )
    SELECT $sym, ts,
           {on_tick("o")},
           {on_tick("greatest(o, c) * exp(0.6 * sigma * zh)")},
           {on_tick("least(o, c) * exp(-0.6 * sigma * zl)")},
           {on_tick("c")},
           round($volume * vm, 3),
           ts + 59999
    FROM ohlc ORDER BY ts
    """


_FUNDING_SQL = f"""
    INSERT INTO funding
    SELECT $sym, $start + k * 28800000,
           round(0.0001 + 0.00012 * {_normal('f', 'k')}, 8)
    FROM range(0, $n // 480) t(k)
"""


def generate(con: duckdb.DuckDBPyConnection, seed: int = 7, start_ms: int = DEMO_START_MS,
             end_ms: int = DEMO_END_MS, symbols: dict | None = None, progress=None) -> dict[str, float]:
    """Fill ohlc_1m and funding with synthetic data (replacing that range). Returns seconds per symbol.
    `progress` (an exsim.progress.Progress, optional) advances by one per symbol written."""
    ensure_schema(con)
    symbols = symbols or DEMO_SYMBOLS
    table = ohlc_table("1m")
    con.execute(ohlc_ddl(table))
    n = (end_ms - start_ms) // 60_000
    timings = {}
    con.execute("BEGIN")
    try:
        for sym, (p0, vol, volume) in symbols.items():
            began = time.perf_counter()
            tick = (DEFAULT_SYMBOLS.get(sym) or SymbolSpec()).tick_size
            params = {"seed": seed, "sym": sym, "start": start_ms, "n": n, "p0": p0, "vol": vol,
                      "volume": volume}
            con.execute(f"DELETE FROM {table} WHERE symbol = $sym AND ts >= $start AND ts < $end",
                        {"sym": sym, "start": start_ms, "end": end_ms})
            con.execute("DELETE FROM funding WHERE symbol = $sym AND funding_time >= $start "
                        "AND funding_time < $end", {"sym": sym, "start": start_ms, "end": end_ms})
            con.execute(_bars_sql(table, tick), params)
            con.execute(_FUNDING_SQL, {"seed": seed, "sym": sym, "start": start_ms, "n": n})
            timings[sym] = time.perf_counter() - began
            if progress is not None:
                progress.update(1)
        set_info(con, "data_source", "synthetic")
        set_info(con, "demo_seed", str(seed))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return timings

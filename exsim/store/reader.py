"""Bar queries for the clock and the REST routes. Every function here blocks: callers run it
in a worker thread (never on the event loop).

Where the requested interval has no table, bars are resampled in SQL from the finest table
that divides it (load 1m once, replay any interval). A plain `ohlc` table is the last resort.
"""
from __future__ import annotations

import hashlib
import time
from decimal import Decimal
from typing import Callable, Iterator, Optional

import duckdb

from ..engine.bars import BarChunk, step_starts
from ..timeutil import INTERVAL_MS, WEEK_OFFSET_MS, aggregates, period_open
from .schema import existing_tables, mark_table, ohlc_table
from .spacing import interval_named, mismatch

FAR_FUTURE = 1 << 62
# Bars per chunk: the clock holds the current and previous chunk and the feed reads one ahead,
# ~6 Python objects per bar each, so this bounds a replay's memory whatever its length.
CHUNK_ROWS = 16_384
SLICE_ROWS = 8192  # rows turned into Python objects per GIL hold (see _columns)


class NoData(Exception):
    """No bars for that symbol/interval in the database."""


class WrongSpacing(NoData):
    """The table bar_source would read holds bars of another interval (see spacing.py)."""


def _check_spacing(con: duckdb.DuckDBPyConnection, table: str, symbol: str, read_as: str) -> None:
    problem = mismatch(con, table, symbol, read_as)
    if problem:
        raise WrongSpacing(problem)


def _has_rows(con: duckdb.DuckDBPyConnection, table: str, symbol: str) -> bool:
    """Whether `table` has rows for `symbol`. Every table bar_source reads passes here, so an
    `ohlc_<interval>` table's rows are also checked to be <interval> bars here; a plain `ohlc`
    table names no interval, and bar_source checks it against the interval asked."""
    if con.execute(f"SELECT 1 FROM {table} WHERE symbol = ? LIMIT 1", [symbol]).fetchall() == []:
        return False
    named = interval_named(table)
    if named is not None:
        _check_spacing(con, table, symbol, named)
    return True


def bar_source(con: duckdb.DuckDBPyConnection, symbol: str, interval: str,
               closed_before: int = FAR_FUTURE, base: Optional[str] = None,
               since: int = -FAR_FUTURE) -> tuple[str, list]:
    """SQL (a subquery yielding symbol, ts, open, high, low, close, volume, close_ts) and its params.

    Only base bars that closed before `closed_before` take part, so a resampled bar that is
    still forming comes out partial and nothing after sim time leaks (no look-ahead).
    With `base` (the replayed interval), a coarser interval is always built from the base
    bars, as the streams build it, so REST and streams agree and the open period is there.
    `since` (a period boundary) bounds the bars read from below, so zone maps skip the rest.
    """
    tables = existing_tables(con)
    where = "WHERE symbol = ? AND close_ts < ? AND ts >= ?"
    params = [symbol, closed_before, since]
    if base is not None and interval != base and aggregates(interval, base):
        src, base_params = bar_source(con, symbol, base, closed_before, since=since)
        return _resampled(src, interval), base_params
    direct = ohlc_table(interval)
    if direct in tables and _has_rows(con, direct, symbol):
        return (f"(SELECT symbol, ts, open, high, low, close, volume, close_ts FROM {direct} "
                f"{where})", params)
    target = INTERVAL_MS[interval]
    finer = sorted((ms, name) for name, ms in INTERVAL_MS.items()
                   if ms < target and aggregates(interval, name) and ohlc_table(name) in tables)
    for _, name in finer:
        table = ohlc_table(name)
        if _has_rows(con, table, symbol):
            return _resampled(f"(SELECT * FROM {table} {where})", interval), params
    if "ohlc" in tables and _has_rows(con, "ohlc", symbol):
        _check_spacing(con, "ohlc", symbol, interval)  # its rows are served as `interval` bars
        return ("(SELECT symbol, ts, open, high, low, close, volume, close_ts FROM ohlc "
                f"{where})", params)
    raise NoData(f"no {interval} bars for {symbol}")


def _resampled(src: str, interval: str) -> str:
    """`src`'s bars merged into `interval` periods on Binance's boundaries (weeks from Monday,
    1M the calendar month)."""
    if interval == "1M":
        month = "date_trunc('month', epoch_ms(ts))"
        # min(): one value per group (every bar of it is in that month), as the binder wants
        bucket, close = f"epoch_ms({month})", f"min(epoch_ms({month} + INTERVAL 1 MONTH)) - 1"
    else:
        target = INTERVAL_MS[interval]
        offset = WEEK_OFFSET_MS if interval == "1w" else 0
        bucket = f"((ts - {offset}) // {target}) * {target} + {offset}"
        close = f"{bucket} + {target - 1}"
    return (f"(SELECT symbol, {bucket} AS ts, arg_min(open, ts) AS open, max(high) AS high, "
            f"min(low) AS low, arg_max(close, ts) AS close, sum(volume) AS volume, "
            f"{close} AS close_ts FROM {src} GROUP BY symbol, {bucket})")


def bar_range(con: duckdb.DuckDBPyConnection, symbol: str, interval: str,
              start: int | None, end: int | None) -> tuple[int, int, int]:
    """(first open ts, last open ts, count) of the bars in [start, end)."""
    src, params = bar_source(con, symbol, interval)
    return _span(con, src, params, "count(*)", start, end, f"no {interval} bars for {symbol}")


def _span(con: duckdb.DuckDBPyConnection, src: str, params: list, count: str, start: int | None,
          end: int | None, missing: str) -> tuple[int, int, int]:
    """(min ts, max ts, `count`) of `src` in [start, end); NoData(`missing`) when empty."""
    row = con.execute(f"SELECT min(ts), max(ts), {count} FROM {src} WHERE ts >= ? AND ts < ?",
                      params + [start if start is not None else -FAR_FUTURE,
                                end if end is not None else FAR_FUTURE]).fetchall()[0]
    if not row or row[2] == 0:
        raise NoData(f"{missing} in the configured range")
    return int(row[0]), int(row[1]), int(row[2])


def mark_symbols(con: duckdb.DuckDBPyConnection, symbols: list[str], interval: str) -> list[bool]:
    """Per symbol: whether mark-price klines of `interval` are loaded for it."""
    table = mark_table(interval)
    if table not in existing_tables(con):
        return [False] * len(symbols)
    return [bool(con.execute(f"SELECT 1 FROM {table} WHERE symbol = ? LIMIT 1", [s]).fetchall()) for s in symbols]


def _union(con: duckdb.DuckDBPyConnection, symbols: list[str], interval: str,
           ticks: Optional[list[Decimal]] = None, marks: Optional[list[bool]] = None) -> tuple[str, list]:
    """The bars of every symbol as one subquery with a `sym` column (the symbol's index), and,
    with `ticks`, prices as integer ticks of each symbol's grid (columns o, h, l, c, v); with
    `marks`, also each bar's mark-price kline high, low and close in ticks (mh, ml, mc; 0 where
    there is none)."""
    parts, params = [], []
    for i, symbol in enumerate(symbols):
        src, p = bar_source(con, symbol, interval)
        if ticks is None:
            cols = "b.ts"
        else:
            t = float(ticks[i])
            cols = (f"b.ts, CAST(round(b.open / {t}) AS BIGINT) AS o, CAST(round(b.high / {t}) AS BIGINT) AS h, "
                    f"CAST(round(b.low / {t}) AS BIGINT) AS l, CAST(round(b.close / {t}) AS BIGINT) AS c, "
                    f"CAST(b.volume AS DOUBLE) AS v")
        if marks is not None and any(marks):
            if marks[i]:
                cols += "".join(f", coalesce(CAST(round(mk.{c} / {t}) AS BIGINT), 0) AS {n}"
                                for c, n in (("high", "mh"), ("low", "ml"), ("close", "mc")))
                src = (f"{src} b LEFT JOIN (SELECT ts, high, low, close FROM {mark_table(interval)} "
                       f"WHERE symbol = ?) mk ON mk.ts = b.ts")
                p = p + [symbol]
            else:
                cols += ", 0 AS mh, 0 AS ml, 0 AS mc"
                src += " b"
        else:
            src += " b"
        parts.append(f"SELECT {i} AS sym, {cols} FROM {src}")
        params += p
    return "(" + " UNION ALL ".join(parts) + ")", params


def steps_range(con: duckdb.DuckDBPyConnection, symbols: list[str], interval: str,
                start: int | None, end: int | None) -> tuple[int, int, int]:
    """(first open ts, last open ts, steps) over the union of the symbols' bars in [start, end):
    a step is one open time, whichever symbols have a bar then."""
    if len(symbols) == 1:  # one bar per step: no DISTINCT (its hash table held ~60 MB for 3 years)
        return bar_range(con, symbols[0], interval, start, end)
    src, params = _union(con, symbols, interval)
    return _span(con, src, params, "count(DISTINCT ts)", start, end, f"no {interval} bars for {', '.join(symbols)}")


def iter_chunks(con: duckdb.DuckDBPyConnection, symbols: list[str], interval: str, start: int, end: int,
                ticks: list[Decimal], chunk_rows: int = CHUNK_ROWS,
                payload: Optional[Callable[[], Optional[str]]] = None,
                marks: Optional[list[bool]] = None,
                fine: Optional[str] = None) -> Iterator[tuple[BarChunk, Optional[list]]]:
    """Bars of every symbol in [start, end) as integer-tick column chunks sorted by (ts, symbol),
    through Arrow, each with the values of `payload` (or None).

    One query per window of about `chunk_rows` bars (chunk_rows / symbols intervals): DuckDB
    sorts and holds one window, never the whole range, and memory stays flat however long the
    replay (one query over three years held ~140 MB more than one over a month).

    `payload`, asked before each window, gives an SQL expression over the columns sym, ts, o,
    h, l, c (ticks) and v whose value (a BLOB, or NULL) the same query adds for every bar of the
    window; or None, for none. The caller has per-bar bytes made there, by DuckDB in C on this
    thread, instead of in Python on the event loop; this module does not know what they are."""
    with_marks = marks is not None and any(marks)
    src, params = _union(con, symbols, interval, ticks, marks)
    if fine is not None:  # each bar comes with its finer bars: fewer bars per window
        chunk_rows = max(1, chunk_rows * INTERVAL_MS[fine] // INTERVAL_MS[interval])
        fine_src, fine_params = _union(con, symbols, fine, ticks)
        fine_sql = (f"SELECT sym, ts, o, h, l, c, v FROM {fine_src} WHERE ts >= ? AND ts < ? "
                    f"ORDER BY sym, ts")
    single = len(symbols) == 1
    mark_cols = ", mh, ml, mc" if with_marks else ""
    sql = f"SELECT sym, ts, o, h, l, c, v{mark_cols} FROM {src} WHERE ts >= ? AND ts < ? ORDER BY ts, sym"
    step = max(1, chunk_rows // len(symbols)) * INTERVAL_MS[interval]
    lo = start
    while lo < end:
        hi = min(end, lo + step)
        extra = payload() if payload is not None else None
        # a SELECT keeps its input's order (DuckDB's "order preservation"): texts are made after
        # the sort, not sorted themselves
        rel = con.sql(sql if extra is None else f"SELECT *, {extra} AS payload FROM ({sql})",
                      params=params + [lo, hi])
        table = arrow_table(rel)
        if table.num_rows:
            sym, ts, o, h, l, c, v, *rest = _columns(table)
            mh, ml, mc = (rest[:3] if with_marks else (None, None, None))
            texts = rest[3:] if with_marks else rest
            chunk = BarChunk(ts=ts, open=o, high=h, low=l, close=c, volume=v,
                             sym=None if single else sym, starts=None if single else step_starts(ts),
                             mark_high=mh, mark_low=ml, mark=mc)
            if fine is not None:
                rows = con.execute(fine_sql, fine_params + [lo, hi]).fetchall()
                chunk.sub = _finer_bars(chunk, rows, interval)
            yield chunk, texts[0] if texts else None
            lo = hi
        else:  # a gap in the data: go straight to the next bar
            nxt = con.execute(f"SELECT min(ts) FROM {src} WHERE ts >= ? AND ts < ?",
                              params + [hi, end]).fetchall()[0][0]
            if nxt is None:
                return
            lo = int(nxt)


def _finer_bars(chunk: BarChunk, rows: list[tuple], interval: str) -> list[list[tuple]]:
    """The finer bars (sym, ts, o, h, l, c, v) grouped under the chunk row they fall in."""
    at = {(chunk.symbol_at(k), t): k for k, t in enumerate(chunk.ts)}
    out: list[list[tuple]] = [[] for _ in chunk.ts]
    for sym, ts, o, h, l, c, v in rows:
        k = at.get((sym, period_open(interval, ts)))
        if k is not None:
            out[k].append((o, h, l, c, v))
    return out


def arrow_table(rel: duckdb.DuckDBPyRelation):
    """A relation's result as one Arrow table (DuckDB 2 renamed arrow() to to_arrow_table())."""
    return (getattr(rel, "to_arrow_table", None) or rel.arrow)()


def _columns(batch) -> list[list]:
    """The columns of an Arrow table as lists, a slice at a time. Arrow holds the GIL while it
    makes Python objects (65k rows at once: ~15 ms on a small machine, during which the event
    loop could not run); slices keep each hold short and sleep(0) hands the GIL over."""
    cols: list[list] = [[] for _ in range(batch.num_columns)]
    for offset in range(0, batch.num_rows, SLICE_ROWS):
        part = batch.slice(offset, SLICE_ROWS)
        for col, arr in zip(cols, part.columns):
            col.extend(arr.to_pylist())
            time.sleep(0)
    return cols


def klines(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, start: int | None,
           end: int | None, limit: int, visible_before: int, base: Optional[str] = None) -> list[tuple]:
    """Rows (ts, open, high, low, close, volume, close_ts) known before `visible_before` (sim
    time); with `base`, coarser intervals come from base bars (the open period included)."""
    lo = start if start is not None else -FAR_FUTURE
    hi = end if end is not None else FAR_FUTURE
    # Binance: with startTime the first `limit` bars from it, otherwise the last `limit` bars.
    newest_first = start is None
    sql = ("SELECT ts, open, high, low, close, volume, close_ts FROM {src} "
           f"WHERE ts >= ? AND ts <= ? ORDER BY ts {'DESC' if newest_first else 'ASC'} LIMIT ?")

    def run(since: int) -> list[tuple]:
        src, params = bar_source(con, symbol, interval, visible_before, base, since)
        return con.execute(sql.format(src=src), params + [lo, hi, limit]).fetchall()

    if interval not in INTERVAL_MS:
        rows = run(-FAR_FUTURE)
    elif newest_first:
        # Dense data: bound the scan to the last `limit` periods so DuckDB's zone maps skip the
        # rest of the table; fall back to the full scan when gaps leave fewer rows than asked.
        top = min(hi, visible_before)
        size = INTERVAL_MS[interval] if interval != "1M" else 31 * 86_400_000
        window_lo = period_open(interval, max(lo, top - (limit + 1) * size))
        rows = run(window_lo)
        if len(rows) < limit and window_lo > lo:
            rows = run(-FAR_FUTURE)
    else:
        rows = run(period_open(interval, lo) if lo > -FAR_FUTURE else lo)
    if newest_first:
        rows.reverse()
    return rows


def mark_klines(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, start: int | None,
                end: int | None, limit: int, visible_before: int, base: str) -> list[tuple]:
    """Mark-price kline rows (ts, open, high, low, close, close_ts) closed before `visible_before`,
    from `mark_ohlc_<interval>`, or resampled from the base interval's; NoData when neither."""
    tables = existing_tables(con)
    where = "WHERE symbol = ? AND close_ts < ?"
    if mark_table(interval) in tables:
        src = f"(SELECT * FROM {mark_table(interval)} {where})"
    elif mark_table(base) in tables and aggregates(interval, base):
        src = _resampled(f"(SELECT * FROM {mark_table(base)} {where})", interval)
    else:
        raise NoData(f"no mark-price klines for {symbol}")
    newest_first = start is None
    rows = con.execute(f"SELECT ts, open, high, low, close, close_ts FROM {src} WHERE ts >= ? AND ts <= ? "
                       f"ORDER BY ts {'DESC' if newest_first else 'ASC'} LIMIT ?",
                       [symbol, visible_before, start if start is not None else -FAR_FUTURE,
                        end if end is not None else FAR_FUTURE, limit]).fetchall()
    if newest_first:
        rows.reverse()
    return rows


def funding_rows(con: duckdb.DuckDBPyConnection, symbol: str, start: int, end: int) -> list[tuple[int, float]]:
    return con.execute("SELECT funding_time, funding_rate FROM funding WHERE symbol = ? "
                       "AND funding_time >= ? AND funding_time < ? ORDER BY funding_time",
                       [symbol, start, end]).fetchall()


def symbols_with_data(con: duckdb.DuckDBPyConnection) -> list[str]:
    tables = existing_tables(con)
    names = [t for t in tables if t.startswith("ohlc_") or t == "ohlc"]
    found: set[str] = set()
    for t in names:
        found.update(r[0] for r in con.execute(f"SELECT DISTINCT symbol FROM {t}").fetchall())
    return sorted(found)


def stats_24h(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, now: int) -> tuple:
    """(open, high, low, volume, quote_volume, first_ts, count) of the bars that closed in the
    24 h before sim time `now`."""
    src, params = bar_source(con, symbol, interval, now)
    return con.execute(
        f"SELECT arg_min(open, ts), max(high), min(low), sum(volume), sum(volume * close), min(ts), count(*) "
        f"FROM {src} WHERE ts >= ?", params + [now - 86_400_000]).fetchall()[0]


def funding_history(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, start: int | None,
                    end: int | None, limit: int, now: int, range_start: int,
                    constant_rate: float | None) -> list[tuple]:
    """(funding_time, rate, mark price) settled before sim time `now`, oldest first.
    Without funding rows, the configured constant rate every 8 h since the run's start."""
    lo = start if start is not None else -FAR_FUTURE
    hi = min(end if end is not None else FAR_FUTURE, now)
    if constant_rate is None:
        events = ("(SELECT funding_time AS t, funding_rate AS r FROM funding WHERE symbol = ? "
                  "AND funding_time >= ? AND funding_time <= ?)")
        eparams: list = [symbol, lo, hi]
    else:
        first = (range_start // 28_800_000 + 1) * 28_800_000
        events = f"(SELECT range AS t, {float(constant_rate)} AS r FROM range(?, ?, 28800000) WHERE range >= ?)"
        eparams = [first, hi + 1, lo]
    src, params = bar_source(con, symbol, interval, now)
    order = "DESC" if start is None else "ASC"
    rows = con.execute(
        f"SELECT e.t, e.r, b.close FROM {events} e ASOF LEFT JOIN {src} b ON b.close_ts < e.t "
        f"ORDER BY e.t {order} LIMIT ?", eparams + params + [limit]).fetchall()
    if start is None:
        rows.reverse()
    return rows


def data_hash(con: duckdb.DuckDBPyConnection, symbols: list[str], interval: str, start: int, end: int,
              ticks: list[Decimal], marks: Optional[list[bool]] = None, fine: Optional[str] = None) -> str:
    """A fingerprint of every input a run over [start, end) reads: its bars in ticks (and mark
    klines), the finer bars of fill_resolution, the funding rows. `exsim verify` refuses a run
    whose data no longer hashes the same (a reload, an edited bar)."""
    parts = []
    for interval_, marks_ in ((interval, marks), (fine, None)):
        if interval_ is None:
            continue
        src, params = _union(con, symbols, interval_, ticks, marks_)
        cols = "sym, ts, o, h, l, c, v" + (", mh, ml, mc" if marks_ is not None and any(marks_) else "")
        parts.append(con.execute(f"SELECT count(*), sum(hash({cols}))::VARCHAR FROM {src} WHERE ts >= ? AND ts < ?",
                                 params + [start, end]).fetchall()[0])
    for symbol in symbols:
        parts.append(tuple(funding_rows(con, symbol, start, end)))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

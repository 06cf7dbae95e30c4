"""How far apart a table's bars are, so the reader never serves 1m rows as 1h bars.

A table's name says nothing reliable about its rows: a plain `ohlc` table says nothing at all,
and an `ohlc_<interval>` table made by hand (not by `exsim load`, which checks every row) can
hold anything. The spacing is read from the rows themselves, once per connection and table.
"""
from __future__ import annotations

import weakref
from collections import Counter
from typing import Optional

import duckdb

from ..timeutil import INTERVAL_MS
from .schema import ohlc_table

SAMPLE_ROWS = 4096  # bars looked at: a few days of 1m, enough to outvote gaps, ~1.5 ms once
DAY_MS = 86_400_000
MONTH_DAYS_MS = (28 * DAY_MS, 31 * DAY_MS)  # Binance's 1M bars open on calendar months
_NAME_OF_MS = {ms: name for name, ms in INTERVAL_MS.items() if name != "1M"}
_INTERVAL_OF_TABLE = {ohlc_table(name): name for name in INTERVAL_MS}

# connection -> {(table, symbol): spacing}. bar_source runs on every klines/ticker request, and
# a table's spacing does not change while a connection serves it; weak, so a closed
# connection's entries go with it.
_known: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict]" = weakref.WeakKeyDictionary()


def interval_named(table: str) -> Optional[str]:
    """The interval an `ohlc_<interval>` table's name says (None for a plain `ohlc`)."""
    return _INTERVAL_OF_TABLE.get(table)


def _spacing_name(gap_ms: int) -> str:
    if MONTH_DAYS_MS[0] <= gap_ms <= MONTH_DAYS_MS[1]:  # 28-31 days (or ExSim's fixed 30)
        return "1M"
    if gap_ms in _NAME_OF_MS:
        return _NAME_OF_MS[gap_ms]
    return f"{gap_ms / 1000:g}s" if gap_ms % 1000 == 0 else f"{gap_ms} ms"


def bar_spacing(con: duckdb.DuckDBPyConnection, table: str, symbol: str) -> Optional[str]:
    """The usual distance between consecutive bars of `symbol` in `table`, as an interval name
    ("1m", "1M") or a duration for anything else; None when there are not two bars to compare.

    The most common gap, not the smallest: missing bars only add a few long gaps and cannot
    outvote the regular ones (even bars missing at random leave one step the most common gap),
    and neither can one stray bar at an odd time, which the smallest gap would take for the
    spacing. The sample is the first SAMPLE_ROWS rows in storage order (no ORDER BY: no scan
    of the whole table); `exsim load` stores bars in time order, and whatever rows a scan
    returns first come in runs of consecutive bars, whose gaps are the spacing.
    """
    rows = con.execute(
        f"SELECT gap, count(*) FROM (SELECT ts - lag(ts) OVER (ORDER BY ts) AS gap "
        f"FROM (SELECT ts FROM {table} WHERE symbol = ? LIMIT {SAMPLE_ROWS})) "
        "WHERE gap > 0 GROUP BY gap", [symbol]).fetchall()
    votes: Counter[str] = Counter()
    smallest: dict[str, int] = {}
    for gap, count in rows:
        name = _spacing_name(int(gap))
        votes[name] += count  # the 28-31 day gaps of calendar months vote together
        smallest[name] = min(smallest.get(name, gap), gap)
    if not votes:
        return None
    # ties go to the finer spacing, so the answer never depends on the order of the rows
    return min(votes, key=lambda name: (-votes[name], smallest[name]))


def mismatch(con: duckdb.DuckDBPyConnection, table: str, symbol: str, read_as: str) -> Optional[str]:
    """Why `symbol`'s rows in `table` cannot be served as `read_as` bars, or None if they can."""
    key = (table, symbol)
    known = _known.setdefault(con, {})
    if key not in known:
        known[key] = bar_spacing(con, table, symbol)
    found = known[key]
    if found is None or found == read_as:
        return None
    said = "its name says" if interval_named(table) == read_as else "asked for"
    text = f"table {table} holds {symbol} bars {found} apart, not the {read_as} {said}"
    finer = INTERVAL_MS.get(found, 0)
    if finer and INTERVAL_MS[read_as] > finer and INTERVAL_MS[read_as] % finer == 0:
        text += f" (in {ohlc_table(found)} they would be resampled to {read_as})"
    return text

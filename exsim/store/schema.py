"""DuckDB schema: the spec's tables (runs, trades_fills, equity_curve, ohlc_<interval>, funding)
plus the audit tables the engine needs (orders, income, run_status) and a schema_version.

The spec's columns come first and keep the spec's names and types, so the README's SQL works;
columns ExSim adds (account, order ids) are appended after them.
"""
from __future__ import annotations

import re

import duckdb

SCHEMA_VERSION = 1

OHLC_COLUMNS = "symbol, ts, open, high, low, close, volume, close_ts"

_TABLES = [
    """CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER NOT NULL, applied_at TIMESTAMP DEFAULT current_timestamp)""",
    """CREATE TABLE IF NOT EXISTS dataset_info (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id UUID PRIMARY KEY, created_at TIMESTAMP, strategy VARCHAR,
        params_json JSON, code_hash VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS run_status (
        run_id UUID PRIMARY KEY, status VARCHAR, symbol VARCHAR, "interval" VARCHAR,
        start_ms BIGINT, end_ms BIGINT, data_source VARCHAR, bars BIGINT,
        final_equity DOUBLE, updated_at TIMESTAMP, finished_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS trades_fills (
        run_id UUID, seq BIGINT, ts BIGINT, symbol VARCHAR, side VARCHAR, price DOUBLE,
        qty DOUBLE, realized_pnl DOUBLE, fee DOUBLE, is_maker BOOLEAN,
        account VARCHAR, order_id BIGINT, trade_id BIGINT, ambiguous BOOLEAN DEFAULT false,
        alt_price DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS equity_curve (
        run_id UUID, ts BIGINT, equity DOUBLE, account VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS orders (
        run_id UUID, seq BIGINT, ts BIGINT, account VARCHAR, order_id BIGINT,
        client_order_id VARCHAR, symbol VARCHAR, side VARCHAR, type VARCHAR, orig_type VARCHAR,
        time_in_force VARCHAR, price DOUBLE, stop_price DOUBLE, qty DOUBLE,
        executed_qty DOUBLE, avg_price DOUBLE, status VARCHAR, event VARCHAR,
        reduce_only BOOLEAN, close_position BOOLEAN, reason VARCHAR, ambiguous BOOLEAN DEFAULT false,
        latency_ms INTEGER DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS income (
        run_id UUID, account VARCHAR, ts BIGINT, symbol VARCHAR, income_type VARCHAR,
        income DOUBLE, tran_id BIGINT, trade_id BIGINT)""",
    # every engine event of a run, in order (store.event_log = true): the audit log verify reads
    """CREATE TABLE IF NOT EXISTS event_log (
        run_id UUID, seq BIGINT, ts BIGINT, type VARCHAR, account VARCHAR, body JSON)""",
    # every command of a run with the position it was applied at (exsim/journal.py)
    """CREATE TABLE IF NOT EXISTS run_journal (
        run_id UUID, line BIGINT, kind VARCHAR, bar BIGINT, tick INTEGER, ts BIGINT, body JSON)""",
    """CREATE TABLE IF NOT EXISTS funding (
        symbol VARCHAR, funding_time BIGINT, funding_rate DOUBLE,
        PRIMARY KEY (symbol, funding_time))""",
]


def ohlc_table(interval: str) -> str:
    if not re.fullmatch(r"[0-9]+[mhdwM]", interval):
        raise ValueError(f"bad interval {interval!r}")
    # DuckDB identifiers are case-insensitive, so 1m and 1M would collide: months get "mo".
    return "ohlc_" + (interval[:-1] + "mo" if interval.endswith("M") else interval)


def mark_table(interval: str) -> str:
    """Mark-price klines (Binance's markPriceKlines), same columns as ohlc_<interval>."""
    return "mark_" + ohlc_table(interval)


def ohlc_ddl(table: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {table} (symbol VARCHAR NOT NULL, ts BIGINT NOT NULL, "
            "open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, close_ts BIGINT, "
            "PRIMARY KEY (symbol, ts))")


# Columns added after a table's first version, by (table, a column its first version had):
# older files get them; a table of a foreign layout is left untouched (the writer refuses it).
_ADDED_COLUMNS = [
    ("trades_fills", "trade_id", "ambiguous BOOLEAN DEFAULT false"),
    ("trades_fills", "trade_id", "alt_price DOUBLE"),
    ("orders", "client_order_id", "ambiguous BOOLEAN DEFAULT false"),
    ("orders", "client_order_id", "latency_ms INTEGER DEFAULT 0"),
]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table if missing; running it again changes nothing."""
    con.execute("BEGIN")
    try:
        for ddl in _TABLES:
            con.execute(ddl)
        for table, known, column in _ADDED_COLUMNS:  # databases made before these columns existed
            has = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' "
                              "AND table_name = ? AND column_name = ?", [table, known]).fetchall()[0][0]
            if has:
                con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")
        con.execute(ohlc_ddl(ohlc_table("1m")))
        current = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
        if current is None:
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [SCHEMA_VERSION])
        elif current > SCHEMA_VERSION:
            raise RuntimeError(f"database schema version {current} is newer than this ExSim ({SCHEMA_VERSION})")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}


def set_info(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO dataset_info VALUES (?, ?)", [key, value])


def get_info(con: duckdb.DuckDBPyConnection, key: str, default: str | None = None) -> str | None:
    rows = con.execute("SELECT value FROM dataset_info WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default

"""A long replay does not make the gateway's DuckDB hold more memory than a short one: the feed
evicts DuckDB's cache of table blocks between windows once it passes its budget, and queries
and writes running meanwhile all succeed (they never run while the memory limit is lowered)."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from exsim.engine.events import EquityMarked, RunStarted
from exsim.engine.money import SCALE
from exsim.store import demo, reader
from exsim.store.db import Database, open_database
from tests.conftest import DAY_MS, T0

TICK = Decimal("0.1")
YEAR = 365
MB = 1 << 20


@pytest.fixture(scope="module")
def year_path(tmp_path_factory) -> str:
    """One year of BTCUSDT 1m bars (525,600 rows, ~6 MB of table blocks) in a file on disk."""
    path = str(tmp_path_factory.mktemp("year") / "year.duckdb")
    con = open_database(path)
    demo.generate(con, seed=7, start_ms=T0, end_ms=T0 + YEAR * DAY_MS,
                  symbols={"BTCUSDT": demo.DEMO_SYMBOLS["BTCUSDT"]})
    con.close()
    return path


def cached_table_bytes(db: Database) -> int:
    cur = db.con.cursor()
    try:
        return cur.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                           "WHERE tag = 'BASE_TABLE'").fetchall()[0][0]
    finally:
        cur.close()


def memory_limit(db: Database) -> str:
    return db.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


async def replay(db: Database, days: int, chunk_rows: int = reader.CHUNK_ROWS) -> list[int]:
    """The open times of every bar fed over `days` days."""
    ts: list[int] = []
    async for chunk, _ in db.bar_feed(["BTCUSDT"], "1m", T0, T0 + days * DAY_MS, [TICK], chunk_rows):
        ts.extend(chunk.ts)
    return ts


def open_db(path: str, **kw) -> Database:
    return Database(open_database(path), {}.get, **kw)


def test_duckdb_cache_after_a_year_of_replay_stays_within_budget(year_path):
    budget = 1 * MB
    db = open_db(year_path, cache_budget=budget)
    try:
        limit = memory_limit(db)
        assert len(asyncio.run(replay(db, 30))) == 30 * 1440
        after_month = cached_table_bytes(db)
        bars = asyncio.run(replay(db, YEAR))
        after_year = cached_table_bytes(db)
        assert len(bars) == YEAR * 1440 and bars == sorted(set(bars))  # every bar, once, in order
        assert db.evictions > 0
        assert memory_limit(db) == limit
    finally:
        db.close()
    # Without a budget DuckDB keeps every block the year's replay read.
    untrimmed = open_db(year_path, cache_budget=1 << 40)
    try:
        asyncio.run(replay(untrimmed, YEAR))
        kept = cached_table_bytes(untrimmed)
        assert untrimmed.evictions == 0
    finally:
        untrimmed.close()
    # Bounded by the budget plus what is read between two looks (~65k bars, < 1 MB), not by the range.
    assert after_year <= max(after_month, budget) + 1 * MB
    assert kept > 3 * after_year


def test_queries_and_writes_running_during_evictions_all_succeed(year_path):
    # Budget 0 and a look at every 64k-bar chunk: an eviction roughly every chunk.
    db = open_db(year_path, cache_budget=0)
    run_id = str(uuid.uuid4())
    written = 0
    results: list = []

    async def replays() -> None:
        for _ in range(3):
            assert len(await replay(db, YEAR, chunk_rows=65_536)) == YEAR * 1440

    async def queries(done: asyncio.Event) -> None:
        while not done.is_set():
            # a resample over the whole year: sorts and hashes far more than a lowered limit allows
            results.append(await db.query(reader.bar_range, "BTCUSDT", "1d", None, None))
            results.append(len(await db.query(reader.klines, "BTCUSDT", "1h", T0, None, 1500, 1 << 62)))

    async def writes(done: asyncio.Event) -> None:
        nonlocal written
        db.writer.consume([RunStarted(run_id=run_id, created_ms=0, params_json="{}", meta={"symbol": "BTCUSDT"})])
        while not done.is_set():
            db.writer.consume([EquityMarked(time=T0 + written + i, account="default", equity=1000 * SCALE)
                               for i in range(5_000)])
            written += 5_000
            await db.writer.flush()

    async def main() -> None:
        done = asyncio.Event()
        others = asyncio.gather(queries(done), writes(done))
        try:
            await replays()
        finally:
            done.set()
            await others

    try:
        limit = memory_limit(db)
        asyncio.run(main())
        assert db.evictions >= 3
        assert results and all(r == (T0, T0 + (YEAR - 1) * DAY_MS, YEAR) for r in results[0::2])
        assert all(n == 1500 for n in results[1::2])
        assert db.writer.last_error is None and db.writer.pending() == 0
        stored = db.con.execute("SELECT count(*) FROM equity_curve WHERE run_id = ?::UUID",
                                [run_id]).fetchall()[0][0]
        assert stored == written > 0
        assert memory_limit(db) == limit
    finally:
        db.close()


def test_cache_within_budget_is_left_alone(year_path):
    db = open_db(year_path)
    try:
        asyncio.run(replay(db, 30))
        before = cached_table_bytes(db)
        assert 0 < before <= db.cache_budget
        assert db.trim_cache() is False
        assert cached_table_bytes(db) == before and db.evictions == 0
    finally:
        db.close()

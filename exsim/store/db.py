"""The database of one gateway: opening it safely, and running DuckDB work off the event loop.

Each kind of work has its own thread and cursor: bar chunks for the clock (prefetched one
chunk ahead), queries for REST routes, and the batched writer. The loop only awaits futures.

DuckDB keeps every table block a query has read cached until memory runs short, so a replay
would hold the blocks of all the bars it has passed (18.6 MB after 3 years of 1m bars, 1.8 MB
after a month). Between windows the feed thread evicts them once they pass `CACHE_BUDGET`.
DuckDB evicts only when memory is short, so the eviction lowers `memory_limit` for a moment:
it does that holding the gate exclusively, while every other DuckDB user (query thread, feed,
writer) works under the gate shared, so no query or write ever runs under the lowered limit.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import AsyncIterator, Callable, Iterator, TypeVar

import duckdb

from ..engine.bars import BarChunk
from . import reader
from .schema import ensure_schema, get_info
from .writer import _TABLES as WRITTEN_COLUMNS
from .writer import BatchWriter, mark_interrupted_runs

log = logging.getLogger("exsim.store")
T = TypeVar("T")

# Table blocks DuckDB may keep cached during a replay; a month of 1m bars needs ~1.8 MB.
CACHE_BUDGET = 4 << 20
CHECK_EVERY_ROWS = 65_536  # bars fed between two looks at the cache (a look costs ~1 ms)
EVICT_WAIT = 0.02  # seconds an eviction waits for running DuckDB work before it skips
_BLOCK = 256 << 10  # DuckDB's block size: the slack left when lowering the limit


class StoreError(Exception):
    """The database cannot be used; the message is the one line shown to the user."""


def open_database(path: str) -> duckdb.DuckDBPyConnection:
    """Open (creating folders and schema) or explain in one line why not."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create folder {folder}: {exc.strerror}") from None
    # no write bit at all counts as read-only even for root, whom os.access() always lets write
    if os.path.exists(path) and (not os.access(path, os.W_OK) or not os.stat(path).st_mode & 0o222):
        raise StoreError(f"database {path} is read-only; ExSim writes its runs there "
                         "(copy it, or ATTACH the market data read-only from a writable results file)")
    try:
        con = duckdb.connect(path)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StoreError(f"database {path} is in use by another process (another gateway?): "
                             "give each gateway its own --duckdb-path") from None
        raise StoreError(f"cannot open database {path}: {text.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise StoreError(f"cannot open database {path}: {str(exc).splitlines()[0]} "
                         "(is it a DuckDB file of a compatible version?)") from None
    try:
        ensure_schema(con)
        for table, cols in WRITTEN_COLUMNS.items():  # a same-named table of another layout fails here
            try:
                con.execute(f"SELECT {', '.join(cols)} FROM {table} LIMIT 0")
            except duckdb.Error as exc:
                con.close()
                raise StoreError(f"database {path}: table {table} does not have ExSim's columns "
                                 f"({str(exc).splitlines()[0]}); use another --duckdb-path") from None
        n = mark_interrupted_runs(con)
        if n:
            log.warning("%d run(s) interrupted earlier are now marked 'incomplete'", n)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"database {path} is damaged or not writable: {str(exc).splitlines()[0]}") from None
    return con


def _ignore_result(fut: "asyncio.Future") -> None:
    if not fut.cancelled():
        fut.exception()


def _close_quietly(it, cursor) -> None:
    try:
        it.close()
        cursor.close()
    except Exception:  # already closed with its connection
        pass


class Gate:
    """Many threads may hold it shared at once, or one exclusively. One that wants it
    exclusively keeps new shared holders waiting while it waits for the current ones to leave,
    so a steady stream of queries cannot starve it; after `timeout` it gives up and lets them
    in (it is retried later). A shared holder thus waits at most `timeout` plus the exclusive
    holder's work."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._wanted = False  # someone waits for it exclusively

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive and not self._wanted)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                if not self._shared:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self, timeout: float) -> Iterator[bool]:
        """Yields whether it got the gate; only one thread (the feed) asks for it."""
        with self._cond:
            self._wanted = True
            got = self._cond.wait_for(lambda: not self._shared and not self._exclusive, timeout)
            self._wanted = False
            if got:
                self._exclusive = True
            else:
                self._cond.notify_all()
        try:
            yield got
        finally:
            if got:
                with self._cond:
                    self._exclusive = False
                    self._cond.notify_all()


def _cache_bytes(cursor) -> tuple[int, int]:
    """(bytes of cached table blocks, bytes DuckDB's buffer manager holds in all)."""
    base, used = cursor.execute(
        "SELECT coalesce(sum(memory_usage_bytes) FILTER (tag = 'BASE_TABLE'), 0), "
        "coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchall()[0]
    return int(base), int(used)


def _restore_limit_sql(cursor) -> str:
    """The statement that puts memory_limit back as it is now: RESET when it is DuckDB's
    default (exact), else the value as DuckDB shows it (rounded to a tenth of its unit)."""
    def current() -> str:
        return cursor.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    now = current()
    cursor.execute("RESET memory_limit")
    if current() == now:
        return "RESET memory_limit"
    cursor.execute(f"SET memory_limit = '{now}'")
    return f"SET memory_limit = '{now}'"


class Database:
    def __init__(self, con: duckdb.DuckDBPyConnection, instruments: Callable[[str], object],
                 cache_budget: int = CACHE_BUDGET, event_log: bool = False) -> None:
        self.con = con
        self.gate = Gate()
        self.cache_budget = cache_budget
        self.evictions = 0  # times the cache was evicted (read by tests and benchmarks)
        self._rows_since_check = 0
        self._query_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exsim-query")
        self._feed_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exsim-feed")
        self._query_cur = con.cursor()
        self._evict_cur = con.cursor()  # used on the feed thread only
        self._restore_sql = _restore_limit_sql(self._evict_cur)
        self.writer = BatchWriter(con, instruments, shared=self.gate.shared, event_log=event_log)
        self.data_source = get_info(con, "data_source", "real") or "real"

    async def query(self, fn: Callable[..., T], *args) -> T:
        """Run fn(cursor, *args) on the query thread."""
        return await asyncio.get_running_loop().run_in_executor(self._query_pool, self._run_query, fn, args)

    def _run_query(self, fn: Callable[..., T], args: tuple) -> T:
        with self.gate.shared():
            return fn(self._query_cur, *args)

    def _next_chunk(self, it: Iterator[tuple]) -> tuple | None:
        """The next (chunk, payloads) of a feed (feed thread); now and then trims DuckDB's cache."""
        with self.gate.shared():
            item = next(it, None)
        if item is not None:
            self._rows_since_check += len(item[0].ts)
            if self._rows_since_check >= CHECK_EVERY_ROWS:
                self._rows_since_check = 0
                self.trim_cache()
        return item

    def trim_cache(self) -> bool:
        """Evict DuckDB's cached table blocks if they take more than the budget; True if it did.
        Runs on the feed thread. It never raises: a failed or skipped eviction only means the
        cache stays as it was until the next try."""
        try:
            with self.gate.shared():
                cached, _ = _cache_bytes(self._evict_cur)
            if cached <= self.cache_budget:
                return False
            with self.gate.exclusive(EVICT_WAIT) as alone:
                if not alone:  # a long query or write is running: try again after more bars
                    return False
                return self._evict()
        except Exception as exc:  # unexpected (close() stops the feed before the connection)
            log.warning("trimming DuckDB's cache failed: %s", str(exc).splitlines()[0])
            return False

    def _evict(self) -> bool:
        """Holding the gate exclusively: lower the limit to what the buffer manager holds besides
        the table blocks (DuckDB evicts those first, as they cost no write), then restore it."""
        cur = self._evict_cur
        cached, used = _cache_bytes(cur)
        try:
            cur.execute(f"SET memory_limit = '{used - cached + _BLOCK}B'")
            self.evictions += 1
            return True
        except duckdb.Error as exc:  # could not free enough: the limit is left as it was
            log.debug("cache eviction failed: %s", str(exc).splitlines()[0])
            return False
        finally:
            self._restore_limit()

    def _restore_limit(self) -> None:
        """If even RESET fails this raises, still holding the gate, and trim_cache logs it."""
        try:
            self._evict_cur.execute(self._restore_sql)
        except duckdb.Error as exc:
            self._evict_cur.execute("RESET memory_limit")
            log.error("%s failed (%s); memory_limit is back at DuckDB's default", self._restore_sql, exc)

    async def bar_feed(self, symbols: list[str], interval: str, start: int, end: int, ticks: list[Decimal],
                       chunk_rows: int = reader.CHUNK_ROWS,
                       payload: Callable[[], str | None] | None = None,
                       marks: list[bool] | None = None,
                       fine: str | None = None) -> AsyncIterator[tuple[BarChunk, list | None]]:
        """(chunk, payload values) of [start, end), the next one read while the clock replays the
        current one. Each feed has its own cursor, so a restart can begin a new feed while the
        old one's last read is still running. `payload`: see reader.iter_chunks."""
        loop = asyncio.get_running_loop()
        cursor = await loop.run_in_executor(self._feed_pool, self.con.cursor)
        it = await loop.run_in_executor(self._feed_pool, lambda: reader.iter_chunks(
            cursor, symbols, interval, start, end, ticks, chunk_rows, payload, marks, fine))
        pending = loop.run_in_executor(self._feed_pool, self._next_chunk, it)
        try:
            while True:
                item = await pending
                if item is None:
                    return
                pending = loop.run_in_executor(self._feed_pool, self._next_chunk, it)
                yield item
        finally:
            pending.add_done_callback(_ignore_result)
            # queued after the last read on the same single thread: closes once it is done
            try:
                self._feed_pool.submit(_close_quietly, it, cursor)
            except RuntimeError:  # finalised after close() (shutdown): the pool is gone already
                _close_quietly(it, cursor)

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self._query_pool.shutdown(wait=True)
            self._feed_pool.shutdown(wait=True)
            self._evict_cur.close()
            self.con.close()

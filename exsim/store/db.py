"""The database of one gateway: opening it safely, and running DuckDB work off the event loop.

Each kind of work has its own thread and cursor: bar chunks for the clock (prefetched one
chunk ahead), queries for REST routes, and the batched writer. The loop only awaits futures.
"""
from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import AsyncIterator, Callable, TypeVar

import duckdb

from ..engine.bars import BarChunk
from . import reader
from .schema import ensure_schema, get_info
from .writer import _TABLES as WRITTEN_COLUMNS
from .writer import BatchWriter, mark_interrupted_runs

log = logging.getLogger("exsim.store")
T = TypeVar("T")


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


class Database:
    def __init__(self, con: duckdb.DuckDBPyConnection, instruments: dict) -> None:
        self.con = con
        self._query_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exsim-query")
        self._feed_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exsim-feed")
        self._query_cur = con.cursor()
        self.writer = BatchWriter(con, instruments)
        self.data_source = get_info(con, "data_source", "real") or "real"

    async def query(self, fn: Callable[..., T], *args) -> T:
        """Run fn(cursor, *args) on the query thread."""
        return await asyncio.get_running_loop().run_in_executor(self._query_pool, fn, self._query_cur, *args)

    async def bar_feed(self, symbol: str, interval: str, start: int, end: int, tick: Decimal,
                       chunk_rows: int = reader.CHUNK_ROWS) -> AsyncIterator[BarChunk]:
        """Chunks of [start, end), the next one read while the clock replays the current one.
        Each feed has its own cursor, so a restart can begin a new feed while the old one's
        last read is still running."""
        loop = asyncio.get_running_loop()
        cursor = await loop.run_in_executor(self._feed_pool, self.con.cursor)
        it = await loop.run_in_executor(self._feed_pool, lambda: reader.iter_chunks(
            cursor, symbol, interval, start, end, tick, chunk_rows))
        pending = loop.run_in_executor(self._feed_pool, next, it, None)
        try:
            while True:
                chunk = await pending
                if chunk is None:
                    return
                pending = loop.run_in_executor(self._feed_pool, next, it, None)
                yield chunk
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
            self.con.close()

"""Where a fill is persisted: batched writes of the audit trail (runs, orders, fills, income,
equity, and optionally the whole event log).

The writer is a consumer of the engine's event log (engine/events.py): `consume(events)` turns
each event into a row in a buffer on the event loop (a tuple append). `flush()` swaps the
buffers and writes them in one transaction on the writer thread (Arrow tables inserted with
INSERT ... SELECT), so the loop never waits on DuckDB and never INSERTs per fill.

Equity: one row per account and sim time, holding the equity after everything that happened at
that time (a fill and the bar's close mark share a time): the last point of a time wins, in the
buffer and across flushes, so `ORDER BY ts DESC LIMIT 1` is the final equity. Its points are
buffered in columns (store/equity_buffer.py), the writer's one high-volume stream.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Callable

import duckdb
import pyarrow as pa

import msgspec

from ..engine.events import EquityMarked, IncomeBooked, OrderUpdated, RunStarted, RunStatus
from ..engine.money import to_float
from .equity_buffer import EquityBuffer
from .reader import arrow_table

log = logging.getLogger("exsim.store")
WRITE_SLICE_ROWS = 8192  # rows per Arrow table handed to DuckDB (see _write)

_FILL_COLS = ("run_id", "seq", "ts", "symbol", "side", "price", "qty", "realized_pnl", "fee",
              "is_maker", "account", "order_id", "trade_id", "ambiguous", "alt_price")
_ORDER_COLS = ("run_id", "seq", "ts", "account", "order_id", "client_order_id", "symbol", "side",
               "type", "orig_type", "time_in_force", "price", "stop_price", "qty", "executed_qty",
               "avg_price", "status", "event", "reduce_only", "close_position", "reason", "ambiguous",
               "latency_ms")
_INCOME_COLS = ("run_id", "account", "ts", "symbol", "income_type", "income", "tran_id", "trade_id")
_EVENT_COLS = ("run_id", "seq", "ts", "type", "account", "body")
_JOURNAL_COLS = ("run_id", "line", "kind", "bar", "tick", "ts", "body")
_TABLES = {"trades_fills": _FILL_COLS, "orders": _ORDER_COLS, "income": _INCOME_COLS, "event_log": _EVENT_COLS,
           "run_journal": _JOURNAL_COLS}


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).replace(tzinfo=None)


class BatchWriter:
    def __init__(self, con: duckdb.DuckDBPyConnection, instruments: Callable[[str], object],
                 shared: Callable[[], AbstractContextManager] = nullcontext, event_log: bool = False) -> None:
        self._con = con.cursor()  # this thread-owned cursor is used only on the writer thread
        self._shared = shared  # held around each write (the Database's gate, see db.py)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exsim-writer")
        self._instrument = instruments  # symbol -> Instrument (ticks and steps to floats)
        self._event_log = event_log  # also keep every event as JSON (store.event_log)
        self._encode = msgspec.json.Encoder(enc_hook=_exact_text).encode
        # the Arrow types of the written columns, as the tables have them (a UUID comes as text):
        # given, pyarrow skips inferring them, ~40% faster for ints on a thread holding the GIL
        self._types = {table: arrow_table(self._con.sql(f"SELECT {', '.join(cols)} FROM {table} LIMIT 0")).schema.types
                       for table, cols in _TABLES.items()}
        self._rows: dict[str, list[tuple]] = {t: [] for t in _TABLES}
        self._equity = EquityBuffer()  # columns, not rows: see equity_buffer.py
        self._meta: list[tuple] = []  # ("run", ...) / ("status", ...) statements in order
        self.run_id = ""
        self._lock = threading.Lock()  # flush_now() from a signal path vs. the periodic flush
        self.rows_written = 0
        self.last_error: str | None = None

    # --- the event log's consumer (event loop) ---------------------------------------------

    def consume(self, events: list) -> None:
        rows = self._rows
        for ev in events:
            kind = type(ev)
            if kind is OrderUpdated:
                self._order(ev)
            elif kind is EquityMarked:
                self._equity.mark(ev.account, ev.time, to_float(ev.equity))
            elif kind is IncomeBooked:
                inc = ev.income
                rows["income"].append((self.run_id, ev.account, inc.time, inc.symbol, inc.income_type,
                                       to_float(inc.income), inc.tran_id, inc.trade_id))
            elif kind is RunStarted:
                self.run_id = ev.run_id
                self._equity.new_run(ev.run_id)
                self._meta.append(("run", ev.run_id, _utc(ev.created_ms), ev.params_json, ev.meta))
            elif kind is RunStatus:
                self._meta.append(("status", ev.run_id, ev.status, ev.bars, ev.final_equity))
            if self._event_log:
                rows["event_log"].append((self.run_id, ev.seq, ev.time, kind.__name__,
                                          getattr(ev, "account", None), self._encode(ev).decode()))

    def journal_row(self, row: tuple) -> None:
        """A line of the run's command journal (exsim/journal.py), for table run_journal."""
        self._rows["run_journal"].append(row)

    def _order(self, ev: OrderUpdated) -> None:
        order, trade = ev.order, ev.trade
        inst = self._instrument(order.symbol)
        price, qty = inst.price, inst.qty
        avg = (order.cum_quote_units * price.units / (order.executed * 10 ** price.decimals)
               if order.executed else 0.0)  # ints divided once: no Fraction on the event loop
        # the orders table keeps the status a fill left (FILLED / PARTIALLY_FILLED) as its event
        event = order.status if ev.exec_type == "TRADE" else ev.exec_type
        self._rows["orders"].append(
            (self.run_id, ev.seq, order.update_time, ev.account, order.order_id, order.client_order_id,
             order.symbol, order.side, order.type, order.orig_type, order.time_in_force,
             price.to_float(order.price), price.to_float(order.stop_price), qty.to_float(order.qty),
             qty.to_float(order.executed), avg, order.status, event, order.reduce_only,
             order.close_position, ev.reason, order.ambiguous, order.latency_ms))
        if trade is not None:
            self._rows["trades_fills"].append(
                (self.run_id, ev.seq, trade.time, trade.symbol, trade.side, price.to_float(trade.price),
                 qty.to_float(trade.qty), to_float(trade.realized_pnl), to_float(trade.fee), trade.is_maker,
                 ev.account, trade.order_id, trade.trade_id, trade.ambiguous,
                 price.to_float(trade.alt_price) if trade.alt_price else None))

    # --- flushing -------------------------------------------------------------------------

    def pending(self) -> int:
        return sum(len(v) for v in self._rows.values()) + len(self._meta) + len(self._equity)

    def _take(self) -> tuple:
        rows, meta = self._rows, self._meta
        equity = self._equity.take()
        self._rows = {t: [] for t in _TABLES}
        self._meta = []
        return rows, meta, equity

    async def flush(self) -> None:
        """Hand everything buffered so far to the writer thread and wait until it is stored."""
        if not self.pending():
            return
        batch = self._take()
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._write, batch)
        except Exception:
            self._put_back(batch)
            raise

    def flush_blocking(self) -> None:
        """Shutdown path (the loop may be gone): write what is buffered on the writer thread."""
        batch = self._take()
        try:
            self._pool.submit(self._write, batch).result()
        except Exception:
            self._put_back(batch)
            raise

    def _put_back(self, batch) -> None:
        """A failed write keeps its rows (on the loop, where rows are appended): a later flush
        retries them, before what was buffered since."""
        rows, meta, equity = batch
        for t, data in rows.items():
            self._rows[t][:0] = data
        self._meta[:0] = meta
        self._equity.put_back(equity)

    def close(self) -> None:
        self.flush_blocking()
        self._pool.shutdown(wait=True)
        self._con.close()

    def _write(self, batch) -> None:
        rows, meta, equity = batch
        if not any(rows.values()) and not meta and not equity.points:
            return
        con = self._con
        with self._lock, self._shared():
            con.execute("BEGIN")
            try:
                for item in meta:
                    if item[0] == "run":
                        _, run_id, created, params_json, info = item
                        con.execute("INSERT INTO runs VALUES (?::UUID, ?, 'gateway/binance-sim', ?::JSON, ?)",
                                    [run_id, created, params_json, info.get("code_hash", "")])
                        con.execute(
                            "INSERT OR REPLACE INTO run_status VALUES (?::UUID, 'running', ?, ?, ?, ?, ?, 0, NULL, "
                            "now()::TIMESTAMP, NULL)",
                            [run_id, info.get("symbol"), info.get("interval"), info.get("start_ms"),
                             info.get("end_ms"), info.get("data_source")])
                for run_id, account, ts in equity.replaced:
                    con.execute("DELETE FROM equity_curve WHERE run_id = ?::UUID AND account = ? AND ts = ?",
                                [run_id, account, ts])
                for seg in equity.segments:
                    con.register("_equity", seg.arrow(self._equity.names))
                    con.execute("INSERT INTO equity_curve (run_id, ts, equity, account) "
                                "SELECT ?::UUID, ts, equity, account FROM _equity", [seg.run_id])
                    con.unregister("_equity")
                for table, cols in _TABLES.items():
                    data = rows[table]
                    if not data:
                        continue
                    select = ", ".join("run_id::UUID" if c == "run_id" else c for c in cols)
                    # A slice at a time: building Arrow arrays from Python objects holds the GIL
                    # (200k rows at once stalled the event loop ~40 ms); sleep(0) hands it over.
                    types = self._types[table]
                    for lo in range(0, len(data), WRITE_SLICE_ROWS):
                        arrays = []
                        for col, typ in zip(zip(*data[lo:lo + WRITE_SLICE_ROWS]), types):  # transposed in C
                            arrays.append(_column(col, typ))  # a column per GIL hold
                            time.sleep(0)
                        arrow = pa.Table.from_arrays(arrays, names=list(cols))
                        con.register("_batch", arrow)
                        con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM _batch")
                        con.unregister("_batch")
                        time.sleep(0)
                for item in meta:
                    if item[0] == "status":
                        _, run_id, status, bars, final_equity = item
                        con.execute("UPDATE run_status SET status = ?, bars = ?, final_equity = ?, "
                                    "updated_at = now()::TIMESTAMP, finished_at = CASE WHEN ? IN "
                                    "('finished','stopped','incomplete') THEN now()::TIMESTAMP END "
                                    "WHERE run_id = ?::UUID", [status, bars, final_equity, status, run_id])
                con.execute("COMMIT")
                self.rows_written += sum(len(v) for v in rows.values()) + equity.points
                self.last_error = None
            except Exception as exc:  # the caller keeps the rows (_put_back)
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:  # a failed COMMIT has rolled back already
                    pass
                self.last_error = str(exc)
                log.error("writing %d rows failed: %s", sum(len(v) for v in rows.values()) + equity.points, exc)
                raise


def _column(values: tuple, typ: pa.DataType) -> pa.Array:
    """One Arrow column of a slice. A column holding one value throughout (run_id: 36 characters
    on every row, the account, the symbol) is repeated in C instead of converted per row: the
    run_id column alone held the GIL ~3 ms per 6,000 rows, the event loop waiting meanwhile."""
    first = values[0]
    if type(first) is str and values.count(first) == len(values):  # count(): identity first, in C
        return pa.repeat(pa.scalar(first, type=typ), len(values))
    return pa.array(values, type=typ)


def _exact_text(obj: object) -> str:
    """JSON for what msgspec does not encode itself: exact rates (Fractions) as decimal text."""
    if isinstance(obj, Fraction):
        return str(Decimal(obj.numerator) / Decimal(obj.denominator))
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def params_json(cfg_builtins: dict) -> str:
    return json.dumps(cfg_builtins, default=str, sort_keys=True)


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Runs left 'running' by a killed process become 'incomplete' (never silently continued)."""
    n = con.execute("SELECT count(*) FROM run_status WHERE status IN ('running', 'paused')").fetchall()[0][0]
    if n:
        con.execute("UPDATE run_status SET status = 'incomplete', updated_at = now()::TIMESTAMP "
                    "WHERE status IN ('running', 'paused')")
    return n


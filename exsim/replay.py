"""Runs: the replay of every configured symbol on one clock, what happens when a run starts,
restarts or reaches the end of its data, and the one entry point for commands.

`Replay.apply(cmd)` takes every command (engine/commands.py): the engine's (orders,
settings) go to `Sim.apply`, synchronously, so a request is applied atomically between two
clock steps; the clock's and the run's (step, speed, pause, resume, restart) are applied here.
This module sits between the wire and the store: it knows DuckDB work only through
store.db.Database and nothing of HTTP.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Optional

import msgspec

from .config import Config
from .engine.bars import BarChunk
from .engine.clock import Clock
from .engine.commands import Applied, Pause, PlaceOrder, Restart, Resume, SetSpeed, Step
from .engine.errors import ExchangeError
from .engine.events import RunStatus
from .journal import Header, Journal
from .engine.sim import Sim
from .store import reader
from .store.db import Database
from .store.writer import params_json
from .wakeups import Wakeups

log = logging.getLogger("exsim.replay")


def code_hash() -> str:
    """Hash of the exsim package source, stored with every run."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def journal_folder(cfg: Config) -> Optional[str]:
    """Where the run journals go: journal_dir, else beside the database (none in memory)."""
    if cfg.journal_dir:
        return cfg.journal_dir
    return None if cfg.duckdb_path == ":memory:" else cfg.duckdb_path + ".journal"


def _funding_fractions(con, symbol: str, start: int, end: int) -> list[tuple[int, Fraction]]:
    """Funding rows with exact rates, made on the query thread: three years of them as
    Fractions took ~20 ms, which on the event loop stalled every client at each restart."""
    return [(int(t), Fraction(Decimal(str(r)))) for t, r in reader.funding_rows(con, symbol, start, end)]


def _data_ends(con, symbols: list[str], interval: str, start: int, end: int) -> list[Optional[int]]:
    """Per symbol, the open time of its last bar in [start, end) (None: no bar there)."""
    out = []
    for symbol in symbols:
        try:
            out.append(reader.bar_range(con, symbol, interval, start, end)[1])
        except reader.NoData:
            out.append(None)
    return out


class RunPlan(msgspec.Struct, frozen=True):
    """What a run over a range reads, made on a query thread (live) or offline (exsim/rerun.py)."""

    first: int
    end_ms: int
    steps: int
    ends: list  # per symbol, the open time of its last bar (None: none in range)
    funding: list  # per symbol, [(funding time, exact rate)]
    marks: list  # per symbol, whether mark-price klines are loaded
    ticks: list  # per symbol, its tick size (Decimal)
    data_hash: str


def plan_run(con, cfg: Config, symbols: list[str], start: Optional[int], end: Optional[int]) -> RunPlan:
    interval = cfg.interval
    first, last, steps = reader.steps_range(con, symbols, interval, start, end)
    end_ms = last + cfg.interval_ms
    ticks = [Decimal(cfg.symbol_spec(s).tick_size) for s in symbols]
    marks = reader.mark_symbols(con, symbols, interval)
    return RunPlan(first=first, end_ms=end_ms, steps=steps, ends=_data_ends(con, symbols, interval, first, end_ms),
                   funding=[_funding_fractions(con, s, first, end_ms) for s in symbols], marks=marks, ticks=ticks,
                   data_hash=reader.data_hash(con, symbols, interval, first, end_ms, ticks, marks, cfg.fill_resolution))


def begin_run(sim: Sim, plan: RunPlan, created_ms: int, params: str, meta: dict, run_id: Optional[str] = None) -> None:
    """A new run of `plan` in `sim`: fresh accounts, funding schedule and data ends per market."""
    sim.start_run(created_ms, params, meta, plan.first, run_id=run_id)
    for m, rows, last_ts, has_marks in zip(sim.by_index, plan.funding, plan.ends, plan.marks):
        m.set_funding(rows, sim.cfg.funding_rate, plan.first)
        m.has_mark_data = has_marks
        m.data_end = None if last_ts is None else last_ts + sim.cfg.interval_ms


class Replay:
    def __init__(self, cfg: Config, sim: Sim, clock: Clock, db: Database) -> None:
        self.cfg = cfg
        self.sim = sim
        self.clock = clock
        self.db = db
        self.start_ms: int = 0
        self.end_ms: int = 0
        self.exit_requested = asyncio.Event()
        self.code_hash = code_hash()
        # The wire's fast path for closed klines: an SQL expression the feed evaluates per bar
        # (None: nothing), and where the values go once the clock takes a chunk.
        self.payload_sql: Callable[[], Optional[str]] = lambda: None
        self.on_payloads: Callable[[BarChunk, Optional[list]], None] = lambda chunk, values: None
        # Awaited inside the clock's step that opens a run, before its first bar is revealed
        # (streams that aggregate coarser intervals seed their open period there).
        self.before_reveal: list[Callable[[], Awaitable[None]]] = []
        clock.on_end = self._on_end
        self.wakeups = Wakeups()  # sleeping bots' alarms in sim time (exsim run-bot)
        # every command of the run, written before its reply (exsim/journal.py); first among
        # the event log's consumers, so a fill's record is on disk before anyone hears of it
        self.journal = Journal(journal_folder(cfg), cfg.journal_fsync, db.writer.journal_row)
        self._command: Optional[tuple] = None  # (cmd, position, sim time) being applied
        sim.log.consumers.insert(0, self._journal_events)
        # pacing = "lockstep": the gate (exsim/lockstep.py) that orders commands inside a bar
        # and stamps their sim time; None with wall pacing
        self.gate = None
        clock.moved = self.wakeups.moved

    # --- commands in ----------------------------------------------------------------------

    async def apply(self, cmd) -> Applied:
        """Every command's entry point (routes translate requests to these)."""
        match cmd:
            case Step():
                self.clock.pause()
                return Applied(await self.clock.step(cmd.bars), [])
            case SetSpeed():
                self.clock.set_speed(cmd.speed)
                return Applied(self.clock.speed, [])
            case Pause():
                self.clock.pause()
                return Applied(True, [])
            case Resume():
                self.clock.resume()
                return Applied(self.clock.speed, [])
            case Restart():
                return Applied(await self.start(cmd.start, cmd.end), [])
            case _:
                if self.gate is not None:
                    await self.gate.admit(cmd)  # its canonical turn inside the bar
                    self.sim.sim_time = self.gate.stamp()
                return self._apply_engine(cmd)

    def _apply_engine(self, cmd) -> Applied:
        sim = self.sim
        journaled = not (type(cmd) is PlaceOrder and cmd.test)
        if journaled:
            self._command = (cmd, self.clock.position(), sim.sim_time)
        try:
            applied = sim.apply(cmd)
        except ExchangeError as exc:
            self._journal_command(exc.code)
            raise
        self._journal_command(0)  # when it caused no event
        self.wakeups.moved(sim.sim_time)
        return applied

    def _journal_command(self, code: int) -> None:
        if self._command is not None:
            cmd, position, now = self._command
            self._command = None
            self.journal.command(cmd, position, now, code)

    def _journal_events(self, events: list) -> None:
        """The event log's first consumer: a command's record before its events go anywhere,
        the replay's progress before a clock batch's, the run's end."""
        if self._command is not None:
            self._journal_command(0)
            return
        journal = self.journal
        if not journal.run_id:
            return
        last = events[-1]
        if type(last) is RunStatus:
            journal.end(self.clock.position(), self.sim.sim_time, last.status)
        else:
            journal.progress(self.clock.position(), self.sim.sim_time)

    def record_timeout(self, bar: int, waiting: list[str]) -> None:
        """Lockstep advanced with bots not done with the bar (exsim/lockstep.py)."""
        self.journal.timeout(self.clock.position(), self.sim.sim_time, waiting)
        log.warning("lockstep: bar %d advanced after max_wait_ms without %s: run %s is not reproducible",
                    bar, ", ".join(waiting) or "?", self.sim.run_id)

    # --- runs -----------------------------------------------------------------------------

    async def start(self, start: Optional[int] = None, end: Optional[int] = None) -> str:
        """Open a new run over [start, end) (defaults: the configured range, else all data)
        and reveal its first bars so there is a price to trade at."""
        cfg, sim = self.cfg, self.sim
        symbols = list(sim.markets)
        start = cfg.start_ms if start is None else start
        end = cfg.end_ms if end is None else end
        plan = await self.db.query(plan_run, cfg, symbols, start, end)
        meta = {"code_hash": self.code_hash, "symbol": ",".join(symbols), "interval": cfg.interval,
                "start_ms": plan.first, "end_ms": plan.end_ms, "data_source": self.db.data_source}
        params = msgspec.to_builtins(cfg)
        # each account's key and starting balance (exsim runs show reads them); never a secret
        params["api_keys"] = [{"key": k["key"], "balance": k.get("balance")} for k in params.get("api_keys", [])]
        config = dict(params)
        params.update({"start_ms": plan.first, "end_ms": plan.end_ms, "symbols": symbols})
        feed = self._chunks(self.db.bar_feed(symbols, cfg.interval, plan.first, plan.end_ms, plan.ticks,
                                             payload=self.payload_sql, marks=plan.marks, fine=cfg.fill_resolution))

        async def open_run() -> None:  # runs inside the clock's step: the switch is atomic for clients
            if sim.run_id:
                sim.finish_run("stopped")
            self.start_ms, self.end_ms = plan.first, plan.end_ms
            created, seq0 = int(time.time() * 1000), sim.log.seq
            begin_run(sim, plan, created, params_json(params), meta)
            self.journal.open(Header(run_id=sim.run_id, created_ms=created, config=config,
                                     params_json=params_json(params), meta=meta, seq0=seq0,
                                     data_hash=plan.data_hash, code_hash=self.code_hash, time=sim.sim_time))
            for hook in self.before_reveal:
                await hook()

        await self.clock.load(feed, plan.steps, before=open_run)
        log.info("run %s: %s %s, %d bars from %s (%s data)", sim.run_id, ",".join(symbols), cfg.interval,
                 plan.steps, self.start_ms, self.db.data_source)
        return sim.run_id

    async def _chunks(self, feed: AsyncIterator[tuple]) -> AsyncIterator[BarChunk]:
        """The feed's chunks for the clock; their payload values go to the wire as each is taken."""
        try:
            async for chunk, values in feed:
                self.on_payloads(chunk, values)
                yield chunk
        finally:
            await feed.aclose()  # the feed releases its cursor now, not when collected

    async def _on_end(self) -> None:
        self.sim.finish_run("finished")
        await self.db.writer.flush()
        log.info("run %s finished after %d bars", self.sim.run_id, self.sim.bars_done)
        if self.cfg.on_end == "loop":
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.start()))
        elif self.cfg.on_end == "exit":
            self.exit_requested.set()

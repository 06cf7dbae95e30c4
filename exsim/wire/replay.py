"""Runs: what happens when a replay starts, restarts or reaches the end of its data."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Optional

import msgspec

from ..config import Config
from ..engine.clock import Clock
from ..engine.sim import Sim
from ..store import reader
from ..store.db import Database
from ..store.writer import params_json
from . import streams

log = logging.getLogger("exsim.replay")


def code_hash() -> str:
    """Hash of the exsim package source, stored with every run."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _funding_fractions(con, symbol: str, start: int, end: int) -> list[tuple[int, Fraction]]:
    """Funding rows with exact rates, made on the query thread: three years of them as
    Fractions took ~20 ms, which on the event loop stalled every client at each restart."""
    return [(int(t), Fraction(Decimal(str(r)))) for t, r in reader.funding_rows(con, symbol, start, end)]


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
        clock.on_end = self._on_end

    async def start(self, start: Optional[int] = None, end: Optional[int] = None) -> str:
        """Open a new run over [start, end) (defaults: the configured range, else all data)
        and reveal its first bar so there is a price to trade at."""
        cfg = self.cfg
        symbol, interval = cfg.symbol, cfg.interval
        start = cfg.start_ms if start is None else start
        end = cfg.end_ms if end is None else end
        first, last, count = await self.db.query(reader.bar_range, symbol, interval, start, end)
        end_ms = last + cfg.interval_ms
        funding = await self.db.query(_funding_fractions, symbol, first, end_ms)
        meta = {"code_hash": self.code_hash, "symbol": symbol, "interval": interval,
                "start_ms": first, "end_ms": end_ms, "data_source": self.db.data_source}
        params = msgspec.to_builtins(cfg)
        params["api_keys"] = [k["key"] for k in params.get("api_keys", [])]
        params.update({"start_ms": first, "end_ms": end_ms})
        tick = Decimal(cfg.symbol_spec(symbol).tick_size)
        # While someone watches the bars, DuckDB makes their closed-kline payloads on the feed
        # thread (the event loop then only sends them); nobody watching, they cost nothing.
        kline_sql = streams.kline_sql(cfg, self.sim.market.inst)
        feed = self.db.bar_feed(symbol, interval, first, end_ms, tick,
                                payload=lambda: kline_sql if self.sim.market_listener.active else None)

        def open_run() -> None:  # runs inside the clock's step: the switch is atomic for clients
            if self.sim.run_id:
                self.sim.finish_run("stopped")
            self.start_ms, self.end_ms = first, end_ms
            self.sim.start_run(int(time.time() * 1000), params_json(params), meta, first)
            self.sim.market.set_funding(funding, cfg.funding_rate, first)

        await self.clock.load(feed, count, before=open_run)
        run_id = self.sim.run_id
        log.info("run %s: %s %s, %d bars from %s (%s data)", run_id, symbol, interval, count,
                 self.start_ms, self.db.data_source)
        return run_id

    async def _on_end(self) -> None:
        self.sim.finish_run("finished")
        await self.db.writer.flush()
        log.info("run %s finished after %d bars", self.sim.run_id, self.sim.bars_done)
        if self.cfg.on_end == "loop":
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.start()))
        elif self.cfg.on_end == "exit":
            self.exit_requested.set()

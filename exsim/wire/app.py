"""`create_app(cfg)`: the one aiohttp application — routes, middlewares, and the long-lived
resources (database, writer, clock task) as cleanup contexts."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from contextlib import suppress
from typing import Optional

import duckdb
from aiohttp import WSCloseCode, web

from ..config import Config
from ..engine.clock import Clock
from ..engine.sim import Sim
from ..store import demo, reader
from ..store.db import Database, StoreError, open_database
from . import admin, rest_account, rest_market, rest_market_extra, rest_trade, rest_trades_market, ws
from . import bot_clock, pages, ws_api
from .auth import Auth
from .errors import error_middleware, error_response
from ..replay import Replay
from .. import rerun
from ..lockstep import Gate
from . import lockstep_hooks
from .keys import AUTH, CLOCK, CONFIG, FANOUT, KLINE_ROWS, LOOP_PROBE, REPLAY, SIM, STORE, USER
from .force_orders import ForceOrders
from .user_stream import UserStream
from .weights import RequestWeights
from .rest_trade import ORDER_COUNTS, OrderCounts
from . import rest_order_extra
from . import admin_runs, progress_log

log = logging.getLogger("exsim")

WEIGHTS = {"/fapi/v1/ticker/24hr": 1, "/fapi/v1/allOrders": 5, "/fapi/v1/userTrades": 5,
           "/fapi/v2/account": 5, "/fapi/v3/account": 5, "/fapi/v2/balance": 5, "/fapi/v3/balance": 5,
           "/fapi/v2/positionRisk": 5, "/fapi/v3/positionRisk": 5, "/fapi/v1/income": 30,
           "/fapi/v1/commissionRate": 20, "/fapi/v1/order": 0, "/fapi/v1/trades": 5,
           "/fapi/v1/historicalTrades": 20, "/fapi/v1/aggTrades": 20, "/fapi/v1/batchOrders": 5,
           "/fapi/v1/countdownCancelAll": 10, "/fapi/v1/adlQuantile": 5, "/fapi/v1/multiAssetsMargin": 30,
           "/fapi/v1/positionSide/dual": 30}
# routes weighed by their `limit`, as Binance weighs them
KLINE_ROUTES = frozenset({"/fapi/v1/klines", "/fapi/v1/markPriceKlines", "/fapi/v1/indexPriceKlines",
                          "/fapi/v1/premiumIndexKlines", "/fapi/v1/continuousKlines"})


def request_weight(request: web.Request) -> int:
    """Binance's REQUEST_WEIGHT of a request (by path; by `limit` for klines and depth; GET
    forceOrders 20 with a symbol, 50 without)."""
    path, q = request.path, request.query
    if path in KLINE_ROUTES or path == "/fapi/v1/depth":
        limit = q.get("limit", "500")
        n = int(limit) if limit.isascii() and limit.isdigit() and len(limit) <= 9 else 500
        if path == "/fapi/v1/depth":
            return 2 if n <= 50 else 5 if n <= 100 else 10 if n <= 500 else 20
        return 1 if n < 100 else 2 if n < 500 else 5 if n <= 1000 else 10
    if path == "/fapi/v1/forceOrders":
        return 20 if q.get("symbol") else 50
    if path in ("/fapi/v1/multiAssetsMargin", "/fapi/v1/positionSide/dual") and request.method != "GET":
        return 1
    return WEIGHTS.get(path, 1)
WEIGHT_LIMIT = 2400


def prepare_database(cfg: Config) -> duckdb.DuckDBPyConnection:
    """Open the database; fill the embedded synthetic dataset when it holds no market data."""
    con = open_database(cfg.duckdb_path)
    try:
        return _prepare(con, cfg)
    except duckdb.Error as exc:  # e.g. a truncated file: opens, then fails on the first read
        with suppress(Exception):
            con.close()
        raise StoreError(f"database {cfg.duckdb_path} is damaged or unreadable: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _prepare(con: duckdb.DuckDBPyConnection, cfg: Config) -> duckdb.DuckDBPyConnection:
    have = reader.symbols_with_data(con)
    if not have:
        log.warning("database %s has no market data: generating the SYNTHETIC demo dataset "
                    "(seed %d, BTCUSDT+ETHUSDT 1m, 2024) - not real prices", cfg.duckdb_path, cfg.demo_seed)
        began = time.perf_counter()
        demo.generate(con, cfg.demo_seed)
        log.warning("synthetic data ready in %.1f s", time.perf_counter() - began)
        have = reader.symbols_with_data(con)
    try:
        replay_symbols(con, cfg)
    except reader.NoData as exc:
        con.close()
        raise StoreError(f"{exc} in {cfg.duckdb_path} (symbols with data: {', '.join(have) or 'none'}); "
                         "load some with `exsim load`") from None
    return con


def replay_symbols(con: duckdb.DuckDBPyConnection, cfg: Config) -> list[str]:
    """The symbols to replay: those the config names (each must have bars in the range), else
    every symbol of the database with bars of the interval in the range."""
    wanted = cfg.requested_symbols
    if wanted:
        for symbol in wanted:
            reader.bar_range(con, symbol, cfg.interval, cfg.start_ms, cfg.end_ms)  # NoData names it
        return wanted
    found, refused = [], None
    for symbol in reader.symbols_with_data(con):
        try:
            reader.bar_range(con, symbol, cfg.interval, cfg.start_ms, cfg.end_ms)
            found.append(symbol)
        except reader.WrongSpacing as exc:  # a table of other bars: say so if nothing else replays
            refused = refused or exc
        except reader.NoData:
            pass
    if not found:
        raise refused or reader.NoData(f"no {cfg.interval} bars for any symbol in the configured range")
    return found


def _weight_middleware(cfg: Config):
    weights = RequestWeights()

    @web.middleware
    async def middleware(request: web.Request, handler):
        # Refuse a declared oversized body up front, whatever the route (routes that never read
        # their body would otherwise answer 200); chunked bodies hit client_max_size on read.
        if (request.content_length or 0) > cfg.max_body_bytes:
            return error_response(-1000, "Request body too large.", 413)
        if not request.path.startswith(("/fapi", "/api", "/sapi")):
            return await handler(request)
        used = weights.add(request.remote or "", request_weight(request))
        if cfg.rate_limit and used > WEIGHT_LIMIT:
            retry = str(60 - int(time.time()) % 60)
            return error_response(-1003, f"Too many requests; current limit is {WEIGHT_LIMIT} requests per "
                                  "minute. Please use the websocket for live updates to avoid polling the API.",
                                  429, headers={"Retry-After": retry, "X-MBX-USED-WEIGHT-1M": str(used)})
        response = await handler(request)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        return response

    return middleware


def create_app(cfg: Config, con: Optional[duckdb.DuckDBPyConnection] = None) -> web.Application:
    # Request line / header limits above aiohttp's 8 KiB so a long (hostile) parameter reaches the
    # routes and gets Binance's JSON -1100 instead of the HTTP parser's plain-text 400.
    # lockstep pacing: the gate hears of every bot request (installed only then: wall pacing
    # pays nothing); outermost, so a refused request still counts as answered
    first = [lockstep_hooks.middleware()] if cfg.pacing == "lockstep" else []
    app = web.Application(client_max_size=cfg.max_body_bytes,
                          middlewares=first + [_weight_middleware(cfg), error_middleware],
                          handler_args={"max_line_size": 65536, "max_field_size": 65536})
    sim = Sim(cfg)
    clock = Clock(sim, cfg.interval_ms, cfg.ticks_per_bar, cfg.speed)
    fanout = ws.Fanout(sim, cfg)
    sim.market_listener = fanout
    app[CONFIG], app[SIM], app[CLOCK], app[FANOUT] = cfg, sim, clock, fanout
    app[AUTH] = Auth(cfg, sim)
    app[USER] = fanout.user = UserStream(sim, fanout, cfg.ws.listen_key_ttl)
    fanout.force = force = ForceOrders(sim, fanout)
    app[ORDER_COUNTS] = OrderCounts(time.monotonic)
    app[KLINE_ROWS] = {}

    async def store_ctx(app: web.Application):
        connection = con if con is not None else await asyncio.to_thread(prepare_database, cfg)
        symbols = await asyncio.to_thread(replay_symbols, connection, cfg)
        # a run the last process did not finish (kill -9): its acknowledged commands are in its
        # journal file; rebuild its rows before anything else writes
        await asyncio.to_thread(rerun.recover, connection, cfg)
        if list(sim.markets) != symbols:
            sim.set_markets(symbols)
            fanout.on_markets()
        db = Database(connection, lambda symbol: sim.instruments[symbol], event_log=cfg.store.event_log)
        sim.log.subscribe(db.writer.consume)  # the event log's consumers: persistence, then
        sim.log.subscribe(app[USER].consume)  # the user-data stream, the liquidation streams
        sim.log.subscribe(force.consume)
        app[STORE] = db
        replay = app[REPLAY] = Replay(cfg, sim, clock, db)
        replay.payload_sql, replay.on_payloads = fanout.payload_sql, fanout.on_payloads
        replay.before_reveal.append(lambda: ws.reseed_periods(app))
        flusher = asyncio.create_task(_flush_forever(db, cfg.store.flush_interval))
        yield
        flusher.cancel()
        with suppress(asyncio.CancelledError):
            await flusher
        sim.finish_run("stopped")
        try:
            await db.writer.flush()
        except Exception:  # logged by the writer; closing still tries once more
            pass
        await asyncio.to_thread(db.close)

    async def clock_ctx(app: web.Application):
        await app[REPLAY].start()
        # Write the new run now: a database that cannot take it (a damaged block, a foreign
        # table layout) stops the start here (CLI exit 3) instead of losing every fill later.
        await app[STORE].writer.flush()
        if cfg.pacing == "lockstep":  # the gate drives the clock: a bar once every bot is done
            replay = app[REPLAY]
            replay.gate = Gate(replay, cfg.quiet_ms, cfg.max_wait_ms, cfg.min_bots)
            lockstep_hooks.install_ping(replay.gate)
            task = asyncio.create_task(replay.gate.run())
        else:
            task = asyncio.create_task(clock.run())
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    async def close_websockets(app: web.Application) -> None:
        for client in list(fanout.clients):
            with suppress(Exception):
                await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(clock_ctx)
    app.cleanup_ctx.append(progress_log.ctx)  # a log line on the replay's progress every 10 s / 10 %
    if os.environ.get("EXSIM_LOOP_PROBE") == "1":  # opt-in: benchmarks read it in /admin/status
        app[LOOP_PROBE] = probe = LoopProbe()
        app.cleanup_ctx.append(probe.ctx)
    app.on_shutdown.append(close_websockets)
    app.add_routes(rest_market.routes)
    app.add_routes(rest_market_extra.routes)
    app.add_routes(rest_trades_market.routes)
    app.add_routes(rest_trade.routes)
    app.add_routes(rest_order_extra.routes)  # modify, batches, countdown, forceOrders
    app.add_routes(rest_account.routes)
    app.add_routes(admin.routes)
    app.add_routes(admin_runs.routes)  # GET /admin/runs, /admin/runs/{run_id}
    ws.add_routes(app)
    ws_api.add_routes(app)
    pages.add_routes(app)  # / (live page), /docs, /redoc, /openapi.json, /admin/live
    bot_clock.add_routes(app)  # /admin/clock: sim time for bots under exsim run-bot, their alarms
    return app


async def _flush_forever(db: Database, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await db.writer.flush()
        except Exception:  # already logged; rows stay buffered and are retried next time
            pass


class LoopProbe:
    """A 1 ms ticker on the event loop: how late it wakes is how long the loop was blocked.
    `max_ms` is the worst lag since start (or since `reset()`). On a shared machine part of a
    lag can be the OS running other processes; `max_on_cpu_ms` counts only the part of each lag
    during which this process was running (its CPU time over the interval, any thread), i.e. a
    stall of ExSim's own making (its code, a GC walk, a thread holding the GIL)."""

    PERIOD = 0.001

    def __init__(self) -> None:
        self.max_ms = 0.0
        self.max_on_cpu_ms = 0.0
        self.ticks = 0

    def reset(self) -> None:
        self.max_ms = 0.0
        self.max_on_cpu_ms = 0.0

    async def run(self) -> None:
        """Tick until cancelled. Each tick is plain callbacks (no task step, no future: under load
        the probe itself was ~4% of the loop), and one tick's end is the next one's start, so a
        tick reads each clock once. The timer hands the tick to the next loop turn (call_soon),
        as `await asyncio.sleep` resumed a task: the lag measures what it measured before."""
        loop = asyncio.get_running_loop()
        now, cpu, period = time.perf_counter, time.process_time, self.PERIOD
        state = [now(), cpu(), None, False]  # when the tick was armed, CPU time then, its timer, stopped

        def tick() -> None:
            if state[3]:
                return
            t, c = now(), cpu()
            lag = (t - state[0] - period) * 1000
            self.ticks += 1
            if lag > self.max_ms:
                self.max_ms = lag
            if lag > self.max_on_cpu_ms:
                on_cpu = min(lag, (c - state[1]) * 1000)
                if on_cpu > self.max_on_cpu_ms:
                    self.max_on_cpu_ms = on_cpu
            state[0], state[1] = t, c
            state[2] = loop.call_later(period, loop.call_soon, tick)

        state[2] = loop.call_later(period, loop.call_soon, tick)
        try:
            await asyncio.Future()  # until cancelled
        finally:
            state[3] = True
            state[2].cancel()

    async def ctx(self, app: web.Application):
        task = asyncio.create_task(self.run())
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

"""Public trade-history routes: `/fapi/v1/trades`, `/fapi/v1/historicalTrades`, `/fapi/v1/aggTrades`.

The trades are the synthetic ones of store/trades_reader.py, the same the `@trade` and
`@aggTrade` streams send (same id, same price, quantity and time), and only those made before
sim time: no route shows a trade of a tick the clock has not replayed.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Optional

from aiohttp import web

from ..engine.errors import ExchangeError, bad_param
from ..engine.instrument import Instrument
from ..store.trades_reader import Tape, Trade, trades
from .keys import CONFIG, SIM, STORE
from .params import Params, read_params
from .respond import json_response

routes = web.RouteTableDef()
HOUR_MS = 3_600_000


def _limit(p: Params, default: int, top: int) -> int:
    limit = p.int("limit", default)
    if not 1 <= limit <= top:
        raise bad_param("limit")
    return limit


async def _read(request: web.Request, symbol: str, limit: int, from_id: Optional[int] = None,
                start: Optional[int] = None, end: Optional[int] = None) -> tuple[Instrument, list[Trade]]:
    sim, cfg = request.app[SIM], request.app[CONFIG]
    inst = sim.instrument(symbol)
    tape = Tape(cfg.interval_ms, cfg.ticks_per_bar, inst.spec.tick_size, inst.qty.units, inst.qty.decimals)
    rows = await request.app[STORE].query(trades, symbol, cfg.interval, tape, sim.sim_time, limit, from_id,
                                          start, end)
    return inst, rows


def _trade_items(inst: Instrument, rows: list[Trade]) -> list[dict]:
    f, q = inst.price.fmt, inst.qty.fmt
    out = []
    for t in rows:
        price, qty = f(t.price), q(t.qty)
        out.append({"id": t.id, "price": price, "qty": qty, "quoteQty": str(Decimal(price) * Decimal(qty)),
                    "time": t.time, "isBuyerMaker": t.buyer_maker})  # quoteQty exact: price x qty
    return out


@routes.get("/fapi/v1/trades")
async def recent_trades(request: web.Request) -> web.Response:
    """The most recent `limit` trades (default 500, max 1000), oldest first."""
    p = await read_params(request)
    symbol = p.symbol()
    inst, rows = await _read(request, symbol, _limit(p, 500, 1000))
    return json_response(_trade_items(inst, rows))


@routes.get("/fapi/v1/historicalTrades")
async def historical_trades(request: web.Request) -> web.Response:
    """`limit` trades (default 100, max 500) from `fromId` on, or the most recent ones."""
    p = await read_params(request)
    symbol = p.symbol()
    limit = _limit(p, 100, 500)
    inst, rows = await _read(request, symbol, limit, p.int("fromId", lo=0))
    return json_response(_trade_items(inst, rows))


@routes.get("/fapi/v1/aggTrades")
async def agg_trades(request: web.Request) -> web.Response:
    """Aggregate trades (one per synthetic trade): from `fromId` and/or in [startTime, endTime]
    (at most an hour apart when both are given), else the most recent; default 500, max 1000."""
    p = await read_params(request)
    symbol = p.symbol()
    start, end, limit = p.window(500, 1000)
    if start is not None and end is not None and end - start > HOUR_MS:
        raise ExchangeError(-1127, "More than 1 hours between startTime and endTime.")
    inst, rows = await _read(request, symbol, limit, p.int("fromId", lo=0), start, end)
    f, q = inst.price.fmt, inst.qty.fmt
    return json_response([{"a": t.id, "p": f(t.price), "q": q(t.qty), "f": t.id, "l": t.id, "T": t.time,
                           "m": t.buyer_maker} for t in rows])

"""Public market-data routes (no signature). Everything is as of sim time: no route ever shows a
bar, or part of one, that the clock has not replayed yet."""
from __future__ import annotations

from typing import Optional

from aiohttp import web

from ..engine.errors import ExchangeError, bad_param
from ..engine.market import Market
from ..engine.sim import Sim
from ..store import reader
from ..timeutil import INTERVAL_MS, aggregates, period_end, period_open
from .keys import AUTH, CLOCK, CONFIG, FANOUT, KLINE_ROWS, SIM, STORE
from .params import Params, read_params
from .respond import json_response

routes = web.RouteTableDef()
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


def requested_symbols(sim: Sim, p: Params) -> list[str]:
    """The requested symbol (validated) or every replayed symbol."""
    symbol = p.symbol(required=False)
    if symbol is None:
        return list(sim.markets)
    sim.instrument(symbol)
    return [symbol]


def _one_or_all(p: Params, items: list) -> object:
    return items[0] if p.opt("symbol") is not None else items


@routes.get("/fapi/v1/ping")
@routes.get("/api/v3/ping")
async def ping(request: web.Request) -> web.Response:
    return json_response({})


@routes.get("/fapi/v1/time")
@routes.get("/api/v3/time")
async def server_time(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    request.app[AUTH].note_time_call(sim.sim_time, request.headers.get("X-MBX-APIKEY", ""))
    return json_response({"serverTime": sim.sim_time})


@routes.get("/sapi/v1/capital/config/getall")
async def capital_config(request: web.Request) -> web.Response:
    return json_response([])  # ccxt's load_markets asks; there is nothing to deposit here


@routes.get("/fapi/v1/exchangeInfo")
async def exchange_info(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    symbols = []
    for symbol, m in sim.markets.items():
        inst, spec = m.inst, m.inst.spec
        symbols.append({
            "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000, "status": m.status(sim.sim_time), "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "baseAsset": inst.base, "quoteAsset": inst.quote,
            "marginAsset": inst.quote, "pricePrecision": inst.price.decimals,
            "quantityPrecision": inst.qty.decimals, "baseAssetPrecision": 8, "quotePrecision": 8,
            "underlyingType": "COIN", "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500",
            "liquidationFee": "0.012500", "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": spec.min_price, "maxPrice": spec.max_price,
                 "tickSize": spec.tick_size},
                {"filterType": "LOT_SIZE", "minQty": spec.min_qty, "maxQty": spec.max_qty,
                 "stepSize": spec.step_size},
                {"filterType": "MARKET_LOT_SIZE", "minQty": spec.min_qty, "maxQty": spec.market_max_qty,
                 "stepSize": spec.step_size},
                {"filterType": "MAX_NUM_ORDERS", "limit": spec.max_num_orders},
                {"filterType": "MIN_NOTIONAL", "notional": spec.min_notional},
                {"filterType": "PERCENT_PRICE", "multiplierUp": spec.percent_price_up,
                 "multiplierDown": spec.percent_price_down, "multiplierDecimal": "4"},  # a string on the wire
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                           "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        })
    return json_response({
        "timezone": "UTC", "serverTime": sim.sim_time, "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": symbols,
    })


def _fmt(x: float | None, decimals: int) -> str:
    return f"{(x or 0.0):.{decimals}f}"


def kline_window(p: Params) -> tuple[str, Optional[int], Optional[int], int]:
    """interval, startTime, endTime and limit as every klines-family route validates them."""
    interval = p.req("interval")
    if interval not in INTERVAL_MS:
        raise ExchangeError(-1120, "Invalid interval.")
    start, end, limit = p.window(500, 1500)
    return interval, start, end, limit


@routes.get("/fapi/v1/klines")
async def klines(request: web.Request) -> web.Response:
    p = await read_params(request)
    symbol = p.symbol()
    request.app[SIM].instrument(symbol)
    return json_response(await kline_rows(request.app, symbol, *kline_window(p)))


async def kline_rows(app: web.Application, symbol: str, interval: str, start: Optional[int],
                     end: Optional[int], limit: int) -> list[list]:
    """The /fapi/v1/klines rows of a (valid) symbol as of sim time; the other klines-family
    routes (rest_market_extra.py) derive theirs from these, so all of them agree."""
    sim, cfg = app[SIM], app[CONFIG]
    inst = sim.instrument(symbol)
    base = cfg.interval
    # at or above the base interval, bars are built from the replayed base bars (as the streams
    # build them); a finer one is served from its own table where the database has one
    build_from = base if aggregates(interval, base) else None
    pd, qd = inst.price.decimals, inst.qty.decimals
    ims = INTERVAL_MS[interval]
    n_trades = cfg.ticks_per_bar * max(1, ims // cfg.interval_ms)
    # The replayed interval's recent bars are still in the clock's memory: no database trip.
    recent = app[CLOCK].recent_bars(sim.markets[symbol].index, start, end, limit) if interval == base else None
    if recent is not None:
        # a bot polls the same closed bars every bar: each is formatted once (keyed by its
        # values and instrument, so a restart on other data or filters cannot serve a stale row)
        f, px = inst.price.fmt, inst.price.to_float
        made = app[KLINE_ROWS].setdefault((symbol, inst.price, inst.qty, n_trades), {})
        if len(made) > 20_000:
            made.clear()
        out = []
        for bar in recent:
            row = made.get(bar)
            if row is None:
                ts, o, h, l, c, v = bar
                row = made[bar] = [ts, f(o), f(h), f(l), f(c), _fmt(v, qd), ts + ims - 1, _fmt(v * px(c), 4),
                                   n_trades, _fmt(v / 2, qd), _fmt(v * px(c) / 2, 4), "0"]
            out.append(row)
    else:
        try:
            rows = await app[STORE].query(reader.klines, symbol, interval, start, end, limit,
                                          sim.sim_time, build_from)
        except reader.NoData:
            raise ExchangeError(-1120, f"Invalid interval: no {interval} bars for {symbol} in this "
                                       f"database (the replay's base interval is {base}).") from None
        out = [[ts, _fmt(o, pd), _fmt(h, pd), _fmt(l, pd), _fmt(c, pd), _fmt(v, qd), close_ts,
                _fmt((v or 0) * (c or 0), 4), n_trades, _fmt((v or 0) / 2, qd),
                _fmt((v or 0) * (c or 0) / 2, 4), "0"] for ts, o, h, l, c, v, close_ts in rows]
    # The base bar still forming between intra-bar ticks is "the current bar as known so far",
    # in its own row at the base interval and merged into the open period of a coarser one.
    m = sim.markets[symbol]
    if m.bar is not None and not m.bar_final:
        ts, o, h, l, c, v = m.bar
        f, px = inst.price.fmt, inst.price.to_float
        p_open = period_open(interval, ts)
        inside = (start is None or p_open >= start) and (end is None or p_open <= end)
        if inside and out and out[-1][0] == p_open and interval != base:
            row = out[-1]
            hi, lo = max(float(row[2]), px(h)), min(float(row[3]), px(l))
            vol = float(row[5]) + v
            out[-1] = [p_open, row[1], _fmt(hi, pd), _fmt(lo, pd), f(c), _fmt(vol, qd), row[6],
                       _fmt(vol * px(c), 4), n_trades, _fmt(vol / 2, qd), _fmt(vol * px(c) / 2, 4), "0"]
        elif inside and not (out and out[-1][0] >= p_open):
            row = [p_open, f(o), f(h), f(l), f(c), _fmt(v, qd), period_end(interval, p_open) - 1,
                   _fmt(v * px(c), 4), cfg.ticks_per_bar, _fmt(v / 2, qd), _fmt(v * px(c) / 2, 4), "0"]
            if start is None or len(out) < limit:
                out.append(row)
                if len(out) > limit:
                    out.pop(0)
    return out


def _price_ticker(sim: Sim, symbol: str) -> dict:
    m = sim.markets[symbol]
    return {"symbol": symbol, "price": m.inst.price.fmt(m.last), "time": sim.sim_time}


@routes.get("/fapi/v1/ticker/price")
@routes.get("/fapi/v2/ticker/price")
async def ticker_price(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim = request.app[SIM]
    return json_response(_one_or_all(p, [_price_ticker(sim, s) for s in requested_symbols(sim, p)]))


def book(m: Market, spread_bps: float) -> tuple[int, int]:
    """Synthetic best bid/ask in ticks: half the spread each side of the last price, >= 1 tick."""
    last = m.last
    half = max(1, round(last * spread_bps / 20_000))
    return max(1, last - half), last + half


def _book_ticker(sim: Sim, symbol: str, spread_bps: float) -> dict:
    m = sim.markets[symbol]
    bid, ask = book(m, spread_bps)
    qty = m.inst.qty.fmt(max(m.inst.min_qty, m.inst.min_qty * 100))
    return {"symbol": symbol, "bidPrice": m.inst.price.fmt(bid), "bidQty": qty,
            "askPrice": m.inst.price.fmt(ask), "askQty": qty, "time": sim.sim_time,
            "lastUpdateId": sim.bars_done}


@routes.get("/fapi/v1/ticker/bookTicker")
async def book_ticker(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim, cfg = request.app[SIM], request.app[CONFIG]
    return json_response(_one_or_all(p, [_book_ticker(sim, s, cfg.spread_bps) for s in requested_symbols(sim, p)]))


@routes.get("/fapi/v1/ticker/24hr")
async def ticker_24hr(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim, cfg = request.app[SIM], request.app[CONFIG]
    out = []
    for symbol in requested_symbols(sim, p):
        m = sim.markets[symbol]
        inst = m.inst
        now = sim.sim_time
        o, h, l, v, q, first_ts, count = await request.app[STORE].query(
            reader.stats_24h, symbol, cfg.interval, now)
        last = inst.price.to_float(m.last)
        o = o if o is not None else last
        change = last - o
        pd = inst.price.decimals
        out.append({
            "symbol": symbol, "priceChange": _fmt(change, pd),
            "priceChangePercent": _fmt(100 * change / o if o else 0.0, 3),
            "weightedAvgPrice": _fmt(q / v if v else last, pd), "lastPrice": inst.price.fmt(m.last),
            "lastQty": inst.qty.fmt(inst.min_qty), "openPrice": _fmt(o, pd),
            "highPrice": _fmt(h if h is not None else last, pd), "lowPrice": _fmt(l if l is not None else last, pd),
            "volume": _fmt(v, inst.qty.decimals), "quoteVolume": _fmt(q, 2),
            "openTime": first_ts if first_ts is not None else now - 86_400_000, "closeTime": now - 1,
            "firstId": 1, "lastId": max(1, count or 0) * cfg.ticks_per_bar, "count": (count or 0) * cfg.ticks_per_bar,
        })
    return json_response(_one_or_all(p, out))


def premium_index_item(sim: Sim, symbol: str) -> dict:
    m = sim.markets[symbol]
    mark = m.inst.price.fmt(m.mark or m.last)
    return {"symbol": symbol, "markPrice": mark, "indexPrice": m.inst.price.fmt(m.last),
            "estimatedSettlePrice": mark,
            "lastFundingRate": f"{float(m.last_funding_rate):.8f}", "interestRate": "0.00010000",
            "nextFundingTime": m.next_funding_time, "time": sim.sim_time}


@routes.get("/fapi/v1/premiumIndex")
async def premium_index(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim = request.app[SIM]
    return json_response(_one_or_all(p, [premium_index_item(sim, s) for s in requested_symbols(sim, p)]))


@routes.get("/fapi/v1/fundingRate")
async def funding_rate(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim, cfg = request.app[SIM], request.app[CONFIG]
    out = []
    start, end, limit = p.window(100, 1000)
    for symbol in requested_symbols(sim, p):
        m = sim.markets[symbol]
        constant = float(m.constant_rate) if m.constant_rate is not None else None
        rows = await request.app[STORE].query(reader.funding_history, symbol, cfg.interval, start, end, limit,
                                              sim.sim_time, m.run_start, constant)
        out += [{"symbol": symbol, "fundingRate": f"{r:.8f}", "fundingTime": t,
                 "markPrice": _fmt(mark, 8) if mark is not None else ""} for t, r, mark in rows]
    return json_response(out)


@routes.get("/fapi/v1/depth")
async def depth(request: web.Request) -> web.Response:
    """The synthetic book of wire/depth_book.py as of sim time: the book the depth streams
    publish, `lastUpdateId` one past its last update's `u` (the next event's `U`)."""
    p = await read_params(request)
    sim = request.app[SIM]
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    limit = p.int("limit", 500)
    if limit not in DEPTH_LIMITS:
        raise bad_param("limit")
    payloads = request.app[FANOUT].payloads[sim.markets[symbol].index]
    upd = payloads.book_now()
    bids, asks = payloads.depth.levels(limit)
    f, q = inst.price.fmt, inst.qty.fmt
    return json_response({"lastUpdateId": upd.u + 1, "E": sim.sim_time, "T": sim.sim_time,
                          "bids": [[f(px), q(qty)] for px, qty in bids],
                          "asks": [[f(px), q(qty)] for px, qty in asks]})

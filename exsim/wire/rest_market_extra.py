"""Market-data routes derived from the replayed bars and funding: index-price, premium-index and
continuous klines, fundingInfo, openInterest and openInterestHist. Like rest_market.py's, every
answer is as of sim time; the klines ones take /fapi/v1/klines's rows and parameters
(`kline_window`, `kline_rows`), so all of the family agree bar for bar.

Where ExSim has no data of Binance's kind, values are synthetic and documented here:
- index price = the contract's own bar prices (no index data is loaded);
- premium index = the premium Binance's funding formula maps to the last settled funding rate
  (`implied_premium`), a step function of the settlements;
- open interest: see store/market_extra_reader.py (a table when loaded, else the rolling 24 h
  volume).
"""
from __future__ import annotations

from bisect import bisect_right
from decimal import Decimal
from typing import Optional

from aiohttp import web

from ..engine.errors import INVALID_SYMBOL, bad_param, reject
from ..engine.market import Market
from ..engine.sim import Sim
from ..store import market_extra_reader as extra
from ..store import reader
from ..timeutil import FUNDING_PERIOD_MS, INTERVAL_MS
from .keys import CONFIG, SIM, STORE
from .params import Params, read_params
from .respond import json_response
from .rest_market import kline_rows, kline_window

routes = web.RouteTableDef()

EIGHT = Decimal("0.00000001")  # index, premium and open-interest figures: 8 decimals on the wire
INTEREST_RATE = Decimal("0.0001")  # per funding period, as premiumIndex's interestRate says
PREMIUM_CLAMP = Decimal("0.0005")  # Binance: F = P + clamp(I - P, -0.05 %, 0.05 %)
INDEX_SAMPLE_MS = 1000  # Binance's index klines count one price a second ("number of basic data")
PREMIUM_SAMPLE_MS = 5000  # and its premium index klines one every 5 s
# Binance lists adjusted caps only for some symbols; ExSim lists every symbol with its usual
# adjusted cap (the engine applies the funding rates as loaded, uncapped).
FUNDING_RATE_CAP = "0.02000000"
FUNDING_RATE_FLOOR = "-0.02000000"
OI_PERIODS = ("5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")
DELIVERY_TYPES = ("CURRENT_MONTH", "NEXT_MONTH", "CURRENT_QUARTER", "NEXT_QUARTER")


def _eight(x: Decimal | str) -> str:
    return f"{Decimal(x).quantize(EIGHT):f}"  # :f, or a zero prints as 0E-8


def _samples(row: list, now: int, every_ms: int) -> int:
    """Binance's count of basic data in a row: one per `every_ms` of it elapsed by sim time."""
    return max(0, (min(row[6] + 1, now) - row[0]) // every_ms)


def _price_only(row: list, o: str, h: str, l: str, c: str, samples: int) -> list:
    """An index / premium kline row: the prices, `samples`, and "0" in every volume slot."""
    return [row[0], o, h, l, c, "0", row[6], "0", samples, "0", "0", "0"]


def _pair(sim: Sim, p: Params) -> str:
    pair = p.req("pair").upper()
    sim.instrument(pair)  # each pair has one (perpetual) contract here, of the same name
    return pair


@routes.get("/fapi/v1/indexPriceKlines")
async def index_price_klines(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim = request.app[SIM]
    pair = _pair(sim, p)
    rows = await kline_rows(request.app, pair, *kline_window(p))
    now = sim.sim_time
    return json_response([_price_only(r, _eight(r[1]), _eight(r[2]), _eight(r[3]), _eight(r[4]),
                                      _samples(r, now, INDEX_SAMPLE_MS)) for r in rows])


@routes.get("/fapi/v1/markPriceKlines")
async def mark_price_klines(request: web.Request) -> web.Response:
    """From the loaded mark-price klines when there are some (`exsim load --kind mark`), else the
    contract's own bars: the mark price the engine uses either way."""
    p = await read_params(request)
    sim, cfg = request.app[SIM], request.app[CONFIG]
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    interval, start, end, limit = kline_window(p)
    now = sim.sim_time
    if not sim.markets[symbol].has_mark_data:
        rows = await kline_rows(request.app, symbol, interval, start, end, limit)
        return json_response([_price_only(r, r[1], r[2], r[3], r[4], _samples(r, now, INDEX_SAMPLE_MS))
                              for r in rows])
    found = await request.app[STORE].query(reader.mark_klines, symbol, interval, start, end, limit, now,
                                           cfg.interval)
    f = lambda x: f"{Decimal(str(x)).quantize(Decimal(1).scaleb(-inst.price.decimals)):f}"
    return json_response([_price_only([ts, 0, 0, 0, 0, 0, close_ts], f(o), f(h), f(l), f(c),
                                      _samples([ts, 0, 0, 0, 0, 0, close_ts], now, INDEX_SAMPLE_MS))
                          for ts, o, h, l, c, close_ts in found])


@routes.get("/fapi/v1/continuousKlines")
async def continuous_klines(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim = request.app[SIM]
    pair = _pair(sim, p)
    contract = p.req("contractType").upper()
    if contract in DELIVERY_TYPES:
        raise reject(INVALID_SYMBOL)  # a real contract type, but no such contract is listed here
    if contract != "PERPETUAL":
        raise bad_param("contractType")
    return json_response(await kline_rows(request.app, pair, *kline_window(p)))


def implied_premium(rate: Optional[Decimal]) -> Decimal:
    """The premium index P that Binance's funding formula F = P + clamp(I - P, -0.05 %, 0.05 %)
    (I = 0.01 %) turns into the funding rate `rate`: unique when F != I; when F == I (true for a
    whole band of P), and before any settlement, 0."""
    if rate is None or rate == INTEREST_RATE:
        return Decimal(0)
    return rate + PREMIUM_CLAMP if rate > INTEREST_RATE else rate - PREMIUM_CLAMP


class _Steps:
    """The premium as a step function of time: that of the rate settled last at or before t
    (`before`, if any, before the first of `events`)."""

    def __init__(self, events: list[tuple[int, float]], before: Optional[float] = None) -> None:
        self.times = [t for t, _ in events]
        self.premiums = [implied_premium(Decimal(str(r))) for _, r in events]
        self.before = implied_premium(None if before is None else Decimal(str(before)))

    def row(self, ts: int, until: int) -> tuple[str, str, str, str]:
        """(open, high, low, close) over [ts, until]."""
        i = bisect_right(self.times, ts) - 1
        values = [self.premiums[i] if i >= 0 else self.before]
        values += self.premiums[i + 1:bisect_right(self.times, until)]
        return _eight(values[0]), _eight(max(values)), _eight(min(values)), _eight(values[-1])


@routes.get("/fapi/v1/premiumIndexKlines")
async def premium_index_klines(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim = request.app[SIM]
    symbol = p.symbol()
    sim.instrument(symbol)
    rows = await kline_rows(request.app, symbol, *kline_window(p))
    now = sim.sim_time
    m = sim.markets[symbol]
    if m.constant_rate is not None:  # no funding rows: the configured rate, settled every period
        steps = _Steps([], before=float(m.constant_rate))
    elif rows:
        until = min(rows[-1][6], now)
        steps = _Steps(await request.app[STORE].query(extra.funding_steps, symbol, rows[0][0], until))
    else:
        steps = _Steps([])
    return json_response([_price_only(r, *steps.row(r[0], min(r[6], now)), _samples(r, now, PREMIUM_SAMPLE_MS))
                          for r in rows])


def funding_interval_hours(m: Market) -> int:
    """Hours between the last settlement and the next one: the funding table's spacing where it
    has rows (both times are public: premiumIndex shows the next), else the fixed 8 h."""
    rows = m.funding
    gap = FUNDING_PERIOD_MS
    if len(rows) >= 2:
        j = min(max(m.funding_idx, 1), len(rows) - 1)
        gap = rows[j][0] - rows[j - 1][0]
    return max(1, round(gap / 3_600_000))


@routes.get("/fapi/v1/fundingInfo")
async def funding_info(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return json_response([{"symbol": symbol, "adjustedFundingRateCap": FUNDING_RATE_CAP,
                           "adjustedFundingRateFloor": FUNDING_RATE_FLOOR,
                           "fundingIntervalHours": funding_interval_hours(m), "disclaimer": False,
                           "updateTime": m.run_start} for symbol, m in sim.markets.items()])


@routes.get("/fapi/v1/openInterest")
async def open_interest(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim, cfg = request.app[SIM], request.app[CONFIG]
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    now = sim.sim_time
    points = await request.app[STORE].query(extra.open_interest, symbol, cfg.interval, now, now, 1, now,
                                            extra.DAY_MS)
    oi = points[-1][1] if points else Decimal(0)
    return json_response({"openInterest": f"{oi:.{inst.qty.decimals}f}", "symbol": symbol, "time": now})


def _grid(step: int, start: Optional[int], end: Optional[int], limit: int, now: int) -> tuple[int, int]:
    """First and last period boundary of an openInterestHist window, as klines choose bars: with
    startTime the first `limit` from it, otherwise the last `limit` up to endTime / sim time."""
    top = min(end if end is not None else now, now) // step * step
    if start is not None:
        first = -(-start // step) * step
        return first, min(top, first + (limit - 1) * step)
    return top - (limit - 1) * step, top


@routes.get("/futures/data/openInterestHist")
async def open_interest_hist(request: web.Request) -> web.Response:
    p = await read_params(request)
    sim, cfg = request.app[SIM], request.app[CONFIG]
    symbol = p.symbol()
    sim.instrument(symbol)
    period = p.req("period")
    if period not in OI_PERIODS:
        raise bad_param("period")
    start, end, limit = p.window(30, 500)
    step, now = INTERVAL_MS[period], sim.sim_time
    first, last = _grid(step, start, end, limit, now)
    points = await request.app[STORE].query(extra.open_interest, symbol, cfg.interval, first, last, step, now,
                                            step)
    # No circulating-supply data here: the field is there, as Binance always sends it, at 0.
    return json_response([{"symbol": symbol, "sumOpenInterest": _eight(oi),
                           "sumOpenInterestValue": _eight(Decimal(repr(value))),
                           "CMCCirculatingSupply": _eight("0"), "timestamp": t} for t, oi, value in points])


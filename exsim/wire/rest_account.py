"""Account routes (SIGNED): balances, account, positions, settings, income, listenKey."""
from __future__ import annotations

from aiohttp import web

from ..engine import brackets as B
from ..engine import money as M
from ..engine.commands import ChangePositionMargin, SetLeverage, SetMarginType, SetMultiAssets, SetPositionMode
from ..engine.errors import ExchangeError, bad_param
from .format import (account_json, adl_quantile, balance_json, decimal_text, income_json, listed_positions,
                     position_risk_v2, position_risk_v3)
from .keys import AUTH, USER
from .respond import json_response
from .params import in_window, read_params
from .rest_market import requested_symbols
from .rest_trade import apply, signed

routes = web.RouteTableDef()
SUCCESS = {"code": 200, "msg": "success"}
INCOME_TYPES = ("TRANSFER", "WELCOME_BONUS", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION",
                "INSURANCE_CLEAR", "REFERRAL_KICKBACK", "COMMISSION_REBATE", "API_REBATE",
                "CONTEST_REWARD", "CROSS_COLLATERAL_TRANSFER", "OPTIONS_PREMIUM_FEE",
                "OPTIONS_SETTLE_PROFIT", "INTERNAL_TRANSFER", "AUTO_EXCHANGE",
                "DELIVERED_SETTELMENT", "COIN_SWAP_DEPOSIT", "COIN_SWAP_WITHDRAW",
                "POSITION_LIMIT_INCREASE_FEE", "STRATEGY_UMFUTURES_TRANSFER", "FEE_RETURN", "BFUSD_REWARD")


@routes.get("/fapi/v2/balance")
@routes.get("/fapi/v3/balance")
async def balance(request: web.Request) -> web.Response:
    _, sim, acct = await signed(request)
    return json_response(balance_json(sim, acct))


@routes.get("/fapi/v2/account")
async def account_v2(request: web.Request) -> web.Response:
    _, sim, acct = await signed(request)
    return json_response(account_json(sim, acct, 2))


@routes.get("/fapi/v3/account")
async def account_v3(request: web.Request) -> web.Response:
    _, sim, acct = await signed(request)
    return json_response(account_json(sim, acct, 3))


@routes.get("/fapi/v1/positionRisk")
@routes.get("/fapi/v2/positionRisk")
async def position_risk(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    return json_response([position_risk_v2(sim, acct, pos)
                          for pos in listed_positions(sim, acct, requested_symbols(sim, p), active_only=False)])


@routes.get("/fapi/v3/positionRisk")
async def position_risk_3(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    return json_response([position_risk_v3(sim, acct, pos)
                          for pos in listed_positions(sim, acct, requested_symbols(sim, p), active_only=True)])


@routes.post("/fapi/v1/leverage")
async def leverage(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    lev = await apply(request, SetLeverage(account=acct.name, symbol=symbol,
                                             leverage=p.req_int("leverage", -(1 << 31), 1 << 31)))
    cap = B.max_notional(sim.instrument(symbol).brackets, lev)
    return json_response({"leverage": lev, "maxNotionalValue": M.text(cap, 0), "symbol": symbol})


@routes.post("/fapi/v1/marginType")
async def margin_type(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    await apply(request, SetMarginType(account=acct.name, symbol=p.symbol(),
                                         margin_type=p.req("marginType").upper()))
    return json_response(SUCCESS)


@routes.get("/fapi/v1/positionSide/dual")
async def get_dual(request: web.Request) -> web.Response:
    _, _, acct = await signed(request)
    return json_response({"dualSidePosition": acct.dual_side})


@routes.post("/fapi/v1/positionSide/dual")
async def set_dual(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    await apply(request, SetPositionMode(account=acct.name, dual_side=p.req_bool("dualSidePosition")))
    return json_response(SUCCESS)


@routes.get("/fapi/v1/multiAssetsMargin")
async def get_multi_assets(request: web.Request) -> web.Response:
    _, _, acct = await signed(request)
    return json_response({"multiAssetsMargin": acct.multi_assets})


@routes.post("/fapi/v1/multiAssetsMargin")
async def set_multi_assets(request: web.Request) -> web.Response:
    p, _, acct = await signed(request)
    await apply(request, SetMultiAssets(account=acct.name, multi_assets=p.req_bool("multiAssetsMargin")))
    return json_response(SUCCESS)


@routes.post("/fapi/v1/positionMargin")
async def position_margin(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    kind = p.req_int("type", 1, 2)
    amount = p.req("amount")
    side = (p.opt("positionSide") or "BOTH").upper()
    await apply(request, ChangePositionMargin(account=acct.name, symbol=symbol, position_side=side,
                                              amount=amount, kind=kind))
    return json_response({"amount": float(amount), "code": 200, "msg": "Successfully modify position margin.",
                          "type": kind})


@routes.get("/fapi/v1/positionMargin/history")
async def position_margin_history(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    sim.instrument(symbol)
    kind = p.int("type", None, 1, 2)
    start, end, limit = p.window(500, 500)
    rows = [r for r in acct.margin_transfers if r[1] == symbol and (kind is None or r[3] == kind)
            and in_window(r[0], start, end)][:limit]
    return json_response([{"symbol": sym, "type": k, "deltaType": "USER_ADJUST", "amount": M.text(amount),
                           "asset": "USDT", "time": t, "positionSide": side} for t, sym, side, k, amount in rows])


@routes.get("/fapi/v1/adlQuantile")
async def adl(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    out = []
    for symbol in requested_symbols(sim, p):
        if not any(pos.amt for pos in acct.sides(symbol)) and p.opt("symbol") is None:
            continue
        q = {pos.side: adl_quantile(sim, acct, pos) for pos in acct.sides(symbol)}
        if acct.dual_side:
            q = {"LONG": q["LONG"], "SHORT": q["SHORT"], "HEDGE": 0, "BOTH": 0}
        else:
            q = {"LONG": 0, "SHORT": 0, "BOTH": q["BOTH"]}
        out.append({"symbol": symbol, "adlQuantile": q})
    return json_response(out)


@routes.get("/fapi/v1/commissionRate")
async def commission_rate(request: web.Request) -> web.Response:
    p, sim, _ = await signed(request)
    symbol = p.symbol()
    sim.instrument(symbol)
    return json_response({"symbol": symbol,
                          "makerCommissionRate": decimal_text(sim.fees[symbol].maker_rate, 6),
                          "takerCommissionRate": decimal_text(sim.fees[symbol].taker_rate, 6)})


@routes.get("/fapi/v1/income")
async def income(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol(required=False)
    if symbol is not None:
        sim.instrument(symbol)
    kind = p.opt("incomeType")
    if kind is not None and kind not in INCOME_TYPES:
        raise bad_param("incomeType")
    start, end, limit = p.window(100, 1000)
    page = p.int("page", 1, 1, 1 << 20)
    items = [i for i in acct.incomes if (symbol is None or i.symbol == symbol)
             and (kind is None or i.income_type == kind) and in_window(i.time, start, end)]
    if start is None and end is None:  # Binance: the most recent records without a window
        items = items[max(0, len(items) - limit * page): len(items) - limit * (page - 1)]
    else:
        items = items[(page - 1) * limit: page * limit]
    return json_response([income_json(i) for i in items])


@routes.get("/fapi/v1/leverageBracket")
async def leverage_bracket(request: web.Request) -> web.Response:
    """The configured brackets (engine/brackets.py); numbers are JSON numbers, as Binance's."""
    p, sim, _ = await signed(request)
    return json_response([{"symbol": s, "notionalCoef": 1.0, "brackets": [
        {"bracket": b.bracket, "initialLeverage": b.initial_leverage, "notionalCap": _number(b.cap),
         "notionalFloor": _number(b.floor), "maintMarginRatio": float(b.mmr), "cum": float(M.usdt(b.cum))}
        for b in sim.instrument(s).brackets]} for s in requested_symbols(sim, p)])


def _number(units: int) -> int | float:
    whole, frac = divmod(units, M.SCALE)
    return whole if not frac else M.to_float(units)


@routes.get("/fapi/v1/symbolConfig")
async def symbol_config(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    out = []
    for s in requested_symbols(sim, p):
        conf = acct.settings(s)
        out.append({"symbol": s, "marginType": conf.margin_type,
                    "isAutoAddMargin": False,  # a JSON boolean here, as live Binance sends it
                    "leverage": conf.leverage,
                    "maxNotionalValue": M.text(B.max_notional(sim.instrument(s).brackets, conf.leverage), 0)})
    return json_response(out)


@routes.get("/fapi/v1/accountConfig")
async def account_config(request: web.Request) -> web.Response:
    _, _, acct = await signed(request)
    return json_response({"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
                          "dualSidePosition": acct.dual_side, "updateTime": acct.update_time,
                          "multiAssetsMargin": acct.multi_assets, "tradeGroupId": -1})


@routes.post("/fapi/v1/listenKey")
async def listen_key(request: web.Request) -> web.Response:
    """The account's active listenKey (extended), or a new one (API key header, no signature)."""
    p = await read_params(request)
    acct = request.app[AUTH].account(request, p, signed=False)
    return json_response({"listenKey": request.app[USER].open(acct.name)})


@routes.put("/fapi/v1/listenKey")
async def keepalive_listen_key(request: web.Request) -> web.Response:
    p = await read_params(request)
    acct = request.app[AUTH].account(request, p, signed=False)
    key = request.app[USER].keepalive(acct.name)
    if key is None:
        raise ExchangeError(-1125, "This listenKey does not exist.")
    return json_response({"listenKey": key})


@routes.delete("/fapi/v1/listenKey")
async def close_listen_key(request: web.Request) -> web.Response:
    p = await read_params(request)
    acct = request.app[AUTH].account(request, p, signed=False)
    if not request.app[USER].close(acct.name):
        raise ExchangeError(-1125, "This listenKey does not exist.")
    return json_response({})

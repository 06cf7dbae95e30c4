"""Account routes (SIGNED): balances, account, positions, settings, income, listenKey."""
from __future__ import annotations

from aiohttp import web

from ..engine.commands import SetLeverage, SetMarginType, SetPositionMode
from ..engine.errors import ExchangeError, bad_param
from .format import account_json, balance_json, decimal_text, income_json, position_risk_v2, position_risk_v3
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
    return json_response([position_risk_v2(sim, acct, s) for s in requested_symbols(sim, p)])


@routes.get("/fapi/v3/positionRisk")
async def position_risk_3(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    return json_response([position_risk_v3(sim, acct, s) for s in requested_symbols(sim, p)
                          if acct.position(s).amt or any(o.symbol == s for o in acct.open_orders.values())])


@routes.post("/fapi/v1/leverage")
async def leverage(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    lev = await apply(request, SetLeverage(account=acct.name, symbol=symbol,
                                             leverage=p.req_int("leverage", -(1 << 31), 1 << 31)))
    return json_response({"leverage": lev, "maxNotionalValue": "100000000", "symbol": symbol})


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
    if p.opt("dualSidePosition") is None:
        p.req("dualSidePosition")
    await apply(request, SetPositionMode(account=acct.name, dual_side=p.bool("dualSidePosition")))
    return json_response(SUCCESS)


@routes.get("/fapi/v1/multiAssetsMargin")
async def get_multi_assets(request: web.Request) -> web.Response:
    _, _, acct = await signed(request)
    return json_response({"multiAssetsMargin": acct.multi_assets})


@routes.get("/fapi/v1/commissionRate")
async def commission_rate(request: web.Request) -> web.Response:
    p, sim, _ = await signed(request)
    symbol = p.symbol()
    sim.instrument(symbol)
    return json_response({"symbol": symbol,
                          "makerCommissionRate": decimal_text(sim.fee_model.maker_rate, 6),
                          "takerCommissionRate": decimal_text(sim.fee_model.taker_rate, 6)})


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
    p, sim, _ = await signed(request)
    symbols = requested_symbols(sim, p)
    return json_response([{"symbol": s, "notionalCoef": 1.0, "brackets": [
        {"bracket": 1, "initialLeverage": 125, "notionalCap": 50000, "notionalFloor": 0,
         "maintMarginRatio": 0.004, "cum": 0.0},
        {"bracket": 2, "initialLeverage": 100, "notionalCap": 100000000, "notionalFloor": 50000,
         "maintMarginRatio": 0.005, "cum": 50.0}]} for s in symbols])


@routes.get("/fapi/v1/symbolConfig")
async def symbol_config(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    return json_response([{"symbol": s, "marginType": acct.position(s).margin_type, "isAutoAddMargin": "false",
                           "leverage": acct.position(s).leverage, "maxNotionalValue": "100000000"}
                          for s in requested_symbols(sim, p)])


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

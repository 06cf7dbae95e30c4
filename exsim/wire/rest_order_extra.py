"""More order routes (SIGNED): modify (PUT /fapi/v1/order) and its history, batch place / modify /
cancel, the auto-cancel countdown, force (liquidation / ADL) orders and the order rate limit.
Like rest_trade.py (whose helpers these reuse), each handler translates the request into
commands (engine/commands.py) applied through the replay, and formats the answer.

batchOrders: a JSON array of at most 5 orders in one parameter, url-encoded (python-binance,
the connector, the SDK) or raw in a form body (ccxt). Each is applied as its own command, in
order (the batch is not atomic, as on Binance: one may fail while the others are accepted), and
each answers the order object or its {"code", "msg"}. The batch runs without yielding to the
event loop, so no bar moves between its orders.
"""
from __future__ import annotations

import ast
import json
from typing import Callable, Optional

from aiohttp import web

from ..engine.commands import CancelOrder, ModifyOrder, PlaceOrder, SetCountdownCancel
from ..engine.errors import ExchangeError, bad_param, missing_param
from .format import order_json
from .params import Params, in_window
from .respond import json_response
from .rest_trade import ORDER_COUNTS, _id, _order_headers, apply, new_order_request, signed

routes = web.RouteTableDef()
MAX_BATCH = 5  # POST / PUT /fapi/v1/batchOrders
MAX_CANCEL_BATCH = 10  # DELETE /fapi/v1/batchOrders
DAY_MS = 86_400_000
FORCE_PREFIXES = {"LIQUIDATION": ("autoclose-",), "ADL": ("adl_autoclose",)}
FORCE_KEYS = ("orderId", "symbol", "status", "clientOrderId", "price", "avgPrice", "origQty", "executedQty",
              "cumQuote", "timeInForce", "type", "reduceOnly", "closePosition", "side", "positionSide",
              "stopPrice", "workingType", "origType", "time", "updateTime")


def modify_request(p: Params, account: str) -> ModifyOrder:
    """PUT /fapi/v1/order's parameters (also one item of PUT /fapi/v1/batchOrders)."""
    order_id, client_id = _id(p)
    return ModifyOrder(account=account, symbol=p.symbol(), side=p.req("side"), quantity=p.opt("quantity"),
                       price=p.opt("price"), order_id=order_id, client_order_id=client_id,
                       price_match=p.opt("priceMatch") or "NONE")


@routes.put("/fapi/v1/order")
async def modify_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    order = await apply(request, modify_request(p, acct.name))
    return json_response(order_json(sim.instrument(order.symbol), order), _order_headers(request))


@routes.get("/fapi/v1/orderAmendment")
async def order_amendments(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    order_id, client_id = _id(p)
    start, end, limit = p.window(50, 100)
    if order_id is None:  # by client id: the order it names (closed ones too)
        order = sim.find_order(acct, symbol, None, client_id)
        if order is None:
            return json_response([])
        order_id = order.order_id
    price, qty = inst.price.fmt, inst.qty.fmt
    return json_response([{
        "amendmentId": a.amendment_id, "symbol": a.symbol, "pair": a.symbol, "orderId": a.order_id,
        "clientOrderId": a.client_order_id, "time": a.time,
        "amendment": {"price": {"before": price(a.price_before), "after": price(a.price_after)},
                      "origQty": {"before": qty(a.qty_before), "after": qty(a.qty_after)},
                      "count": a.count}}
        for a in sim.amendments.history(acct.name, symbol, order_id, start, end, limit)])


# --- batches --------------------------------------------------------------------------------

def _json_param(p: Params, names: tuple[str, ...]) -> tuple[str, Optional[object]]:
    """The first of `names` sent, parsed: JSON, or the Python literal python-binance sends for
    a batch (str() of a list of dicts with ' turned into ", so True/False stay bare)."""
    for name in names:
        text = p.opt(name)
        if text is None:
            continue
        try:
            return name, json.loads(text)
        except (ValueError, RecursionError):
            pass
        try:
            return name, ast.literal_eval(text)  # bounded: a parameter is at most MAX_PARAM_LEN
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise bad_param(name) from None
    return names[0], None


def _batch(p: Params) -> list[Params]:
    name, items = _json_param(p, ("batchOrders",))
    if items is None:
        raise missing_param(name)
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH or not all(
            isinstance(i, dict) for i in items):
        raise bad_param(name)
    return [Params({str(k): _text(v) for k, v in item.items()}, "", "") for item in items]


def _text(value: object) -> str:
    """A JSON value as the text a form parameter would carry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value)


async def _each(items: list, run: Callable) -> list[dict]:
    out = []
    for item in items:
        try:
            out.append(await run(item))
        except ExchangeError as exc:
            out.append({"code": exc.code, "msg": exc.msg})
    return out


@routes.post("/fapi/v1/batchOrders")
async def place_batch(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)

    async def place(ip: Params) -> dict:
        order = await apply(request, PlaceOrder(account=acct.name, order=new_order_request(ip)))
        ack = (ip.opt("newOrderRespType") or "ACK") == "ACK"
        return order_json(sim.instrument(order.symbol), order, ack=ack)

    results = await _each(_batch(p), place)
    return json_response(results, _order_headers(request))


@routes.put("/fapi/v1/batchOrders")
async def modify_batch(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)

    async def amend(ip: Params) -> dict:
        order = await apply(request, modify_request(ip, acct.name))
        return order_json(sim.instrument(order.symbol), order)

    results = await _each(_batch(p), amend)
    return json_response(results, _order_headers(request))


@routes.delete("/fapi/v1/batchOrders")
async def cancel_batch(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    # python-binance and ccxt send the names in lower case
    name, ids = _json_param(p, ("orderIdList", "orderidlist"))
    by_client = ids is None
    if by_client:
        name, ids = _json_param(p, ("origClientOrderIdList", "origclientorderidlist"))
    if ids is None:
        raise missing_param("orderIdList")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_CANCEL_BATCH:
        raise bad_param(name)
    if by_client:
        if not all(isinstance(i, str) and i for i in ids):
            raise bad_param(name)
        targets = [(None, i) for i in ids]
    else:
        if not all(isinstance(i, int) and not isinstance(i, bool) or isinstance(i, str) and i.isascii()
                   and i.isdigit() for i in ids):
            raise bad_param(name)
        targets = [(int(i), None) for i in ids]

    async def cancel(target: tuple) -> dict:
        order = await apply(request, CancelOrder(account=acct.name, symbol=symbol, order_id=target[0],
                                                   client_order_id=target[1], scope="order"))
        return order_json(inst, order)

    return json_response(await _each(targets, cancel))


# --- countdown, force orders, rate limit ----------------------------------------------------

@routes.post("/fapi/v1/countdownCancelAll")
async def countdown_cancel_all(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    ms = p.req_int("countdownTime", 0)
    await apply(request, SetCountdownCancel(account=acct.name, symbol=symbol, countdown_time=ms))
    return json_response({"symbol": symbol, "countdownTime": str(ms)})


@routes.get("/fapi/v1/forceOrders")
async def force_orders(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol(required=False)
    if symbol is not None:
        sim.instrument(symbol)
    kind = p.opt("autoCloseType")
    if kind is not None and kind not in FORCE_PREFIXES:
        raise bad_param("autoCloseType")
    prefixes = FORCE_PREFIXES[kind] if kind else sum(FORCE_PREFIXES.values(), ())
    start, end, limit = p.window(50, 100)
    if start is None:  # "data within 7 days before endTime"
        start = (sim.sim_time if end is None else end) - 7 * DAY_MS
    items = [o for o in acct.orders.values() if o.client_order_id.startswith(prefixes)
             and (symbol is None or o.symbol == symbol) and in_window(o.time, start, end)]
    items = items[:limit] if p.opt("startTime") is not None else items[-limit:]
    out = []
    for o in items:
        full = order_json(sim.instrument(o.symbol), o, with_time=True)
        row = {k: full[k] for k in FORCE_KEYS}
        for k in ("type", "origType"):  # Binance lists its liquidation orders as the LIMITs they are
            if row[k] == "LIQUIDATION":
                row[k] = "LIMIT"
        out.append(row)
    return json_response(out)


@routes.get("/fapi/v1/rateLimit/order")
async def order_rate_limit(request: web.Request) -> web.Response:
    await signed(request)
    ten, minute = _order_counts(request)
    return json_response([
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300, "count": ten},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200, "count": minute}])


def _order_counts(request: web.Request) -> tuple[int, int]:
    """The caller's orders in the last 10 s / minute, as X-MBX-ORDER-COUNT-* counts them, without
    counting this request (OrderCounts has no read-only call: its deques are read here)."""
    counts = request.app[ORDER_COUNTS]
    now = counts._clock()
    ten, minute = counts._hits.get(request.headers.get("X-MBX-APIKEY", ""), ((), ()))
    return sum(1 for t in ten if now - t <= 10), sum(1 for t in minute if now - t <= 60)

"""Trading routes (SIGNED): orders, algo (conditional) orders, trades. Each handler translates
the request into a command (engine/commands.py), has the replay apply it (exsim/replay.py:
synchronously, so a request is applied atomically between two clock steps) and formats the
answer; queries read the account directly."""
from __future__ import annotations

from collections import deque

from aiohttp import web

from ..engine.account import Account
from ..engine.errors import ExchangeError, bad_param, missing_param, reject
from ..engine import errors as E
from ..engine.commands import CancelAll, CancelOrder, NewOrder, PlaceOrder
from ..engine.orders import CONDITIONAL, Order
from ..engine.sim import Sim, in_order_scope
from .format import algo_json, order_json, trade_json
from .keys import AUTH, REPLAY, SIM
from .params import Params, in_window, read_params
from .respond import json_response

routes = web.RouteTableDef()
CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


async def signed(request: web.Request) -> tuple[Params, Sim, Account]:
    p = await read_params(request)
    acct = request.app[AUTH].account(request, p)
    return p, request.app[SIM], acct


async def apply(request: web.Request, cmd):
    """Apply a command through the replay's one entry point; its result."""
    return (await request.app[REPLAY].apply(cmd)).result


def new_order_request(p: Params, algo: bool = False) -> NewOrder:
    resp_type = p.opt("newOrderRespType") or "ACK"
    if resp_type not in ("ACK", "RESULT"):
        raise bad_param("newOrderRespType")
    return NewOrder(
        symbol=p.symbol(), side=p.req("side"), type=p.req("type"),
        quantity=p.opt("quantity") or p.opt("origQty"),  # the spec's quantity|origQty
        price=p.opt("price"), stop_price=p.opt("triggerPrice" if algo else "stopPrice"),
        time_in_force=p.opt("timeInForce"), reduce_only=p.bool("reduceOnly"),
        close_position=p.bool("closePosition"),
        new_client_order_id=None if algo else p.opt("newClientOrderId"),
        # Binance generates a clientAlgoId when none is sent (the Sim draws it once accepted)
        client_algo_id=p.opt("clientAlgoId") if algo else None,
        working_type=p.opt("workingType") or "CONTRACT_PRICE",
        activation_price=p.opt("activatePrice" if algo else "activationPrice"),
        callback_rate=p.opt("callbackRate"), price_protect=p.bool("priceProtect"),
        position_side=p.opt("positionSide") or "BOTH", good_till_date=p.int("goodTillDate", 0, 0) or 0,
        algo=algo)


def _order_headers(request: web.Request) -> dict:
    counts = request.app[ORDER_COUNTS]
    return counts.hit(request.headers.get("X-MBX-APIKEY", ""))


def _regular(order: Order | None) -> Order | None:
    return order if in_order_scope(order) else None


def _id(p: Params) -> tuple[int | None, str | None]:
    order_id = p.int("orderId", None, 0)
    client_id = p.opt("origClientOrderId")
    if order_id is None and client_id is None:
        raise missing_param("orderId")
    return order_id, client_id


@routes.post("/fapi/v1/order")
async def new_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    order = await apply(request, PlaceOrder(account=acct.name, order=new_order_request(p)))
    ack = (p.opt("newOrderRespType") or "ACK") == "ACK"
    return json_response(order_json(sim.instrument(order.symbol), order, ack=ack), _order_headers(request))


@routes.post("/fapi/v1/order/test")
async def test_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    await apply(request, PlaceOrder(account=acct.name, order=new_order_request(p), test=True))
    return json_response({})


@routes.get("/fapi/v1/order")
async def get_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    order = _regular(sim.find_order(acct, symbol, *_id(p)))
    if order is None:
        raise reject(E.ORDER_NOT_FOUND)
    return json_response(order_json(inst, order, with_time=True))


@routes.delete("/fapi/v1/order")
async def cancel_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    order_id, client_id = _id(p)
    order = await apply(request, CancelOrder(account=acct.name, symbol=symbol, order_id=order_id,
                                               client_order_id=client_id, scope="order"))
    return json_response(order_json(sim.instrument(symbol), order))


@routes.delete("/fapi/v1/allOpenOrders")
async def cancel_all(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    await apply(request, CancelAll(account=acct.name, symbol=p.symbol(), scope="order"))  # algo orders stay
    return json_response(CANCEL_ALL_DONE)


@routes.get("/fapi/v1/openOrders")
async def open_orders(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol(required=False)
    if symbol is not None:
        sim.instrument(symbol)
    return json_response([order_json(sim.instrument(o.symbol), o, with_time=True)
                          for o in acct.open_orders.values()
                          if (symbol is None or o.symbol == symbol) and _regular(o) is not None])


@routes.get("/fapi/v1/openOrder")
async def open_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    order = _regular(sim.find_order(acct, symbol, *_id(p)))
    if order is None or not order.is_open:
        raise ExchangeError(-2013, "Order does not exist.")
    return json_response(order_json(inst, order, with_time=True))


@routes.get("/fapi/v1/allOrders")
async def all_orders(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    start, end, limit = p.window(500, 1000)
    from_id = p.int("orderId", None, 0)
    items = [o for o in acct.orders.values() if o.symbol == symbol and in_window(o.time, start, end)
             and (from_id is None or o.order_id >= from_id) and _regular(o) is not None]
    items = items[:limit] if from_id is not None or start is not None else items[-limit:]
    return json_response([order_json(inst, o, with_time=True) for o in items])


@routes.get("/fapi/v1/userTrades")
async def user_trades(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    inst = sim.instrument(symbol)
    start, end, limit = p.window(500, 1000)
    order_id = p.int("orderId", None, 0)
    from_id = p.int("fromId", None, 0)
    items = [t for t in acct.trades if t.symbol == symbol and in_window(t.time, start, end)
             and (order_id is None or t.order_id == order_id) and (from_id is None or t.trade_id >= from_id)]
    items = items[:limit] if from_id is not None or start is not None else items[-limit:]
    return json_response([trade_json(inst, t) for t in items])


# --- algo (conditional) orders: python-binance and ccxt send stops here ---------------------

def _algo(sim: Sim, acct: Account, p: Params) -> Order | None:
    return sim.find_algo(acct, p.int("algoId", None, 0), p.opt("clientAlgoId"))


@routes.post("/fapi/v1/algoOrder")
async def new_algo_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    if p.req("algoType") != "CONDITIONAL":
        raise bad_param("algoType")
    if p.req("type") not in CONDITIONAL:
        raise ExchangeError(-1116, "Invalid orderType.")
    order = await apply(request, PlaceOrder(account=acct.name, order=new_order_request(p, algo=True)))
    return json_response(algo_json(sim.instrument(order.symbol), order), _order_headers(request))


@routes.get("/fapi/v1/algoOrder")
async def get_algo_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    order = _algo(sim, acct, p)
    if order is None:
        raise reject(E.ORDER_NOT_FOUND)
    return json_response(algo_json(sim.instrument(order.symbol), order))


@routes.delete("/fapi/v1/algoOrder")
async def cancel_algo_order(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    order = await apply(request, CancelOrder(account=acct.name, symbol="", order_id=p.int("algoId", None, 0),
                                               client_order_id=p.opt("clientAlgoId"), scope="algo"))
    return json_response({"algoId": order.algo_id, "clientAlgoId": order.client_algo_id,
                          "code": "200", "msg": "success"})


@routes.get("/fapi/v1/openAlgoOrders")
async def open_algo_orders(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol(required=False)
    return json_response([algo_json(sim.instrument(o.symbol), o) for o in acct.algo_orders.values()
                          if o.is_open and (symbol is None or o.symbol == symbol)])


@routes.get("/fapi/v1/allAlgoOrders")
async def all_algo_orders(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    symbol = p.symbol()
    sim.instrument(symbol)
    start, end, limit = p.window(100, 100)
    items = [o for o in acct.algo_orders.values() if o.symbol == symbol and in_window(o.time, start, end)]
    return json_response([algo_json(sim.instrument(o.symbol), o) for o in items[-limit:]])


@routes.delete("/fapi/v1/algoOpenOrders")
async def cancel_algo_open_orders(request: web.Request) -> web.Response:
    p, sim, acct = await signed(request)
    await apply(request, CancelAll(account=acct.name, symbol=p.symbol(), scope="algo"))  # untriggered algo orders
    return json_response(CANCEL_ALL_DONE)


class OrderCounts:
    """X-MBX-ORDER-COUNT-10S / -1M headers: orders placed per key in the last window (wall time)."""

    def __init__(self, clock) -> None:
        self._clock = clock
        # per key: the hits of the last 10 s and of the last minute, oldest first. Two deques
        # make a hit O(1); one list scanned per order made 10k orders/s quadratic.
        self._hits: dict[str, tuple[deque, deque]] = {}

    def hit(self, key: str) -> dict:
        now = self._clock()
        ten, minute = self._hits.setdefault(key, (deque(), deque()))
        ten.append(now)
        minute.append(now)
        while now - ten[0] > 10:
            ten.popleft()
        while now - minute[0] > 60:
            minute.popleft()
        return {"X-MBX-ORDER-COUNT-10S": str(len(ten)), "X-MBX-ORDER-COUNT-1M": str(len(minute))}


ORDER_COUNTS = web.AppKey("order_counts", OrderCounts)

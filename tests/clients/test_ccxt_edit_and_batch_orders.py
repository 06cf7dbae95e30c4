"""ccxt 4.5.90 (async binanceusdm, unchanged) against a real ExSim server with signed keys:
create_orders (POST /fapi/v1/batchOrders, the JSON list raw in a signed form body), edit_order
(PUT /fapi/v1/order), edit_orders (PUT /fapi/v1/batchOrders) and cancel_orders
(DELETE /fapi/v1/batchOrders with ccxt's lower-case `orderidlist`). Pointed at ExSim as
docs/clients.md says (the `fapi*` URLs, no /sapi currencies call)."""
from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import pytest

from .helpers import SYMBOL, TICK
from .user_data import ALICE, KEYS

pytestmark = pytest.mark.timeout(60)
UNIFIED = "BTC/USDT:USDT"


def exchange(server, key: str, secret: str) -> ccxt_async.binanceusdm:
    ex = ccxt_async.binanceusdm({"apiKey": key, "secret": secret, "options": {"fetchCurrencies": False}})
    api = ex.urls["api"]
    for name, url in list(api.items()):
        if name.startswith("fapi"):  # fapiPublic(V2, V3), fapiPrivate(V2, V3), fapiData
            api[name] = server.url + urlsplit(url).path
    return ex


def on_grid(x: Decimal) -> float:
    return float((x / TICK).to_integral_value() * TICK)


async def test_create_orders_edit_order_edit_orders_and_cancel_orders(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    ex = exchange(server, *ALICE)
    close = bars[0].close  # the last price of a fresh, paused server
    below, above = on_grid(close * Decimal("0.99")), on_grid(close * Decimal("1.01"))
    try:
        # five orders, the most a batch takes; the third breaks LOT_SIZE (maxQty 1000)
        made = await ex.create_orders([
            {"symbol": UNIFIED, "type": "limit", "side": "buy", "amount": 0.01, "price": below},
            {"symbol": UNIFIED, "type": "limit", "side": "sell", "amount": 0.01, "price": above},
            {"symbol": UNIFIED, "type": "limit", "side": "buy", "amount": 2000, "price": below},
            {"symbol": UNIFIED, "type": "limit", "side": "buy", "amount": 0.02, "price": below,
             "params": {"timeInForce": "GTX"}},
            {"symbol": UNIFIED, "type": "limit", "side": "sell", "amount": 0.02, "price": above,
             "params": {"reduceOnly": False}},
        ])
        # ccxt sorts what it parsed by timestamp (the error slot has none), so not in slot order
        rejected = [o for o in made if o["status"] == "rejected"]
        made = sorted((o for o in made if o["status"] == "open"), key=lambda o: int(o["id"]))
        assert [o["info"] for o in rejected] == [{"code": -4005, "msg": "Quantity greater than max quantity."}]
        assert [(o["side"], o["amount"], o["price"]) for o in made] == [
            ("buy", 0.01, below), ("sell", 0.01, above), ("buy", 0.02, below), ("sell", 0.02, above)]
        assert made[2]["timeInForce"] == "PO" and all(o["clientOrderId"].startswith("x-") for o in made)
        ids = [o["id"] for o in made]
        opened = await ex.fetch_open_orders(UNIFIED)
        assert sorted(o["id"] for o in opened) == sorted(ids)

        # edit_order: same order id, new price and amount
        new_price = on_grid(close * Decimal("0.98"))
        edited = await ex.edit_order(ids[0], UNIFIED, "limit", "buy", 0.03, new_price)
        assert (edited["id"], edited["price"], edited["amount"], edited["status"]) == (ids[0], new_price, 0.03, "open")
        history = await ex.fapiPrivateGetOrderAmendment({"symbol": SYMBOL, "orderId": ids[0]})
        assert history[0]["amendment"]["origQty"] == {"before": "0.010", "after": "0.030"}

        # edit_orders: one PUT /fapi/v1/batchOrders
        higher = on_grid(close * Decimal("1.02"))
        both = await ex.edit_orders([
            {"id": ids[1], "symbol": UNIFIED, "type": "limit", "side": "sell", "amount": 0.01, "price": higher},
            {"id": ids[2], "symbol": UNIFIED, "type": "limit", "side": "buy", "amount": 0.01, "price": below}])
        assert [(o["id"], o["price"], o["amount"]) for o in both] == [(ids[1], higher, 0.01), (ids[2], below, 0.01)]

        cancelled = await ex.cancel_orders(ids, UNIFIED)
        assert sorted(o["id"] for o in cancelled) == sorted(ids) and {o["status"] for o in cancelled} == {"canceled"}
        assert await ex.fetch_open_orders(UNIFIED) == []
    finally:
        await ex.close()

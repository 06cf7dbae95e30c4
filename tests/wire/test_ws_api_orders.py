"""WebSocket API orders (/ws-fapi/v1): order.place / status / cancel / modify answer in Binance's
envelope with the same order objects as REST, and change the same engine state."""
from decimal import Decimal


from tests.conftest import T0

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}


async def last_close(c) -> str:
    r = await c.get("/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1})
    return (await r.json())[-1][4]


async def call(ws, method, params=None, req_id="1"):
    msg = {"id": req_id, "method": method}
    if params is not None:
        msg["params"] = params
    await ws.send_json(msg)
    return await ws.receive_json(timeout=10)


async def test_order_place_market_fills_and_matches_rest_shapes(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    async with c.ws_connect("/ws-fapi/v1") as ws:
        ack = await call(ws, "order.place", ORDER, req_id="a1")
        assert ack["id"] == "a1" and ack["status"] == 200
        assert ack["result"]["status"] == "NEW" and ack["result"]["executedQty"] == "0.000"
        res = await call(ws, "order.place", {**ORDER, "newOrderRespType": "RESULT"}, req_id=7)
        assert res["id"] == 7 and res["result"]["status"] == "FILLED" and res["result"]["avgPrice"] == close
        got = await call(ws, "order.status", {"symbol": "BTCUSDT", "orderId": ack["result"]["orderId"]})
    rest = await (await c.get("/fapi/v1/order", params={"symbol": "BTCUSDT",
                                                        "orderId": ack["result"]["orderId"]})).json()
    assert got["result"] == rest and rest["time"] == T0 + 60_000
    pos = await (await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})).json()
    assert pos[0]["positionAmt"] == "0.020"


async def test_rate_limits_count_weight_and_orders_unless_hidden(exsim_client):
    c = await exsim_client()
    async with c.ws_connect("/ws-fapi/v1") as ws:
        first = await call(ws, "order.place", ORDER)
        kinds = [(r["rateLimitType"], r["interval"], r["intervalNum"], r["limit"]) for r in first["rateLimits"]]
        assert kinds == [("REQUEST_WEIGHT", "MINUTE", 1, 2400), ("ORDERS", "SECOND", 10, 300),
                         ("ORDERS", "MINUTE", 1, 1200)]
        second = await call(ws, "order.place", ORDER)
        assert second["rateLimits"][1]["count"] == first["rateLimits"][1]["count"] + 1
        status = await call(ws, "order.status", {"symbol": "BTCUSDT", "orderId": second["result"]["orderId"]})
        assert [r["rateLimitType"] for r in status["rateLimits"]] == ["REQUEST_WEIGHT"]
        assert status["rateLimits"][0]["count"] == first["rateLimits"][0]["count"] + 1
        hidden = await call(ws, "order.status", {"symbol": "BTCUSDT", "orderId": 1, "returnRateLimits": False})
        assert "rateLimits" not in hidden and hidden["status"] == 200
    async with c.ws_connect("/ws-fapi/v1?returnRateLimits=false") as ws:
        quiet = await call(ws, "account.balance")
        loud = await call(ws, "account.balance", {"returnRateLimits": True})
        assert "rateLimits" not in quiet and "rateLimits" in loud


async def test_limit_order_cancel_by_client_id_then_unknown(exsim_client):
    c = await exsim_client()
    price = f"{float(await last_close(c)) * 0.99:.1f}"
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
             "price": price, "newClientOrderId": "ws-limit-1"}
    async with c.ws_connect("/ws-fapi/v1/") as ws:  # the trailing-slash form too
        placed = await call(ws, "order.place", limit)
        assert placed["result"]["status"] == "NEW" and placed["result"]["clientOrderId"] == "ws-limit-1"
        opened = await (await c.get("/fapi/v1/openOrders", params={"symbol": "BTCUSDT"})).json()
        assert [o["orderId"] for o in opened] == [placed["result"]["orderId"]]
        canceled = await call(ws, "order.cancel", {"symbol": "BTCUSDT", "origClientOrderId": "ws-limit-1"})
        assert canceled["status"] == 200 and canceled["result"]["status"] == "CANCELED"
        again = await call(ws, "order.cancel", {"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"]})
        assert again["status"] == 400 and again["error"] == {"code": -2011, "msg": "Unknown order sent."}
        missing = await call(ws, "order.status", {"symbol": "BTCUSDT", "orderId": 999999})
        assert missing["error"]["code"] == -2013


async def test_conditional_orders_go_through_algo_methods(exsim_client):
    c = await exsim_client()
    trigger = f"{float(await last_close(c)) * 0.9:.1f}"
    stop = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "quantity": "0.010",
            "triggerPrice": trigger, "algoType": "CONDITIONAL", "clientAlgoId": "ws-stop-1"}
    async with c.ws_connect("/ws-fapi/v1") as ws:
        placed = await call(ws, "algoOrder.place", stop)
        assert placed["status"] == 200 and placed["result"]["algoStatus"] == "NEW"
        assert placed["result"]["clientAlgoId"] == "ws-stop-1"
        assert Decimal(placed["result"]["triggerPrice"]) == Decimal(trigger)
        legacy = {k: v for k, v in stop.items() if k not in ("triggerPrice", "algoType", "clientAlgoId")}
        via_ws = await call(ws, "order.place", {**legacy, "stopPrice": trigger})  # as POST /fapi/v1/order
        via_rest = await c.post("/fapi/v1/order", data={**legacy, "stopPrice": trigger})
        assert via_ws["status"] == via_rest.status
        if via_rest.status != 200:
            assert via_ws["error"] == await via_rest.json()
        canceled = await call(ws, "algoOrder.cancel", {"symbol": "BTCUSDT", "clientAlgoId": "ws-stop-1"})
        assert canceled["result"]["code"] == "200" and canceled["result"]["algoId"] == placed["result"]["algoId"]


async def test_order_modify_amends_a_resting_limit(exsim_client):
    c = await exsim_client()
    close = float(await last_close(c))
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
             "price": f"{close * 0.99:.1f}"}
    async with c.ws_connect("/ws-fapi/v1") as ws:
        placed = (await call(ws, "order.place", limit))["result"]
        new_price = f"{close * 0.98:.1f}"
        amended = await call(ws, "order.modify", {"symbol": "BTCUSDT", "side": "BUY", "orderId": placed["orderId"],
                                                  "quantity": "0.020", "price": new_price})
        assert amended["status"] == 200, amended
        assert amended["result"]["orderId"] == placed["orderId"]
        assert Decimal(amended["result"]["price"]) == Decimal(new_price) and amended["result"]["origQty"] == "0.020"
        assert [r["rateLimitType"] for r in amended["rateLimits"]].count("ORDERS") == 2
        got = (await call(ws, "order.status", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}))["result"]
        assert Decimal(got["price"]) == Decimal(new_price) and got["origQty"] == "0.020" and got["status"] == "NEW"
        unknown = await call(ws, "order.modify", {"symbol": "BTCUSDT", "side": "BUY", "orderId": 999999,
                                                  "quantity": "0.020", "price": new_price})
        assert unknown["status"] == 400 and unknown["error"]["code"] in (-2011, -2013)

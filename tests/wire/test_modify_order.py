"""PUT /fapi/v1/order (modify a resting LIMIT order) over a real server: the amended order in
the reply and in REST, the AMENDMENT ORDER_TRADE_UPDATE on the user-data stream, the history
of GET /fapi/v1/orderAmendment, an amendment that makes the order marketable filling it as
taker at once, the two cases Binance cancels the order instead, and each refusal's code
(leaving the order as it was, with nothing on the stream)."""
from decimal import Decimal

from exsim.wire.keys import SIM
from tests.wire.test_user_stream_order_lifecycles import REQUIRED, kinds, ok, open_stream, until_fence

BTC = "BTCUSDT"
TICK = Decimal("0.10")  # BTCUSDT tickSize: prices print with 2 decimals


async def last_close(c) -> Decimal:
    r = await c.get("/fapi/v1/klines", params={"symbol": BTC, "interval": "1m", "limit": 1})
    return Decimal((await r.json())[-1][4])


def px(x: Decimal) -> str:
    """x on the tick grid, as the wire prints it."""
    return str((x / TICK).to_integral_value() * TICK)


async def sim_time(c) -> int:
    return (await ok(await c.get("/admin/status")))["sim_time"]


async def place_limit(c, price: str, side="BUY", qty="0.010", tif="GTC", **extra) -> dict:
    return await ok(await c.post("/fapi/v1/order", data={
        "symbol": BTC, "side": side, "type": "LIMIT", "timeInForce": tif, "quantity": qty, "price": price,
        **extra}))


async def modify(c, **params):
    return await c.put("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", **params})


async def error(resp) -> int:
    body = await resp.json()
    assert resp.status == 400 and set(body) == {"code", "msg"}, body
    return body["code"]


async def test_amendment_changes_price_and_quantity_in_place_and_is_reported(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    ws = await open_stream(c)
    order = await place_limit(c, px(close * Decimal("0.99")), newClientOrderId="mod-1")
    assert [k[1] for k in kinds(await until_fence(c, ws))] == ["NEW"]
    now = await sim_time(c)

    new_price = px(close * Decimal("0.98"))
    r = await modify(c, orderId=order["orderId"], quantity="0.020", price=new_price)
    body = await ok(r)
    assert body["orderId"] == order["orderId"] and body["clientOrderId"] == "mod-1"
    assert body["price"] == new_price and body["origQty"] == "0.020" and body["status"] == "NEW"
    assert body["type"] == body["origType"] == "LIMIT" and body["updateTime"] == now
    assert r.headers["X-MBX-ORDER-COUNT-1M"] == "2"  # counted like a placement

    events = await until_fence(c, ws)
    assert kinds(events) == [("OTU", "AMENDMENT", "NEW", order["orderId"], "LIMIT")]
    o = events[0]["o"]
    assert all(k in o for k in REQUIRED)
    # the order as amended; nothing filled (live Binance sends l/L "0", n "0", t 0 on AMENDMENT)
    assert (o["q"], o["p"], o["c"], o["S"], o["f"], o["l"], o["z"], o["L"], o["n"], o["t"], o["m"]) == (
        "0.020", new_price, "mod-1", "BUY", "GTC", "0", "0.000", "0", "0", 0, False)
    assert events[0]["T"] == events[0]["E"] == o["T"] == now
    assert Decimal(o["b"]) == Decimal(new_price) * Decimal("0.020")  # open bid notional after it

    opened = await ok(await c.get("/fapi/v1/openOrders", params={"symbol": BTC}))
    assert [(x["orderId"], x["price"], x["origQty"]) for x in opened] == [(order["orderId"], new_price, "0.020")]

    # again, by client id, the price only
    third = px(close * Decimal("0.97"))
    await ok(await modify(c, origClientOrderId="mod-1", quantity="0.020", price=third))
    await ws.close()

    history = await ok(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC, "orderId": order["orderId"]}))
    assert [h["amendment"]["count"] for h in history] == [2, 1]  # newest first
    newest, first = history
    assert first == {"amendmentId": first["amendmentId"], "symbol": BTC, "pair": BTC, "orderId": order["orderId"],
                     "clientOrderId": "mod-1", "time": now,
                     "amendment": {"price": {"before": order["price"], "after": new_price},
                                   "origQty": {"before": "0.010", "after": "0.020"}, "count": 1}}
    assert newest["amendment"]["price"] == {"before": new_price, "after": third}
    assert newest["amendment"]["origQty"] == {"before": "0.020", "after": "0.020"}
    assert newest["amendmentId"] > first["amendmentId"]
    by_client = await ok(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC, "origClientOrderId": "mod-1"}))
    assert by_client == history
    one = await ok(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC, "orderId": order["orderId"],
                                                                  "limit": 1}))
    assert one == [newest]
    later = await ok(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC, "orderId": order["orderId"],
                                                                    "startTime": now + 1}))
    assert later == []
    assert await error(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC})) == -1102
    assert await ok(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC, "orderId": 999})) == []


async def test_an_amendment_that_crosses_fills_at_once_as_taker(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    ws = await open_stream(c)
    order = await place_limit(c, px(close * Decimal("0.99")))
    await until_fence(c, ws)
    body = await ok(await modify(c, orderId=order["orderId"], quantity="0.010", price=px(close * Decimal("1.01"))))
    assert body["status"] == "FILLED" and body["executedQty"] == "0.010" and body["avgPrice"] == str(close)
    events = await until_fence(c, ws)
    assert kinds(events) == [("OTU", "AMENDMENT", "NEW", order["orderId"], "LIMIT"), ("LITE", order["orderId"]),
                             ("OTU", "TRADE", "FILLED", order["orderId"], "LIMIT"), ("AU", "ORDER")]
    fill = events[2]["o"]
    assert fill["L"] == str(close) and fill["m"] is False  # taker, at the last price (capped by its limit)
    trades = await ok(await c.get("/fapi/v1/userTrades", params={"symbol": BTC}))
    assert [(t["orderId"], t["maker"]) for t in trades] == [(order["orderId"], False)]
    await ws.close()


async def test_price_match_prices_from_the_last_price(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    order = await place_limit(c, px(close * Decimal("0.99")))
    queue = await ok(await modify(c, orderId=order["orderId"], quantity="0.010", priceMatch="QUEUE"))
    assert Decimal(queue["price"]) == close - TICK and queue["status"] == "NEW"  # own side's best: rests
    queue5 = await ok(await modify(c, orderId=order["orderId"], quantity="0.010", priceMatch="QUEUE_5"))
    assert Decimal(queue5["price"]) == close - 5 * TICK
    opponent = await ok(await modify(c, orderId=order["orderId"], quantity="0.010", priceMatch="OPPONENT"))
    assert Decimal(opponent["price"]) == close and opponent["status"] == "FILLED"  # the other side's best: takes


async def test_refused_amendments_leave_the_order_as_it_was(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    price = px(close * Decimal("0.99"))
    order = await place_limit(c, price, newClientOrderId="keep")
    oid = order["orderId"]
    stop = await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "STOP_MARKET",
                                                         "quantity": "0.010", "stopPrice": px(close * Decimal("1.02"))}))
    gone = await place_limit(c, px(close * Decimal("0.98")))
    await ok(await c.delete("/fapi/v1/order", params={"symbol": BTC, "orderId": gone["orderId"]}))
    ws = await open_stream(c)
    good = {"orderId": oid, "quantity": "0.020", "price": px(close * Decimal("0.985"))}
    cases = [
        ({**good, "orderId": 999999}, -2013),  # unknown
        ({**good, "orderId": gone["orderId"]}, -2013),  # closed
        ({**good, "orderId": stop["orderId"]}, -5025),  # not a LIMIT
        ({**good, "side": "SELL"}, -1130),  # not its side
        ({**good, "side": "HOLD"}, -1117),
        ({"orderId": oid, "price": good["price"]}, -1102),  # quantity is mandatory on USD-M
        ({"orderId": oid, "quantity": "0.020"}, -1102),  # and price (or priceMatch)
        ({**good, "priceMatch": "QUEUE"}, -1106),  # not both
        ({"orderId": oid, "quantity": "0.020", "priceMatch": "BEST"}, -5037),
        ({"quantity": "0.020", "price": good["price"]}, -1102),  # no id
        ({**good, "quantity": order["origQty"], "price": price}, -5027),  # nothing changes
        ({**good, "quantity": "0"}, -4003),
        ({**good, "quantity": "2000"}, -4005),
        ({**good, "price": px(close * Decimal("0.90"))}, -4024),  # PERCENT_PRICE floor
        ({**good, "price": px(close * Decimal("1.10"))}, -4016),  # cap
        ({**good, "quantity": "0.001"}, -5029),  # notional below MIN_NOTIONAL
        ({**good, "quantity": "100"}, -2019),  # the larger order needs more margin than there is
        ({**good, "symbol": "NOPEUSDT"}, -1121),
    ]
    for params, code in cases:
        got = await error(await modify(c, **params))
        assert got == code, (params, got)
    assert await until_fence(c, ws) == []  # nothing happened
    await ws.close()
    now = await ok(await c.get("/fapi/v1/order", params={"symbol": BTC, "orderId": oid}))
    assert (now["price"], now["origQty"], now["status"]) == (price, "0.010", "NEW")
    assert await ok(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC, "orderId": oid})) == []


async def test_gtx_amended_to_take_is_cancelled_by_the_amendment(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    order = await place_limit(c, px(close * Decimal("0.99")), tif="GTX")
    ws = await open_stream(c)
    body = await ok(await modify(c, orderId=order["orderId"], quantity="0.010", price=px(close * Decimal("1.001"))))
    assert body["status"] == "CANCELED" and body["executedQty"] == "0.000"
    assert kinds(await until_fence(c, ws)) == [("OTU", "CANCELED", "CANCELED", order["orderId"], "LIMIT")]
    assert await ok(await c.get("/fapi/v1/openOrders")) == []
    await ws.close()


async def test_quantity_at_or_below_the_executed_cancels_a_partially_filled_order(exsim_client):
    """Liquidity is unlimited, so the engine never leaves a LIMIT order partially filled on its
    own: the partial fill is set on the order directly here, then amended over the wire."""
    c = await exsim_client()
    close = await last_close(c)
    a = await place_limit(c, px(close * Decimal("0.99")), qty="0.020")
    b = await place_limit(c, px(close * Decimal("0.98")), qty="0.020")
    sim = c.server.app[SIM]
    for oid in (a["orderId"], b["orderId"]):
        order = sim.accounts["default"].orders[oid]
        order.executed, order.status = 5, "PARTIALLY_FILLED"
    larger = await ok(await modify(c, orderId=a["orderId"], quantity="0.006", price=a["price"]))
    assert (larger["status"], larger["origQty"], larger["executedQty"]) == ("PARTIALLY_FILLED", "0.006", "0.005")
    cancelled = await ok(await modify(c, orderId=b["orderId"], quantity="0.005", price=b["price"]))
    assert cancelled["status"] == "CANCELED"
    assert [o["orderId"] for o in await ok(await c.get("/fapi/v1/openOrders"))] == [a["orderId"]]


async def test_a_new_run_starts_with_no_amendment_history(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    order = await place_limit(c, px(close * Decimal("0.99")))
    await ok(await modify(c, orderId=order["orderId"], quantity="0.020", price=order["price"]))
    await ok(await c.post("/admin/replay", json={"restart": True}))
    again = await place_limit(c, px(await last_close(c) * Decimal("0.99")))
    assert again["orderId"] == order["orderId"]  # ids start over with the run
    assert await ok(await c.get("/fapi/v1/orderAmendment", params={"symbol": BTC, "orderId": again["orderId"]})) == []

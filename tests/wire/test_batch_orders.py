"""POST / PUT / DELETE /fapi/v1/batchOrders over a real server: the JSON list in one parameter
as each client encodes it (url-encoded JSON, ccxt's raw JSON in a form body, python-binance's
str() of a list with bare True), one reply per item in order (the order object or its
{"code","msg"}), the items applied one by one (one failing, the others stand), and the limits."""
import json
from decimal import Decimal
from urllib.parse import quote

from tests.wire.test_user_stream_order_lifecycles import kinds, ok, open_stream, until_fence

BTC = "BTCUSDT"
TICK = Decimal("0.10")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def last_close(c) -> Decimal:
    r = await c.get("/fapi/v1/klines", params={"symbol": BTC, "interval": "1m", "limit": 1})
    return Decimal((await r.json())[-1][4])


def px(x: Decimal) -> str:
    return str((x / TICK).to_integral_value() * TICK)


def limit(price: str, side="BUY", qty="0.010", **extra) -> dict:
    return {"symbol": BTC, "side": side, "type": "LIMIT", "timeInForce": "GTC", "quantity": qty, "price": price,
            **extra}


async def open_ids(c) -> list[int]:
    return [o["orderId"] for o in await ok(await c.get("/fapi/v1/openOrders", params={"symbol": BTC}))]


async def test_place_answers_each_order_in_order_and_keeps_the_good_ones(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    ws = await open_stream(c)
    batch = [limit(px(close * Decimal("0.99")), newClientOrderId="b-1"),
             limit(px(close * Decimal("0.99")), qty="2000"),  # LOT_SIZE max
             {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.010", "newOrderRespType": "RESULT"},
             limit(px(close * Decimal("1.01")), side="SELL", newClientOrderId="b-1"),  # ids are per symbol: dup
             {"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010"}]  # no price
    r = await c.post("/fapi/v1/batchOrders", data={"batchOrders": json.dumps(batch)})
    got = await ok(r)
    assert len(got) == 5 and "X-MBX-ORDER-COUNT-1M" in r.headers
    assert got[0]["status"] == "NEW" and got[0]["clientOrderId"] == "b-1" and got[0]["price"] == batch[0]["price"]
    assert got[1] == {"code": -4005, "msg": "Quantity greater than max quantity."}
    assert got[2]["status"] == "FILLED" and got[2]["avgPrice"] == str(close)  # RESULT, per item
    assert got[3] == {"code": -4116, "msg": "ClientOrderId is duplicated."}
    assert got[4] == {"code": -1102, "msg": "Mandatory parameter 'price' was not sent, was empty/null, or malformed."}
    assert await open_ids(c) == [got[0]["orderId"]]
    events = kinds(await until_fence(c, ws))
    assert events[0] == ("OTU", "NEW", "NEW", got[0]["orderId"], "LIMIT")
    assert ("OTU", "TRADE", "FILLED", got[2]["orderId"], "MARKET") in events
    await ws.close()


async def test_each_client_encoding_of_the_list_is_read(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    one = limit(px(close * Decimal("0.99")))
    # ccxt: the JSON raw in the form body (rawencode), compact
    r = await c.post("/fapi/v1/batchOrders", data="batchOrders=" + json.dumps([one], separators=(",", ":")) +
                     "&timestamp=1", headers=FORM)
    assert (await ok(r))[0]["status"] == "NEW"
    # the connector / SDK: url-encoded in the query string, empty body
    r = await c.post("/fapi/v1/batchOrders?batchOrders=" + quote(json.dumps([one])))
    assert (await ok(r))[0]["status"] == "NEW"
    # python-binance: str() of the list with ' as ", numbers and bools bare (not JSON)
    py = str([{**one, "quantity": 0.01, "reduceOnly": False}]).replace("'", '"')
    r = await c.post("/fapi/v1/batchOrders?batchOrders=" + quote(py))
    assert (await ok(r))[0]["status"] == "NEW" and (await ok(r))[0]["origQty"] == "0.010"
    assert len(await open_ids(c)) == 3


async def test_batch_limits_and_malformed_lists(exsim_client):
    c = await exsim_client(conditional_on_order_endpoint=False)
    close = await last_close(c)
    one = limit(px(close * Decimal("0.99")))
    for method in ("post", "put"):
        call = getattr(c, method)
        r = await call("/fapi/v1/batchOrders", data={"batchOrders": json.dumps([one] * 6)})
        assert (await r.json())["code"] == -1130 and r.status == 400  # at most 5
        for bad in ("[]", "{}", "[1]", "not json", "[{"):
            r = await call("/fapi/v1/batchOrders", data={"batchOrders": bad})
            assert (await r.json()) == {"code": -1130, "msg": "Data sent for parameter 'batchOrders' is not valid."}
        r = await call("/fapi/v1/batchOrders", data={})
        assert (await r.json())["code"] == -1102
    stop = {"symbol": BTC, "side": "SELL", "type": "STOP_MARKET", "quantity": "0.010",
            "stopPrice": px(close * Decimal("0.98"))}
    got = await ok(await c.post("/fapi/v1/batchOrders", data={"batchOrders": json.dumps([stop, one])}))
    assert got[0]["code"] == -4120 and got[1]["status"] == "NEW"  # conditional types: the algo API
    assert await open_ids(c) == [got[1]["orderId"]]


async def test_modify_batch(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    placed = await ok(await c.post("/fapi/v1/batchOrders", data={"batchOrders": json.dumps(
        [limit(px(close * Decimal("0.99"))), limit(px(close * Decimal("1.01")), side="SELL", newClientOrderId="s")])}))
    a, b = placed
    ws = await open_stream(c)
    new_a, new_b = px(close * Decimal("0.98")), px(close * Decimal("1.02"))
    edits = [{"symbol": BTC, "orderId": a["orderId"], "side": "BUY", "quantity": "0.020", "price": new_a},
             {"symbol": BTC, "origClientOrderId": "s", "side": "SELL", "quantity": "0.010", "price": new_b},
             {"symbol": BTC, "orderId": 424242, "side": "BUY", "quantity": "0.020", "price": new_a},
             {"symbol": BTC, "orderId": a["orderId"], "side": "BUY", "quantity": "0.020", "price": new_a}]
    r = await c.put("/fapi/v1/batchOrders", data={"batchOrders": json.dumps(edits)})
    got = await ok(r)
    assert (got[0]["orderId"], got[0]["price"], got[0]["origQty"]) == (a["orderId"], new_a, "0.020")
    assert (got[1]["orderId"], got[1]["price"]) == (b["orderId"], new_b)
    assert got[2] == {"code": -2013, "msg": "Order does not exist."}
    assert got[3] == {"code": -5027, "msg": "No need to modify the order."}  # the first edit already did it
    assert kinds(await until_fence(c, ws)) == [("OTU", "AMENDMENT", "NEW", a["orderId"], "LIMIT"),
                                                ("OTU", "AMENDMENT", "NEW", b["orderId"], "LIMIT")]
    await ws.close()


async def test_cancel_batch_by_ids_or_client_ids(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    batch = [limit(px(close * Decimal("0.99")), newClientOrderId=f"c-{i}") for i in range(5)]
    ids = [o["orderId"] for o in await ok(await c.post("/fapi/v1/batchOrders", data={"batchOrders": json.dumps(batch)}))]
    got = await ok(await c.delete("/fapi/v1/batchOrders", params={
        "symbol": BTC, "orderIdList": json.dumps([ids[0], ids[1], 999999])}))
    assert [o.get("status") for o in got[:2]] == ["CANCELED", "CANCELED"] and [o["orderId"] for o in got[:2]] == ids[:2]
    assert got[2] == {"code": -2011, "msg": "Unknown order sent."}
    got = await ok(await c.delete("/fapi/v1/batchOrders", params={
        "symbol": BTC, "origClientOrderIdList": json.dumps(["c-2", "nope"])}))
    assert got[0]["orderId"] == ids[2] and got[0]["status"] == "CANCELED" and got[1]["code"] == -2011
    # ccxt and python-binance: lower-case names, the list url-encoded once in the query string
    got = await ok(await c.delete(f"/fapi/v1/batchOrders?symbol={BTC}&orderidlist=%5B{ids[3]}%5D"))
    assert got[0]["orderId"] == ids[3] and got[0]["status"] == "CANCELED"
    got = await ok(await c.delete(f"/fapi/v1/batchOrders?symbol={BTC}&origclientorderidlist=%5B%22c-4%22%5D"))
    assert got[0]["orderId"] == ids[4] and got[0]["status"] == "CANCELED"
    assert await open_ids(c) == []
    r = await c.delete("/fapi/v1/batchOrders", params={"symbol": BTC, "orderIdList": json.dumps(list(range(1, 12)))})
    assert (await r.json())["code"] == -1130  # at most 10
    r = await c.delete("/fapi/v1/batchOrders", params={"symbol": BTC})
    assert (await r.json())["code"] == -1102
    r = await c.delete("/fapi/v1/batchOrders", params={"symbol": BTC, "orderIdList": '["x"]'})
    assert (await r.json())["code"] == -1130

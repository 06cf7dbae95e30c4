"""Orders and account over HTTP: params in query, form or JSON body; Binance shapes and codes."""
from tests.conftest import T0

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}


async def last_close(c) -> str:
    r = await c.get("/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1})
    return (await r.json())[-1][4]


async def test_params_in_form_body_query_or_json_body(exsim_client):
    c = await exsim_client()
    r1 = await c.post("/fapi/v1/order", data=ORDER)
    r2 = await c.post("/fapi/v1/order", params=ORDER)
    r3 = await c.post("/fapi/v1/order", json={**ORDER, "quantity": 0.01})
    ids = [(await r.json())["orderId"] for r in (r1, r2, r3)]
    assert [r.status for r in (r1, r2, r3)] == [200, 200, 200] and len(set(ids)) == 3
    r = await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})
    assert (await r.json())[0]["positionAmt"] == "0.030"


async def test_ack_shows_the_order_as_accepted_and_result_as_executed(exsim_client):
    c = await exsim_client()
    close = await last_close(c)
    ack = await (await c.post("/fapi/v1/order", data=ORDER)).json()
    assert ack["status"] == "NEW" and ack["executedQty"] == "0.000" and ack["origQty"] == "0.010"
    res = await (await c.post("/fapi/v1/order", data={**ORDER, "newOrderRespType": "RESULT"})).json()
    assert res["status"] == "FILLED" and res["avgPrice"] == close and res["executedQty"] == "0.010"
    assert abs(float(res["cumQuote"]) - float(close) * 0.01) < 1e-9
    got = await (await c.get("/fapi/v1/order", params={"symbol": "BTCUSDT", "orderId": ack["orderId"]})).json()
    assert got["status"] == "FILLED" and got["time"] == T0 + 60_000 and got["avgPrice"] == close
    for key in ("orderId", "symbol", "status", "clientOrderId", "price", "avgPrice", "origQty", "executedQty",
                "cumQuote", "timeInForce", "type", "reduceOnly", "closePosition", "side", "positionSide",
                "stopPrice", "workingType", "priceProtect", "origType", "updateTime", "time"):
        assert key in got, key


async def test_limit_lifecycle_open_query_cancel(exsim_client):
    c = await exsim_client()
    body = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
            "price": "30000", "newClientOrderId": "my-limit-1"}
    r = await c.post("/fapi/v1/order", data=body)
    assert r.status == 400 and (await r.json())["code"] == -4024  # PERCENT_PRICE floor
    close = float(await last_close(c))
    body["price"] = f"{close * 0.99:.1f}"
    order = await (await c.post("/fapi/v1/order", data=body)).json()
    assert order["status"] == "NEW" and order["clientOrderId"] == "my-limit-1"
    opened = await (await c.get("/fapi/v1/openOrders", params={"symbol": "BTCUSDT"})).json()
    assert [o["orderId"] for o in opened] == [order["orderId"]]
    one = await (await c.get("/fapi/v1/openOrder", params={"symbol": "BTCUSDT", "origClientOrderId": "my-limit-1"})).json()
    assert one["orderId"] == order["orderId"]
    dup = await c.post("/fapi/v1/order", data=body)
    assert (await dup.json())["code"] == -4116
    cancel = await (await c.delete("/fapi/v1/order", params={"symbol": "BTCUSDT", "origClientOrderId": "my-limit-1"})).json()
    assert cancel["status"] == "CANCELED"
    again = await c.delete("/fapi/v1/order", params={"symbol": "BTCUSDT", "orderId": order["orderId"]})
    assert again.status == 400 and (await again.json())["code"] == -2011
    missing = await c.get("/fapi/v1/order", params={"symbol": "BTCUSDT", "orderId": 999999})
    assert (await missing.json())["code"] == -2013
    all_orders = await (await c.get("/fapi/v1/allOrders", params={"symbol": "BTCUSDT"})).json()
    assert [o["status"] for o in all_orders] == ["CANCELED"]


async def test_cancel_all_open_orders(exsim_client):
    c = await exsim_client()
    close = float(await last_close(c))
    for i in range(3):
        await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
                                             "quantity": "0.01", "price": f"{close * 1.01 + i:.1f}"})
    r = await c.delete("/fapi/v1/allOpenOrders", params={"symbol": "BTCUSDT"})
    assert await r.json() == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert await (await c.get("/fapi/v1/openOrders")).json() == []


async def test_fill_updates_balance_positions_trades_and_income(exsim_client):
    c = await exsim_client()
    close = float(await last_close(c))
    await c.post("/fapi/v1/order", data=ORDER)
    fee = close * 0.01 * 0.0002
    bal = (await (await c.get("/fapi/v2/balance")).json())[0]
    assert bal["asset"] == "USDT" and abs(float(bal["balance"]) - (100000 - fee)) < 1e-8
    acct = await (await c.get("/fapi/v2/account")).json()
    assert abs(float(acct["totalWalletBalance"]) - (100000 - fee)) < 1e-8
    assert acct["positions"][0]["positionAmt"] == "0.010" and acct["assets"][0]["marginAvailable"] is True
    v3 = await (await c.get("/fapi/v3/account")).json()
    assert v3["assets"][0]["updateTime"] > 0 and v3["positions"][0]["symbol"] == "BTCUSDT"
    trades = await (await c.get("/fapi/v1/userTrades", params={"symbol": "BTCUSDT"})).json()
    assert len(trades) == 1 and trades[0]["buyer"] and not trades[0]["maker"]
    assert abs(float(trades[0]["commission"]) - fee) < 1e-8
    income = await (await c.get("/fapi/v1/income", params={"incomeType": "COMMISSION"})).json()
    assert len(income) == 1 and abs(float(income[0]["income"]) + fee) < 1e-8
    pr3 = await (await c.get("/fapi/v3/positionRisk")).json()
    assert pr3[0]["positionAmt"] == "0.010" and "leverage" not in pr3[0]
    rate = await (await c.get("/fapi/v1/commissionRate", params={"symbol": "BTCUSDT"})).json()
    assert rate["makerCommissionRate"] == "0.000100" and rate["takerCommissionRate"] == "0.000200"


async def test_account_settings(exsim_client):
    c = await exsim_client()
    lev = await (await c.post("/fapi/v1/leverage", data={"symbol": "BTCUSDT", "leverage": "5"})).json()
    assert lev["leverage"] == 5 and lev["symbol"] == "BTCUSDT"
    bad = await c.post("/fapi/v1/leverage", data={"symbol": "BTCUSDT", "leverage": "500"})
    assert (await bad.json())["code"] == -4028
    same = await c.post("/fapi/v1/marginType", data={"symbol": "BTCUSDT", "marginType": "CROSSED"})
    assert (await same.json()) == {"code": -4046, "msg": "No need to change margin type."}
    iso = await (await c.post("/fapi/v1/marginType", data={"symbol": "BTCUSDT", "marginType": "ISOLATED"})).json()
    assert iso == {"code": 200, "msg": "success"}
    dual = await (await c.get("/fapi/v1/positionSide/dual")).json()
    assert dual == {"dualSidePosition": False}
    r = await c.post("/fapi/v1/positionSide/dual", data={"dualSidePosition": "false"})
    assert (await r.json())["code"] == -4059
    pr = await (await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})).json()
    assert pr[0]["leverage"] == "5" and pr[0]["marginType"] == "isolated"


async def test_insufficient_margin_and_order_test_endpoint(exsim_client):
    c = await exsim_client()
    r = await c.post("/fapi/v1/order", data={**ORDER, "quantity": "100"})
    assert r.status == 400 and (await r.json())["code"] == -2019
    r = await c.post("/fapi/v1/order/test", data=ORDER)
    assert await r.json() == {}
    assert await (await c.get("/fapi/v1/allOrders", params={"symbol": "BTCUSDT"})).json() == []


async def test_algo_orders_live_on_the_algo_routes_until_triggered(exsim_client):
    c = await exsim_client()
    close = float(await last_close(c))
    await c.post("/fapi/v1/order", data=ORDER)
    algo = await (await c.post("/fapi/v1/algoOrder", data={
        "algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
        "triggerPrice": f"{close * 0.9:.1f}", "closePosition": "true"})).json()
    assert algo["algoStatus"] == "NEW" and algo["clientAlgoId"] and algo["orderType"] == "STOP_MARKET"
    assert await (await c.get("/fapi/v1/openOrders", params={"symbol": "BTCUSDT"})).json() == []
    listed = await (await c.get("/fapi/v1/openAlgoOrders", params={"symbol": "BTCUSDT"})).json()
    assert [a["algoId"] for a in listed] == [algo["algoId"]]
    await c.delete("/fapi/v1/allOpenOrders", params={"symbol": "BTCUSDT"})
    assert len(await (await c.get("/fapi/v1/openAlgoOrders")).json()) == 1
    await c.delete("/fapi/v1/algoOpenOrders", params={"symbol": "BTCUSDT"})
    got = await (await c.get("/fapi/v1/algoOrder", params={"algoId": algo["algoId"]})).json()
    assert got["algoStatus"] == "CANCELED"
    assert await (await c.get("/fapi/v1/openAlgoOrders")).json() == []

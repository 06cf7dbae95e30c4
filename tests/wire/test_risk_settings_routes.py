"""The risk routes as Binance answers them: leverageBracket from config (JSON numbers), leverage's
maxNotionalValue, symbolConfig's isAutoAddMargin a JSON boolean (v2 positionRisk's a string),
isolated margin add/remove and its history, multi-assets mode, hedge mode's two positionRisk
rows, adlQuantile."""
from decimal import Decimal


async def ok(resp, status=200):
    body = await resp.json()
    assert resp.status == status, body
    return body


async def code(resp) -> int:
    body = await resp.json()
    assert resp.status == 400, body
    return body["code"]


BRACKETS = {"BTCUSDT": {"tick_size": "0.10", "step_size": "0.001", "min_notional": "5", "brackets": [
    {"initial_leverage": 50, "notional_cap": "10000", "maint_margin_ratio": "0.01"},
    {"initial_leverage": 10, "notional_cap": "1000000", "maint_margin_ratio": "0.05"}]}}


async def test_brackets_come_from_config_and_cap_leverage(exsim_client):
    c = await exsim_client(symbol="BTCUSDT", symbol_specs=BRACKETS)
    got = await ok(await c.get("/fapi/v1/leverageBracket", params={"symbol": "BTCUSDT"}))
    assert got == [{"symbol": "BTCUSDT", "notionalCoef": 1.0, "brackets": [
        {"bracket": 1, "initialLeverage": 50, "notionalCap": 10000, "notionalFloor": 0,
         "maintMarginRatio": 0.01, "cum": 0.0},
        {"bracket": 2, "initialLeverage": 10, "notionalCap": 1000000, "notionalFloor": 10000,
         "maintMarginRatio": 0.05, "cum": 400.0}]}]  # 10000 * (0.05 - 0.01)
    assert await code(await c.post("/fapi/v1/leverage", data={"symbol": "BTCUSDT", "leverage": "51"})) == -4028
    lev = await ok(await c.post("/fapi/v1/leverage", data={"symbol": "BTCUSDT", "leverage": "50"}))
    assert lev == {"leverage": 50, "maxNotionalValue": "10000", "symbol": "BTCUSDT"}
    price = Decimal((await ok(await c.get("/fapi/v1/ticker/price", params={"symbol": "BTCUSDT"})))["price"])
    qty = (Decimal(12000) / price).quantize(Decimal("0.001"))
    r = await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                             "quantity": str(qty)})
    assert await code(r) == -2027
    conf = await ok(await c.get("/fapi/v1/symbolConfig", params={"symbol": "BTCUSDT"}))
    assert conf == [{"symbol": "BTCUSDT", "marginType": "CROSSED", "isAutoAddMargin": False, "leverage": 50,
                     "maxNotionalValue": "10000"}]
    risk = (await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})))[0]
    assert risk["isAutoAddMargin"] == "false" and risk["maxNotionalValue"] == "10000"


async def test_isolated_margin_add_remove_history_and_fields(exsim_client):
    c = await exsim_client(symbol="BTCUSDT")
    await ok(await c.post("/fapi/v1/marginType", data={"symbol": "BTCUSDT", "marginType": "ISOLATED"}))
    await ok(await c.post("/fapi/v1/leverage", data={"symbol": "BTCUSDT", "leverage": "10"}))
    r = await c.post("/fapi/v1/positionMargin", data={"symbol": "BTCUSDT", "amount": "10", "type": "1"})
    assert await code(r) == -4054  # no position
    await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                  "quantity": "0.100"}))
    risk = (await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})))[0]
    assert risk["marginType"] == "isolated"
    wallet = Decimal(risk["isolatedWallet"])
    notional = Decimal(risk["notional"])
    assert wallet == notional / 10 - notional * Decimal("0.0002")  # initial margin less the taker fee
    assert Decimal(risk["isolatedMargin"]) == wallet + Decimal(risk["unRealizedProfit"])
    added = await ok(await c.post("/fapi/v1/positionMargin", data={"symbol": "BTCUSDT", "amount": "100",
                                                                   "type": "1"}))
    assert added == {"amount": 100.0, "code": 200, "msg": "Successfully modify position margin.", "type": 1}
    await ok(await c.post("/fapi/v1/positionMargin", data={"symbol": "BTCUSDT", "amount": "40", "type": "2"}))
    r = await c.post("/fapi/v1/positionMargin", data={"symbol": "BTCUSDT", "amount": "1000", "type": "2"})
    assert await code(r) == -4051
    after = (await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})))[0]
    assert Decimal(after["isolatedWallet"]) == wallet + 60
    hist = await ok(await c.get("/fapi/v1/positionMargin/history", params={"symbol": "BTCUSDT"}))
    assert [(h["type"], h["amount"], h["positionSide"], h["asset"]) for h in hist] == [
        (1, "100.00000000", "BOTH", "USDT"), (2, "40.00000000", "BOTH", "USDT")]
    account = await ok(await c.get("/fapi/v2/account"))
    assert Decimal(account["totalCrossWalletBalance"]) == Decimal(account["totalWalletBalance"]) - wallet - 60
    v3 = (await ok(await c.get("/fapi/v3/positionRisk")))[0]
    assert v3["isolatedWallet"] == after["isolatedWallet"] and v3["adl"] in (1, 2, 3, 4)


async def test_multi_assets_mode_is_answered_and_refused_when_unchanged(exsim_client):
    c = await exsim_client(symbol="BTCUSDT")
    assert await ok(await c.get("/fapi/v1/multiAssetsMargin")) == {"multiAssetsMargin": False}
    assert await ok(await c.post("/fapi/v1/multiAssetsMargin", data={"multiAssetsMargin": "true"})) == {
        "code": 200, "msg": "success"}
    assert await ok(await c.get("/fapi/v1/multiAssetsMargin")) == {"multiAssetsMargin": True}
    assert await code(await c.post("/fapi/v1/multiAssetsMargin", data={"multiAssetsMargin": "true"})) == -4171
    assert (await ok(await c.get("/fapi/v1/accountConfig")))["multiAssetsMargin"] is True


async def test_hedge_mode_lists_both_sides_and_orders_carry_them(exsim_client):
    c = await exsim_client(symbol="BTCUSDT")
    await ok(await c.post("/fapi/v1/positionSide/dual", data={"dualSidePosition": "true"}))
    assert await ok(await c.get("/fapi/v1/positionSide/dual")) == {"dualSidePosition": True}
    r = await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                             "quantity": "0.010"})
    assert await code(r) == -4061
    long = await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                         "quantity": "0.010", "positionSide": "LONG"}))
    assert long["positionSide"] == "LONG"
    await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                  "quantity": "0.020", "positionSide": "SHORT"}))
    rows = await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"}))
    assert [(r["positionSide"], r["positionAmt"]) for r in rows] == [("LONG", "0.010"), ("SHORT", "-0.020")]
    trades = await ok(await c.get("/fapi/v1/userTrades", params={"symbol": "BTCUSDT"}))
    assert [t["positionSide"] for t in trades] == ["LONG", "SHORT"]
    adl = await ok(await c.get("/fapi/v1/adlQuantile", params={"symbol": "BTCUSDT"}))
    assert adl[0]["symbol"] == "BTCUSDT" and set(adl[0]["adlQuantile"]) == {"LONG", "SHORT", "HEDGE", "BOTH"}
    r = await c.post("/fapi/v1/positionSide/dual", data={"dualSidePosition": "false"})
    assert await code(r) == -4068

"""Order parameters as the spec and Binance name them: `origQty` is `quantity` (the spec's
quantity|origQty); a quantity finer than the step is Binance's precision error -1111, zero is
-4003; a missing trigger price names the route's own parameter (triggerPrice on algoOrder,
stopPrice on order)."""
from __future__ import annotations


async def _post(c, path, **params):
    r = await c.post(path, data=params)
    return r.status, await r.json()


async def test_orig_qty_is_accepted_as_quantity(exsim_client):
    c = await exsim_client()
    status, body = await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", origQty="0.010",
                               newOrderRespType="RESULT")
    assert status == 200, body
    assert body["origQty"] == "0.010" and body["executedQty"] == "0.010" and body["status"] == "FILLED"


async def test_quantity_below_the_step_is_a_precision_error(exsim_client):
    c = await exsim_client()
    for qty in ("0.0000001", "0.0005"):
        status, body = await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity=qty)
        assert (status, body["code"]) == (400, -1111), (qty, body)
    status, body = await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0")
    assert (status, body["code"]) == (400, -4003)


async def test_missing_trigger_price_names_the_routes_parameter(exsim_client):
    c = await exsim_client()
    status, body = await _post(c, "/fapi/v1/algoOrder", algoType="CONDITIONAL", symbol="BTCUSDT", side="SELL",
                               type="STOP_MARKET", quantity="0.010")
    assert (status, body["code"]) == (400, -1102)
    assert "'triggerPrice'" in body["msg"] and "stopPrice" not in body["msg"]
    status, body = await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="SELL", type="STOP_MARKET",
                               quantity="0.010")
    assert (status, body["code"]) == (400, -1102) and "'stopPrice'" in body["msg"]

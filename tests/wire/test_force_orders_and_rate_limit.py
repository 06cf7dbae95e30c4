"""GET /fapi/v1/forceOrders lists the account's liquidation ("autoclose-…") and ADL
("adl_autoclose") orders in Binance's forceOrders shape, filtered by symbol, autoCloseType and
time; GET /fapi/v1/rateLimit/order reports the ORDERS limits with the caller's counts, as the
X-MBX-ORDER-COUNT-* headers count them."""
from exsim.engine.orders import FILLED, Order
from exsim.wire.keys import SIM
from tests.conftest import T0
from tests.wire.test_user_stream_order_lifecycles import ok

BTC = "BTCUSDT"
FORCE_KEYS = {"orderId", "symbol", "status", "clientOrderId", "price", "avgPrice", "origQty", "executedQty",
              "cumQuote", "timeInForce", "type", "reduceOnly", "closePosition", "side", "positionSide",
              "stopPrice", "workingType", "origType", "time", "updateTime"}


def system_order(order_id: int, client_id: str, when: int, symbol=BTC) -> Order:
    """A filled IOC order as the liquidation engine leaves it (4200.00 USDT x 0.010 BTC)."""
    return Order(order_id=order_id, client_order_id=client_id, account="default", symbol=symbol, side="SELL",
                 type="LIMIT", orig_type="LIQUIDATION", time_in_force="IOC", qty=10, price=420000,
                 status=FILLED, executed=10, cum_quote_units=420000 * 10, time=when, update_time=when)


async def test_force_orders(exsim_client):
    c = await exsim_client()
    assert await ok(await c.get("/fapi/v1/forceOrders")) == []
    # a market order of the user's own is not a force order
    await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.010"}))
    assert await ok(await c.get("/fapi/v1/forceOrders", params={"symbol": BTC})) == []

    # The liquidation engine's orders, put in the account's history directly (this test is about
    # listing them, not about when an account is liquidated)
    acct = c.server.app[SIM].accounts["default"]
    liq = system_order(100, "autoclose-1704067260000000001", T0 + 60_000)
    adl = system_order(101, "adl_autoclose", T0 + 120_000)
    acct.orders[liq.order_id], acct.orders[adl.order_id] = liq, adl

    both = await ok(await c.get("/fapi/v1/forceOrders"))
    assert [o["orderId"] for o in both] == [100, 101]  # ascending, like allOrders
    first = both[0]
    assert set(first) == FORCE_KEYS
    assert first == {**first, "symbol": BTC, "status": "FILLED", "clientOrderId": liq.client_order_id,
                     "price": "42000.00", "avgPrice": "42000.00", "origQty": "0.010", "executedQty": "0.010",
                     "cumQuote": "420.00000", "timeInForce": "IOC", "type": "LIMIT", "origType": "LIMIT",
                     "side": "SELL", "positionSide": "BOTH", "time": T0 + 60_000, "updateTime": T0 + 60_000}
    only = lambda **q: c.get("/fapi/v1/forceOrders", params=q)
    assert [o["orderId"] for o in await ok(await only(autoCloseType="LIQUIDATION"))] == [100]
    assert [o["orderId"] for o in await ok(await only(autoCloseType="ADL"))] == [101]
    assert await ok(await only(symbol="ETHUSDT")) == []
    assert [o["orderId"] for o in await ok(await only(startTime=T0 + 90_000))] == [101]
    assert [o["orderId"] for o in await ok(await only(endTime=T0 + 90_000))] == [100]
    assert [o["orderId"] for o in await ok(await only(limit=1))] == [101]
    r = await only(autoCloseType="BOTH")
    assert r.status == 400 and (await r.json())["code"] == -1130
    r = await only(limit=101)
    assert (await r.json())["code"] == -1130
    r = await only(symbol="NOPEUSDT")
    assert (await r.json())["code"] == -1121


async def test_order_rate_limit_counts_the_callers_orders(exsim_client):
    c = await exsim_client()
    expected = lambda n: [
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300, "count": n},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200, "count": n}]
    assert await ok(await c.get("/fapi/v1/rateLimit/order")) == expected(0)
    info = await ok(await c.get("/fapi/v1/exchangeInfo"))
    assert {(x["interval"], x["intervalNum"], x["limit"]) for x in info["rateLimits"] if x["rateLimitType"] == "ORDERS"} \
        == {("SECOND", 10, 300), ("MINUTE", 1, 1200)}  # the same limits exchangeInfo states
    for _ in range(3):
        r = await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.010"})
        await ok(r)
    assert r.headers["X-MBX-ORDER-COUNT-10S"] == "3"
    assert await ok(await c.get("/fapi/v1/rateLimit/order")) == expected(3)
    assert await ok(await c.get("/fapi/v1/rateLimit/order")) == expected(3)  # asking does not count

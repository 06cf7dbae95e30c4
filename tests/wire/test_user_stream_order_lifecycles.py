"""The user-data stream of each order lifecycle: the exact sequence of events (types, x/X, ids),
each fill's l/z/L/n/t/rp/m/T the same as /fapi/v1/userTrades, E and T the sim time, and every
ORDER_TRADE_UPDATE field Binance documents present (../shared/spec/binance_api.md §8).

Reading is bounded and never waits on wall time: after the actions of a case a *fence* request
(POST /fapi/v1/leverage ETHUSDT 20, which changes nothing but sends ACCOUNT_CONFIG_UPDATE before
its response) is sent, and the frames up to the fence are exactly what the actions caused."""
import asyncio
import json
from decimal import Decimal

from tests.conftest import T0

MIN = 60_000
BTC = "BTCUSDT"
FENCE = {"symbol": "ETHUSDT", "leverage": "20"}
REQUIRED = ("s c S o f q p ap sp x X i l z L N n T t b a m R wt ot ps cp pP si ss rp V pm gtd").split()
MAKER, TAKER = Decimal("0.0001"), Decimal("0.0002")  # default maker_bps 1, taker_bps 2
MONEY = Decimal("0.00000001")
BUY_MARKET = {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.010"}
SELL_MARKET = {**BUY_MARKET, "side": "SELL"}


# --- helpers --------------------------------------------------------------------------------

async def ok(resp, status=200):
    body = await resp.json()
    assert resp.status == status, body
    return body


async def sim_time(c) -> int:
    return (await ok(await c.get("/admin/status")))["sim_time"]


async def step(c, bars=1) -> int:
    """Advance the clock; the sim time after the bars (a fill in a 1-bar step happens then)."""
    return (await ok(await c.post("/admin/step", json={"bars": bars})))["sim_time"]


async def last_price(c, symbol=BTC) -> Decimal:
    return Decimal((await ok(await c.get("/fapi/v1/ticker/price", params={"symbol": symbol})))["price"])


async def receive(ws, timeout=5.0) -> dict:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type.name == "TEXT", msg
    return json.loads(msg.data)


def check_shape(ev: dict) -> None:
    """Every event: E and T present and equal (both sim time); an ORDER_TRADE_UPDATE carries
    every documented field, its inner T the event's T."""
    assert ev["E"] == ev["T"], ev
    if ev["e"] == "ORDER_TRADE_UPDATE":
        missing = [k for k in REQUIRED if k not in ev["o"]]
        assert not missing, (missing, ev)
        assert ev["o"]["T"] == ev["T"]


async def until_fence(c, ws) -> list[dict]:
    """The frames the socket received before a fence request's ACCOUNT_CONFIG_UPDATE."""
    await ok(await c.post("/fapi/v1/leverage", data=FENCE))
    got = []
    while True:
        ev = await receive(ws)
        check_shape(ev)
        if ev["e"] == "ACCOUNT_CONFIG_UPDATE" and ev["ac"] == {"s": "ETHUSDT", "l": 20}:
            return got
        got.append(ev)


async def open_stream(c):
    key = (await ok(await c.post("/fapi/v1/listenKey")))["listenKey"]
    ws = await c.ws_connect(f"/ws/{key}")
    assert await until_fence(c, ws) == []  # subscribed, and nothing before
    return ws


def kinds(events: list[dict]) -> list[tuple]:
    """A compact signature of a sequence: ORDER_TRADE_UPDATE (x, X, orderId, o), TRADE_LITE
    (orderId), ACCOUNT_UPDATE (reason), ALGO_UPDATE (status, algoId)."""
    out = []
    for ev in events:
        e = ev["e"]
        if e == "ORDER_TRADE_UPDATE":
            o = ev["o"]
            out.append(("OTU", o["x"], o["X"], o["i"], o["o"]))
        elif e == "TRADE_LITE":
            out.append(("LITE", ev["i"]))
        elif e == "ACCOUNT_UPDATE":
            out.append(("AU", ev["a"]["m"]))
        elif e == "ALGO_UPDATE":
            out.append(("ALGO", ev["o"]["X"], ev["o"]["aid"]))
        else:
            out.append((e,))
    return out


async def trades(c, symbol=BTC) -> list[dict]:
    return await ok(await c.get("/fapi/v1/userTrades", params={"symbol": symbol}))


async def check_fill(c, lite: dict, otu: dict, au: dict, trade: dict, when: int, maker: bool) -> None:
    """One fill's three events agree with each other, with its /userTrades row and with the
    account's REST state."""
    o = otu["o"]
    assert lite["T"] == otu["T"] == au["T"] == o["T"] == trade["time"] == when
    assert lite["E"] == otu["E"] == au["E"] == when
    assert lite["t"] == o["t"] == trade["id"] and lite["i"] == o["i"] == trade["orderId"]
    assert lite["L"] == o["L"] == trade["price"] and lite["l"] == o["l"] == trade["qty"]
    assert lite["m"] is o["m"] is trade["maker"] is maker
    assert lite["S"] == o["S"] == trade["side"] and lite["c"] == o["c"] and lite["s"] == o["s"] == trade["symbol"]
    assert lite["q"] == o["q"] and lite["p"] == o["p"]
    assert o["n"] == trade["commission"] and o["N"] == trade["commissionAsset"] == "USDT"
    assert o["rp"] == trade["realizedPnl"]
    rate = MAKER if maker else TAKER
    assert Decimal(o["n"]) == (Decimal(trade["price"]) * Decimal(trade["qty"]) * rate).quantize(MONEY)
    assert o["x"] == "TRADE" and o["z"] == o["q"] and o["X"] == "FILLED" and Decimal(o["ap"]) == Decimal(o["L"])
    balance = (await ok(await c.get("/fapi/v2/balance")))[0]["balance"]
    assert au["a"]["m"] == "ORDER" and au["a"]["B"][0]["a"] == "USDT" and au["a"]["B"][0]["wb"] == balance
    pos = (await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": o["s"]})))[0]
    [p] = au["a"]["P"]
    assert p["s"] == o["s"] and p["pa"] == pos["positionAmt"] and p["ep"] == pos["entryPrice"]


async def step_until(c, done, limit=300) -> int:
    """Step one bar at a time until `await done()` holds (bounded); the sim time of that bar."""
    for _ in range(limit):
        now = await step(c)
        if await done():
            return now
    raise AssertionError(f"not reached in {limit} bars")


def order_status(c, order_id, symbol=BTC):
    async def done():
        got = await ok(await c.get("/fapi/v1/order", params={"symbol": symbol, "orderId": order_id}))
        return got["status"] not in ("NEW", "PARTIALLY_FILLED")
    return done


def algo_status(c, algo_id):
    async def done():
        got = await ok(await c.get("/fapi/v1/algoOrder", params={"algoId": algo_id}))
        return got["algoStatus"] not in ("NEW", "TRIGGERING", "TRIGGERED")
    return done


def px(x: Decimal) -> str:
    return f"{x:.1f}"  # BTCUSDT's tick is 0.10


# --- lifecycles -----------------------------------------------------------------------------

async def test_market_order_new_then_trade_lite_trade_and_account_update(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    now = await sim_time(c)
    assert now == T0 + MIN  # the first bar is revealed at start
    order = await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "MARKET",
                                                          "quantity": "0.010", "newClientOrderId": "mkt-1"}))
    got = await until_fence(c, ws)
    oid = order["orderId"]
    assert kinds(got) == [("OTU", "NEW", "NEW", oid, "MARKET"), ("LITE", oid),
                          ("OTU", "TRADE", "FILLED", oid, "MARKET"), ("AU", "ORDER")]
    new, lite, fill, au = got
    assert new["E"] == now and new["o"]["c"] == "mkt-1" and new["o"]["z"] == "0.000" and new["o"]["t"] == 0
    assert new["o"]["l"] == "0" and new["o"]["n"] == "0" and new["o"]["q"] == "0.010" and new["o"]["S"] == "BUY"
    [trade] = await trades(c)
    await check_fill(c, lite, fill, au, trade, now, maker=False)
    assert trade["price"] == px(await last_price(c)) + "0"  # at the last price, no slippage by default
    assert au["a"]["P"][0]["pa"] == "0.010"
    await ws.close()


async def test_resting_limit_new_then_filled_as_maker(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    price = px(await last_price(c) - 15)
    order = await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "LIMIT",
                                                          "timeInForce": "GTC", "quantity": "0.010", "price": price}))
    oid = order["orderId"]
    [new] = await until_fence(c, ws)
    assert kinds([new]) == [("OTU", "NEW", "NEW", oid, "LIMIT")]
    notional = (Decimal(price) * Decimal("0.010")).quantize(MONEY)
    assert new["o"]["p"] == price + "0" and new["o"]["b"] == str(notional) and new["o"]["a"] == "0.00000000"
    when = await step_until(c, order_status(c, oid))
    got = await until_fence(c, ws)
    assert kinds(got) == [("LITE", oid), ("OTU", "TRADE", "FILLED", oid, "LIMIT"), ("AU", "ORDER")]
    lite, fill, au = got
    [trade] = await trades(c)
    await check_fill(c, lite, fill, au, trade, when, maker=True)
    assert trade["price"] == price + "0" and fill["o"]["b"] == "0.00000000"  # its own price; nothing left open
    await ws.close()


async def test_canceled_limit_is_on_the_stream_before_the_cancel_response(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    price = px(await last_price(c) * Decimal("0.98"))
    oid = (await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "LIMIT",
                                                         "timeInForce": "GTC", "quantity": "0.010",
                                                         "price": price})))["orderId"]
    assert kinds(await until_fence(c, ws)) == [("OTU", "NEW", "NEW", oid, "LIMIT")]
    now = await sim_time(c)
    canceled = await ok(await c.delete("/fapi/v1/order", params={"symbol": BTC, "orderId": oid}))
    assert canceled["status"] == "CANCELED"
    ev = await receive(ws, timeout=0.5)  # written before the response: already there
    assert kinds([ev]) == [("OTU", "CANCELED", "CANCELED", oid, "LIMIT")]
    assert ev["E"] == ev["T"] == now and ev["o"]["z"] == "0.000" and ev["o"]["b"] == "0.00000000"
    check_shape(ev)
    assert await until_fence(c, ws) == []
    await ws.close()


async def test_ioc_limit_that_cannot_fill_expires(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    now = await sim_time(c)
    price = px(await last_price(c) - 20)
    order = await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "LIMIT",
                                                          "timeInForce": "IOC", "quantity": "0.010", "price": price}))
    oid = order["orderId"]
    assert order["status"] == "EXPIRED"
    got = await until_fence(c, ws)
    assert kinds(got) == [("OTU", "NEW", "NEW", oid, "LIMIT"), ("OTU", "EXPIRED", "EXPIRED", oid, "LIMIT")]
    assert all(ev["E"] == now and ev["o"]["f"] == "IOC" and ev["o"]["z"] == "0.000" for ev in got)
    assert await trades(c) == []
    await ws.close()


async def test_fok_rejected_sends_no_event(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    price = px(await last_price(c) - 20)
    r = await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "FOK",
                                             "quantity": "0.010", "price": price})
    assert (await ok(r, 400))["code"] == -5021
    assert await until_fence(c, ws) == []
    assert await ok(await c.get("/fapi/v1/allOrders", params={"symbol": BTC})) == []
    await ws.close()


async def test_legacy_stop_market_expires_as_stop_then_trades_as_market(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    stop = px(await last_price(c) + 15)
    oid = (await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "BUY", "type": "STOP_MARKET",
                                                         "stopPrice": stop, "quantity": "0.010",
                                                         "newClientOrderId": "stop-1"})))["orderId"]
    [new] = await until_fence(c, ws)
    assert kinds([new]) == [("OTU", "NEW", "NEW", oid, "STOP_MARKET")]
    assert new["o"]["ot"] == "STOP_MARKET" and new["o"]["sp"] == stop + "0" and new["o"]["p"] == "0.00"
    when = await step_until(c, order_status(c, oid))
    got = await until_fence(c, ws)
    assert kinds(got) == [("OTU", "EXPIRED", "EXPIRED", oid, "STOP_MARKET"), ("OTU", "NEW", "NEW", oid, "MARKET"),
                          ("LITE", oid), ("OTU", "TRADE", "FILLED", oid, "MARKET"), ("AU", "ORDER")]
    assert all(ev["o"]["ot"] == "STOP_MARKET" and ev["o"]["c"] == "stop-1"
               for ev in got if ev["e"] == "ORDER_TRADE_UPDATE")
    assert all(ev["E"] == when for ev in got)
    [trade] = await trades(c)
    await check_fill(c, got[2], got[3], got[4], trade, when, maker=False)
    assert Decimal(trade["price"]) >= Decimal(stop)  # at the stop, or above it on a gap
    await ws.close()


async def test_take_profit_market_algo_order_triggers_with_algo_updates(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    await ok(await c.post("/fapi/v1/order", data=BUY_MARKET))
    await until_fence(c, ws)
    placed_at = await sim_time(c)
    trigger = px(await last_price(c) + 15)
    algo = await ok(await c.post("/fapi/v1/algoOrder", data={
        "algoType": "CONDITIONAL", "symbol": BTC, "side": "SELL", "type": "TAKE_PROFIT_MARKET",
        "triggerPrice": trigger, "quantity": "0.010", "reduceOnly": "true", "clientAlgoId": "tp-1"}))
    aid = algo["algoId"]
    [new] = await until_fence(c, ws)
    assert kinds([new]) == [("ALGO", "NEW", aid)]
    o = new["o"]
    assert (o["caid"], o["at"], o["o"], o["s"], o["S"], o["q"], o["tp"], o["ai"], o["R"], o["tt"]) == (
        "tp-1", "CONDITIONAL", "TAKE_PROFIT_MARKET", BTC, "SELL", "0.010", trigger + "0", "", True, 0)
    assert new["E"] == new["T"] == placed_at
    when = await step_until(c, algo_status(c, aid))
    got = await until_fence(c, ws)
    after = await ok(await c.get("/fapi/v1/algoOrder", params={"algoId": aid}))
    oid = int(after["actualOrderId"])
    assert after["algoStatus"] == "FINISHED" and after["triggerTime"] == when
    assert kinds(got) == [("ALGO", "TRIGGERING", aid), ("ALGO", "TRIGGERED", aid),
                          ("OTU", "NEW", "NEW", oid, "MARKET"), ("LITE", oid),
                          ("OTU", "TRADE", "FILLED", oid, "MARKET"), ("AU", "ORDER"), ("ALGO", "FINISHED", aid)]
    assert all(ev["E"] == when for ev in got)
    triggering, triggered, order_new, lite, fill, au, finished = got
    assert triggering["o"]["tt"] == triggered["o"]["tt"] == finished["o"]["tt"] == when
    assert triggered["o"]["ai"] == finished["o"]["ai"] == str(oid) and triggered["o"]["act"] == "MARKET"
    assert order_new["o"]["ot"] == "TAKE_PROFIT_MARKET" and order_new["o"]["R"] is True
    trade = (await trades(c))[-1]
    assert trade["orderId"] == oid and trade["side"] == "SELL"
    await check_fill(c, lite, fill, au, trade, when, maker=False)
    assert Decimal(trade["price"]) >= Decimal(trigger) and au["a"]["P"][0]["pa"] == "0.000"
    assert finished["o"]["aq"] == "0.010" and Decimal(finished["o"]["ap"]) == Decimal(trade["price"])
    assert await ok(await c.get("/fapi/v1/openAlgoOrders")) == []
    await ws.close()


async def test_trailing_stop_market_triggers_after_falling_callback_rate_from_the_high(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    await ok(await c.post("/fapi/v1/order", data=BUY_MARKET))
    await until_fence(c, ws)
    start = await last_price(c)
    oid = (await ok(await c.post("/fapi/v1/order", data={
        "symbol": BTC, "side": "SELL", "type": "TRAILING_STOP_MARKET", "callbackRate": "0.1",
        "quantity": "0.010", "reduceOnly": "true"})))["orderId"]
    [new] = await until_fence(c, ws)
    assert kinds([new]) == [("OTU", "NEW", "NEW", oid, "TRAILING_STOP_MARKET")]
    assert new["o"]["cr"] == "0.1" and "AP" in new["o"] and new["o"]["R"] is True
    before = await sim_time(c)
    when = await step_until(c, order_status(c, oid))
    got = await until_fence(c, ws)
    assert kinds(got) == [("OTU", "EXPIRED", "EXPIRED", oid, "TRAILING_STOP_MARKET"),
                          ("OTU", "NEW", "NEW", oid, "MARKET"), ("LITE", oid),
                          ("OTU", "TRADE", "FILLED", oid, "MARKET"), ("AU", "ORDER")]
    assert all(ev["o"]["ot"] == "TRAILING_STOP_MARKET" and ev["o"]["cr"] == "0.1"
               for ev in got if ev["e"] == "ORDER_TRADE_UPDATE")
    trade = (await trades(c))[-1]
    await check_fill(c, got[2], got[3], got[4], trade, when, maker=False)
    bars = await ok(await c.get("/fapi/v1/klines", params={"symbol": BTC, "interval": "1m",
                                                           "startTime": before, "endTime": when - 1}))
    high = max([start] + [Decimal(b[2]) for b in bars])
    assert Decimal(trade["price"]) <= high * Decimal("0.999")  # 0.1 % below the best price since
    assert got[4]["a"]["P"][0]["pa"] == "0.000"
    await ws.close()


async def test_algo_order_canceled_before_trigger(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    trigger = px(await last_price(c) * Decimal("1.03"))
    aid = (await ok(await c.post("/fapi/v1/algoOrder", data={
        "algoType": "CONDITIONAL", "symbol": BTC, "side": "BUY", "type": "STOP_MARKET",
        "triggerPrice": trigger, "quantity": "0.010", "clientAlgoId": "far-stop"})))["algoId"]
    assert kinds(await until_fence(c, ws)) == [("ALGO", "NEW", aid)]
    await step(c, 3)
    assert await until_fence(c, ws) == []  # nothing while it waits
    now = await sim_time(c)
    r = await ok(await c.delete("/fapi/v1/algoOrder", params={"algoId": aid}))
    assert r["algoId"] == aid and r["clientAlgoId"] == "far-stop"
    ev = await receive(ws, timeout=0.5)  # sent before the response
    assert kinds([ev]) == [("ALGO", "CANCELED", aid)]
    assert ev["E"] == ev["T"] == now and ev["o"]["caid"] == "far-stop" and ev["o"]["ai"] == ""
    assert await until_fence(c, ws) == []
    await ws.close()


async def test_reduce_only_limit_expires_when_the_position_closes(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    buy = await ok(await c.post("/fapi/v1/order", data=BUY_MARKET))
    await until_fence(c, ws)
    price = px(await last_price(c) * Decimal("1.03"))
    tp = (await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": "SELL", "type": "LIMIT",
                                                        "timeInForce": "GTC", "quantity": "0.010", "price": price,
                                                        "reduceOnly": "true"})))["orderId"]
    assert kinds(await until_fence(c, ws)) == [("OTU", "NEW", "NEW", tp, "LIMIT")]
    now = await sim_time(c)
    close = (await ok(await c.post("/fapi/v1/order", data=SELL_MARKET)))["orderId"]
    got = await until_fence(c, ws)
    assert kinds(got) == [("OTU", "NEW", "NEW", close, "MARKET"), ("LITE", close),
                          ("OTU", "TRADE", "FILLED", close, "MARKET"), ("AU", "ORDER"),
                          ("OTU", "EXPIRED", "EXPIRED", tp, "LIMIT")]
    assert all(ev["E"] == now for ev in got)
    trade = (await trades(c))[-1]
    await check_fill(c, got[1], got[2], got[3], trade, now, maker=False)
    assert got[3]["a"]["P"][0]["pa"] == "0.000" and got[4]["o"]["R"] is True and got[4]["o"]["z"] == "0.000"
    assert Decimal(trade["realizedPnl"]) == (Decimal(trade["price"]) - Decimal((await trades(c))[0]["price"])) \
        * Decimal("0.010")
    assert buy["orderId"] < close and await ok(await c.get("/fapi/v1/openOrders")) == []
    await ws.close()


async def test_reduce_only_algo_order_with_nothing_to_reduce_at_trigger_is_rejected(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    await ok(await c.post("/fapi/v1/order", data=BUY_MARKET))
    trigger = px(await last_price(c) + 15)
    aid = (await ok(await c.post("/fapi/v1/algoOrder", data={
        "algoType": "CONDITIONAL", "symbol": BTC, "side": "SELL", "type": "TAKE_PROFIT_MARKET",
        "triggerPrice": trigger, "quantity": "0.010", "reduceOnly": "true"})))["algoId"]
    await ok(await c.post("/fapi/v1/order", data=SELL_MARKET))
    got = await until_fence(c, ws)
    assert [k[0] for k in kinds(got)] == ["OTU", "LITE", "OTU", "AU", "ALGO", "OTU", "LITE", "OTU", "AU"]
    assert got[-1]["a"]["P"][0]["pa"] == "0.000"  # flat; the untriggered algo order stays
    when = await step_until(c, algo_status(c, aid))
    got = await until_fence(c, ws)
    after = await ok(await c.get("/fapi/v1/algoOrder", params={"algoId": aid}))
    oid = int(after["actualOrderId"])
    assert kinds(got) == [("ALGO", "TRIGGERING", aid), ("ALGO", "TRIGGERED", aid),
                          ("OTU", "NEW", "NEW", oid, "MARKET"), ("OTU", "EXPIRED", "EXPIRED", oid, "MARKET"),
                          ("ALGO", "REJECTED", aid)]
    assert got[-1]["o"]["rm"] == "Reduce Only reject" and got[-1]["o"]["aq"] == "0.000"
    assert all(ev["E"] == when for ev in got)
    assert len(await trades(c)) == 2  # the two MARKET fills only
    await ws.close()


async def test_funding_settlement_is_an_account_update_with_the_payment(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    await ok(await c.post("/fapi/v1/order", data=BUY_MARKET))
    assert len(await until_fence(c, ws)) == 4
    now = await step(c, 480)  # past 08:00 UTC
    assert now == T0 + 481 * MIN
    got = await until_fence(c, ws)
    assert kinds(got) == [("AU", "FUNDING_FEE")]
    [ev] = got
    funding_time = T0 + 8 * 60 * MIN
    assert ev["E"] == ev["T"] == funding_time and ev["a"]["P"] == []
    [income] = await ok(await c.get("/fapi/v1/income", params={"incomeType": "FUNDING_FEE"}))
    [b] = ev["a"]["B"]
    balance = (await ok(await c.get("/fapi/v2/balance")))[0]["balance"]
    assert b["a"] == "USDT" and b["wb"] == b["cw"] == balance
    assert b["bc"] == income["income"] and income["time"] == funding_time and Decimal(b["bc"]) != 0
    await ws.close()


async def test_leverage_change_is_an_account_config_update(exsim_client):
    c = await exsim_client()
    ws = await open_stream(c)
    await step(c, 2)
    now = await sim_time(c)
    r = await ok(await c.post("/fapi/v1/leverage", data={"symbol": BTC, "leverage": "7"}))
    assert r["leverage"] == 7
    ev = await receive(ws, timeout=0.5)  # sent before the response
    assert ev == {"e": "ACCOUNT_CONFIG_UPDATE", "E": now, "T": now, "ac": {"s": BTC, "l": 7}}
    bad = await c.post("/fapi/v1/leverage", data={"symbol": BTC, "leverage": "500"})
    assert (await ok(bad, 400))["code"] == -4028
    assert await until_fence(c, ws) == []  # a refused change sends nothing
    await ws.close()


async def test_every_order_trade_update_carries_the_documented_fields(exsim_client):
    """One order of each kind, through NEW, TRADE, CANCELED, EXPIRED: the field set and types."""
    c = await exsim_client()
    ws = await open_stream(c)
    last = await last_price(c)
    for data in ({"type": "MARKET", "side": "BUY", "quantity": "0.010"},
                 {"type": "LIMIT", "side": "BUY", "timeInForce": "GTC", "quantity": "0.010", "price": px(last - 500)},
                 {"type": "LIMIT", "side": "SELL", "timeInForce": "IOC", "quantity": "0.010", "price": px(last + 20)},
                 {"type": "STOP_MARKET", "side": "SELL", "stopPrice": px(last - 500), "quantity": "0.010"},
                 {"type": "TRAILING_STOP_MARKET", "side": "SELL", "callbackRate": "1", "quantity": "0.010"}):
        await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, **data}))
    await ok(await c.delete("/fapi/v1/allOpenOrders", params={"symbol": BTC}))
    now = await sim_time(c)
    got = [ev for ev in await until_fence(c, ws) if ev["e"] == "ORDER_TRADE_UPDATE"]
    assert [(ev["o"]["x"], ev["o"]["o"]) for ev in got] == [
        ("NEW", "MARKET"), ("TRADE", "MARKET"), ("NEW", "LIMIT"), ("NEW", "LIMIT"), ("EXPIRED", "LIMIT"),
        ("NEW", "STOP_MARKET"), ("NEW", "TRAILING_STOP_MARKET"),
        ("CANCELED", "LIMIT"), ("CANCELED", "STOP_MARKET"), ("CANCELED", "TRAILING_STOP_MARKET")]
    types = {"s": str, "c": str, "S": str, "o": str, "f": str, "q": str, "p": str, "ap": str, "sp": str, "x": str,
             "X": str, "i": int, "l": str, "z": str, "L": str, "N": str, "n": str, "T": int, "t": int, "b": str,
             "a": str, "m": bool, "R": bool, "wt": str, "ot": str, "ps": str, "cp": bool, "pP": bool, "si": int,
             "ss": int, "rp": str, "V": str, "pm": str, "gtd": int}
    for ev in got:
        assert ev["E"] == ev["T"] == ev["o"]["T"] == now
        for key, kind in types.items():
            assert type(ev["o"][key]) is kind, (key, ev)
        for key in ("q", "p", "ap", "sp", "l", "z", "L", "n", "b", "a", "rp"):
            Decimal(ev["o"][key])  # numbers as decimal strings
        assert ev["o"]["ps"] == "BOTH" and ev["o"]["N"] == "USDT"
    await ws.close()


async def test_bid_and_ask_notional_are_as_of_each_event(exsim_client):
    """`b`/`a` are the open BUY/SELL notional right after the change the event reports: when a
    cancel-all closes two bids, the first CANCELED still has the second one open."""
    c = await exsim_client()
    ws = await open_stream(c)
    last = await last_price(c)
    bids = [px(last - 100), px(last - 200)]
    ask = px(last + 100)
    for side, price in (("BUY", bids[0]), ("BUY", bids[1]), ("SELL", ask)):
        await ok(await c.post("/fapi/v1/order", data={"symbol": BTC, "side": side, "type": "LIMIT",
                                                      "timeInForce": "GTC", "quantity": "0.010", "price": price}))
    await ok(await c.delete("/fapi/v1/allOpenOrders", params={"symbol": BTC}))
    got = await until_fence(c, ws)

    def notional(*prices):
        return f"{sum(Decimal(p) * Decimal('0.010') for p in prices):.8f}"
    assert [(ev["o"]["x"], ev["o"]["i"], ev["o"]["b"], ev["o"]["a"]) for ev in got] == [
        ("NEW", 1, notional(bids[0]), notional()),
        ("NEW", 2, notional(*bids), notional()),
        ("NEW", 3, notional(*bids), notional(ask)),
        ("CANCELED", 1, notional(bids[1]), notional(ask)),
        ("CANCELED", 2, notional(), notional(ask)),
        ("CANCELED", 3, notional(), notional())]
    await ws.close()

"""A client that knows its account from the user-data stream alone holds exactly what REST says.

Property (hypothesis, derandomized): for random sequences of MARKET and LIMIT orders on both
symbols, cancels, cancel-alls, leverage changes and clock steps of 1-30 bars, a model rebuilt
only from the stream (wallet from ACCOUNT_UPDATE B.wb, positions from P.pa/ep, open orders from
ORDER_TRADE_UPDATE X, fills from x=TRADE t/L/l/n, leverage from ACCOUNT_CONFIG_UPDATE) equals,
after every request, /fapi/v2/balance, /fapi/v2/positionRisk, /fapi/v1/openOrders and
/fapi/v1/userTrades. One app for the test; each example restarts the run (/admin/replay
{"restart": true}) and listens on a fresh listenKey.

Reading is exact and bounded: after each request a fence (ETHUSDT leverage to 125, a value the
sequences never use; then back to what the stream said before it) ends the frames that
request caused."""
import asyncio
import json
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SYMBOLS = ("BTCUSDT", "ETHUSDT")
TICK = {"BTCUSDT": Decimal("0.1"), "ETHUSDT": Decimal("0.01")}
QTY = {"BTCUSDT": ("0.003", "0.005", "0.010", "0.020"), "ETHUSDT": ("0.010", "0.050", "0.200", "0.500")}
FENCE_LEVERAGE = 125
START_BALANCE = "100000.00000000"

symbol = st.sampled_from(SYMBOLS)
side = st.sampled_from(("BUY", "SELL"))
market = st.tuples(st.just("market"), symbol, side, st.integers(0, 3))
# offset in basis points from the last price: < 0 rests for a BUY, > 0 crosses (and vice versa)
limit = st.tuples(st.just("limit"), symbol, side, st.integers(0, 3), st.integers(-25, 25),
                  st.sampled_from(("GTC", "GTC", "GTC", "IOC")))
cancel = st.tuples(st.just("cancel"), st.integers(0, 7))
cancel_all = st.tuples(st.just("cancel_all"), symbol)
leverage = st.tuples(st.just("leverage"), symbol, st.integers(1, 50))
clock = st.tuples(st.just("step"), st.integers(1, 30))
# resting orders and the clock weigh most: they make the maker fills and the cancels of live orders
op = st.one_of(limit, clock, limit, clock, market, cancel, limit, cancel_all, leverage)


class StreamModel:
    """What a bot knows from the user-data stream only."""

    def __init__(self) -> None:
        self.wallet = START_BALANCE
        self.positions = {s: ("0.000", "0.00000000") for s in SYMBOLS}
        self.open: dict[int, str] = {}  # orderId -> symbol
        self.fills = {s: [] for s in SYMBOLS}
        self.leverage = {s: 20 for s in SYMBOLS}
        self.seen: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.seen[what] = self.seen.get(what, 0) + 1

    def apply(self, ev: dict) -> None:
        e = ev["e"]
        self.count(e)
        assert ev["E"] == ev["T"], ev
        if e == "ACCOUNT_UPDATE":
            [b] = ev["a"]["B"]
            self.wallet = b["wb"]
            self.count("balance change " + ev["a"]["m"])
            for p in ev["a"]["P"]:
                self.positions[p["s"]] = (p["pa"], p["ep"])
        elif e == "ORDER_TRADE_UPDATE":
            o = ev["o"]
            if o["X"] in ("NEW", "PARTIALLY_FILLED"):
                self.open[o["i"]] = o["s"]
            else:
                self.open.pop(o["i"], None)
            if o["x"] == "TRADE":
                self.fills[o["s"]].append((o["t"], o["L"], o["l"], o["n"]))
                self.count("maker fill" if o["m"] else "taker fill")
            if o["x"] == "CANCELED":
                self.count("canceled")
        elif e == "ACCOUNT_CONFIG_UPDATE":
            self.leverage[ev["ac"]["s"]] = ev["ac"]["l"]
        else:
            assert e == "TRADE_LITE", ev


async def ok(resp, *statuses):
    body = await resp.json()
    assert resp.status in (statuses or (200,)), body
    return body


async def drain(c, ws, model: StreamModel) -> None:
    """Apply every frame up to the fence; the fence's two events leave the account as it was."""
    await ok(await c.post("/fapi/v1/leverage", data={"symbol": "ETHUSDT", "leverage": FENCE_LEVERAGE}))
    while True:
        ev = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        if ev["e"] == "ACCOUNT_CONFIG_UPDATE" and ev["ac"] == {"s": "ETHUSDT", "l": FENCE_LEVERAGE}:
            break
        model.apply(ev)
    eth = model.leverage["ETHUSDT"]  # as the stream had it just before the fence: put it back
    await ok(await c.post("/fapi/v1/leverage", data={"symbol": "ETHUSDT", "leverage": eth}))
    back = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
    assert back["e"] == "ACCOUNT_CONFIG_UPDATE" and back["ac"] == {"s": "ETHUSDT", "l": eth}, back


async def assert_equals_rest(c, model: StreamModel, context) -> None:
    balance = (await ok(await c.get("/fapi/v2/balance")))[0]["balance"]
    assert model.wallet == balance, context
    risk = {p["symbol"]: p for p in await ok(await c.get("/fapi/v2/positionRisk"))}
    for s in SYMBOLS:
        assert model.positions[s] == (risk[s]["positionAmt"], risk[s]["entryPrice"]), (s, context)
        assert str(model.leverage[s]) == risk[s]["leverage"], (s, context)
    open_orders = await ok(await c.get("/fapi/v1/openOrders"))
    assert model.open == {o["orderId"]: o["symbol"] for o in open_orders}, context
    for s in SYMBOLS:
        trades = await ok(await c.get("/fapi/v1/userTrades", params={"symbol": s, "limit": 1000}))
        rest = [(t["id"], t["price"], t["qty"], t["commission"]) for t in trades]
        assert model.fills[s] == rest, (s, context)


async def last_price(c, s: str) -> Decimal:
    return Decimal((await ok(await c.get("/fapi/v1/ticker/price", params={"symbol": s})))["price"])


async def run(c, model: StreamModel, action: tuple) -> None:
    kind = action[0]
    if kind == "market":
        _, s, sd, q = action
        await ok(await c.post("/fapi/v1/order", data={"symbol": s, "side": sd, "type": "MARKET",
                                                      "quantity": QTY[s][q]}), 200, 400)
    elif kind == "limit":
        _, s, sd, q, bps, tif = action
        price = (await last_price(c, s) * (1 + Decimal(bps) / 10_000)).quantize(TICK[s], ROUND_HALF_EVEN)
        await ok(await c.post("/fapi/v1/order", data={"symbol": s, "side": sd, "type": "LIMIT", "timeInForce": tif,
                                                      "quantity": QTY[s][q], "price": str(price)}), 200, 400)
    elif kind == "cancel":
        if model.open:  # one of the orders the stream says are open
            order_id = sorted(model.open)[action[1] % len(model.open)]
            r = await ok(await c.delete("/fapi/v1/order", params={"symbol": model.open[order_id],
                                                                  "orderId": order_id}))
            assert r["status"] == "CANCELED"
        else:
            r = await ok(await c.delete("/fapi/v1/order", params={"symbol": "BTCUSDT", "orderId": 10_000}), 400)
            assert r["code"] == -2011
    elif kind == "cancel_all":
        await ok(await c.delete("/fapi/v1/allOpenOrders", params={"symbol": action[1]}))
    elif kind == "leverage":
        await ok(await c.post("/fapi/v1/leverage", data={"symbol": action[1], "leverage": action[2]}), 200, 400)
    else:
        await ok(await c.post("/admin/step", json={"bars": action[1]}))


@pytest.fixture
def shared():
    """State kept across the examples of one test: the app, and what the examples covered,
    which must include every kind of event the model reads (else the property says little)."""
    state = {"seen": {}, "examples": 0, "failed": False}
    yield state
    if not state["failed"]:
        assert state["examples"] >= 20, state
        for what in ("maker fill", "taker fill", "canceled", "ACCOUNT_UPDATE", "ACCOUNT_CONFIG_UPDATE"):
            assert state["seen"].get(what, 0) > 0, (what, state["seen"])


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actions=st.lists(op, min_size=4, max_size=14))
@example(actions=[  # every kind of event, whatever the generated examples happen to be
    ("limit", "BTCUSDT", "BUY", 1, -5, "GTC"), ("limit", "ETHUSDT", "SELL", 2, 5, "GTC"),
    ("limit", "BTCUSDT", "SELL", 0, -10, "GTC"), ("leverage", "BTCUSDT", 5), ("step", 30),
    ("limit", "ETHUSDT", "BUY", 1, -20, "GTC"), ("cancel", 0), ("market", "ETHUSDT", "SELL", 3),
    ("limit", "BTCUSDT", "BUY", 0, -25, "GTC"), ("limit", "BTCUSDT", "SELL", 0, 25, "GTC"),
    ("cancel_all", "BTCUSDT"), ("step", 30), ("limit", "ETHUSDT", "BUY", 3, 0, "IOC")])
async def test_stream_built_state_equals_rest_after_every_request(exsim_client, shared, actions):
    if "client" not in shared:
        shared["client"] = await exsim_client()
    c = shared["client"]
    await ok(await c.post("/admin/replay", json={"restart": True}))
    key = (await ok(await c.post("/fapi/v1/listenKey")))["listenKey"]
    ws = await c.ws_connect(f"/ws/{key}")
    model = StreamModel()
    try:
        await drain(c, ws, model)
        await assert_equals_rest(c, model, "start")
        for i, action in enumerate(actions):
            await run(c, model, action)
            await drain(c, ws, model)
            await assert_equals_rest(c, model, (i, action, actions))
        fills = sum(map(len, model.fills.values()))
        assert model.seen.get("TRADE_LITE", 0) == model.seen.get("balance change ORDER", 0) == fills
    except BaseException:
        shared["failed"] = True
        raise
    finally:
        await ws.close()
        await ok(await c.delete("/fapi/v1/listenKey"))  # the next example gets a fresh key
    shared["examples"] += 1
    for what, n in model.seen.items():
        shared["seen"][what] = shared["seen"].get(what, 0) + n

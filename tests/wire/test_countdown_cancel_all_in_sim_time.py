"""POST /fapi/v1/countdownCancelAll counts down in sim time: the clock is paused and stepped
bar by bar (1m bars: each step is 60 000 ms of sim time), and the account's open orders of the
symbol are cancelled at the first step that reaches the deadline, never before, however much
wall time passes. A new call moves the deadline (a bot's heartbeat), 0 removes it, it fires
once, and it touches neither other symbols nor other accounts."""
import hashlib
import hmac
import time
from decimal import Decimal
from urllib.parse import urlencode

from tests.wire.test_user_stream_order_lifecycles import kinds, ok, open_stream, until_fence

BTC, ETH = "BTCUSDT", "ETHUSDT"
MIN = 60_000


async def last_close(c, symbol=BTC) -> Decimal:
    r = await c.get("/fapi/v1/klines", params={"symbol": symbol, "interval": "1m", "limit": 1})
    return Decimal((await r.json())[-1][4])


async def rest_limit(c, symbol=BTC) -> int:
    """A BUY LIMIT 3% under the price: it rests through the next bars."""
    tick = Decimal("0.10") if symbol == BTC else Decimal("0.01")
    price = (await last_close(c, symbol) * Decimal("0.97") / tick).to_integral_value() * tick
    body = await ok(await c.post("/fapi/v1/order", data={
        "symbol": symbol, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.050",
        "price": str(price)}))
    return body["orderId"]


async def countdown(c, ms, symbol=BTC) -> dict:
    return await ok(await c.post("/fapi/v1/countdownCancelAll", data={"symbol": symbol, "countdownTime": str(ms)}))


async def step(c, bars=1) -> int:
    return (await ok(await c.post("/admin/step", json={"bars": bars})))["sim_time"]


async def open_ids(c, symbol=None) -> list[int]:
    params = {"symbol": symbol} if symbol else {}
    return sorted(o["orderId"] for o in await ok(await c.get("/fapi/v1/openOrders", params=params)))


async def test_orders_are_cancelled_when_sim_time_reaches_the_deadline(exsim_client):
    c = await exsim_client()
    a, b, e = await rest_limit(c), await rest_limit(c), await rest_limit(c, ETH)
    ws = await open_stream(c)
    assert await countdown(c, 150_000) == {"symbol": BTC, "countdownTime": "150000"}  # echoed as text
    await step(c)  # +60 s
    await step(c)  # +120 s
    assert await open_ids(c) == sorted([a, b, e])
    assert await until_fence(c, ws) == []
    when = await step(c)  # +180 s: past the deadline
    assert await open_ids(c) == [e]  # ETHUSDT's order is not this countdown's
    events = await until_fence(c, ws)
    assert kinds(events) == [("OTU", "CANCELED", "CANCELED", a, "LIMIT"), ("OTU", "CANCELED", "CANCELED", b, "LIMIT")]
    assert all(ev["T"] == when for ev in events)
    # it fired once: a new order stays however far the clock goes
    c2 = await rest_limit(c)
    await step(c, 5)
    assert await open_ids(c) == sorted([c2, e])
    await ws.close()


async def test_each_call_moves_the_deadline_and_zero_removes_it(exsim_client):
    c = await exsim_client()
    a = await rest_limit(c)
    await countdown(c, 2 * MIN)
    await step(c)
    await countdown(c, 2 * MIN)  # heartbeat: now due 2 minutes from here
    await step(c)
    assert await open_ids(c) == [a]
    await step(c)
    assert await open_ids(c) == []

    b = await rest_limit(c)
    await countdown(c, MIN)
    assert await countdown(c, 0) == {"symbol": BTC, "countdownTime": "0"}
    await step(c, 3)
    assert await open_ids(c) == [b]


async def test_a_paused_clock_never_reaches_the_deadline(exsim_client):
    c = await exsim_client()
    a = await rest_limit(c)
    await countdown(c, 1)  # 1 ms of sim time: only a step can pass it
    for _ in range(3):
        assert await open_ids(c) == [a]
    await step(c)
    assert await open_ids(c) == []


async def test_countdowns_are_per_account(exsim_client):
    keys = [{"key": "k1", "secret": "s1"}, {"key": "k2", "secret": "s2"}]
    c = await exsim_client(auth="verify", api_keys=keys)
    def signed(key, secret, params):
        q = urlencode({**params, "timestamp": int(time.time() * 1000)})
        sig = hmac.new(secret.encode(), q.encode(), hashlib.sha256).hexdigest()
        return {"X-MBX-APIKEY": key}, f"{q}&signature={sig}"

    close = await last_close(c)
    price = str((close * Decimal("0.97") / Decimal("0.10")).to_integral_value() * Decimal("0.10"))
    order = {"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.050", "price": price}
    ids = {}
    for k in keys:
        h, q = signed(k["key"], k["secret"], order)
        ids[k["key"]] = (await ok(await c.post("/fapi/v1/order?" + q, headers=h)))["orderId"]
    h, q = signed("k1", "s1", {"symbol": BTC, "countdownTime": "60000"})
    await ok(await c.post("/fapi/v1/countdownCancelAll?" + q, headers=h))
    await step(c)
    left = {}
    for k in keys:
        h, q = signed(k["key"], k["secret"], {"symbol": BTC})
        left[k["key"]] = [o["orderId"] for o in await ok(await c.get("/fapi/v1/openOrders?" + q, headers=h))]
    assert left == {"k1": [], "k2": [ids["k2"]]}


async def test_bad_requests(exsim_client):
    c = await exsim_client()
    r = await c.post("/fapi/v1/countdownCancelAll", data={"symbol": BTC})
    assert (await r.json())["code"] == -1102
    r = await c.post("/fapi/v1/countdownCancelAll", data={"symbol": BTC, "countdownTime": "-5"})
    assert (await r.json())["code"] == -1130
    r = await c.post("/fapi/v1/countdownCancelAll", data={"symbol": "NOPEUSDT", "countdownTime": "1000"})
    assert (await r.json())["code"] == -1121


async def test_a_new_run_starts_with_no_countdown(exsim_client):
    c = await exsim_client()
    await countdown(c, MIN)
    await ok(await c.post("/admin/replay", json={"restart": True}))
    a = await rest_limit(c)
    await step(c, 2)
    assert await open_ids(c) == [a]

"""`<symbol>@trade` and `<symbol>@aggTrade` send the synthetic trades of store/trades_reader.py,
and REST `/fapi/v1/trades`, `/fapi/v1/historicalTrades` and `/fapi/v1/aggTrades` serve the very
same ones (same id: same price, qty, time and side), never one made after sim time, not even
in the middle of a bar."""
import asyncio
import json
from decimal import Decimal

from exsim.wire.keys import CLOCK

TICKS = 3
SYMBOL = "BTCUSDT"
TRADE_KEYS = ["e", "E", "T", "s", "t", "p", "q", "X", "m"]
AGG_KEYS = ["e", "E", "s", "a", "p", "q", "nq", "f", "l", "T", "m"]


async def rest(c, path, **params):
    r = await c.get(path, params={"symbol": SYMBOL, **params})
    assert r.status == 200, await r.text()
    return await r.json()


async def test_streams_and_rest_carry_the_same_trades_and_none_after_sim_time(exsim_client):
    c = await exsim_client(ticks_per_bar=TICKS)
    before = {t["id"] for t in await rest(c, "/fapi/v1/trades", limit=1000)}
    assert before  # the bar revealed at start has its trades
    async with c.ws_connect(f"/stream?streams={SYMBOL.lower()}@trade/{SYMBOL.lower()}@aggTrade") as ws:
        await c.post("/admin/step", json={"bars": 20})
        after = await rest(c, "/fapi/v1/trades", limit=1000)
        new = [t for t in after if t["id"] not in before]
        assert len(new) == 20 * TICKS  # one trade per tick (the demo bars all have volume)
        got: dict[str, list] = {}
        for _ in range(2 * len(new)):
            msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            got.setdefault(msg["stream"].split("@")[1], []).append(msg["data"])
    trades, aggs = got["trade"], got["aggTrade"]
    assert all(list(t) == TRADE_KEYS and t["X"] == "MARKET" and t["T"] == t["E"] - 1 for t in trades)
    assert all(list(a) == AGG_KEYS and a["a"] == a["f"] == a["l"] and a["q"] == a["nq"] for a in aggs)
    assert [(t["id"], t["price"], t["qty"], t["time"], t["isBuyerMaker"]) for t in new] == \
        [(t["t"], t["p"], t["q"], t["T"], t["m"]) for t in trades] == \
        [(a["a"], a["p"], a["q"], a["T"], a["m"]) for a in aggs]
    assert all(Decimal(t["quoteQty"]) == Decimal(t["price"]) * Decimal(t["qty"]) for t in new)
    ids = [t["id"] for t in after]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    # the same trades through aggTrades (by time window and by id) and historicalTrades
    rest_aggs = await rest(c, "/fapi/v1/aggTrades", startTime=new[0]["time"], endTime=new[-1]["time"])
    assert [(a["a"], a["p"], a["q"], a["T"], a["m"]) for a in rest_aggs] == \
        [(a["a"], a["p"], a["q"], a["T"], a["m"]) for a in aggs]
    hist = await rest(c, "/fapi/v1/historicalTrades", fromId=new[0]["id"], limit=500)
    assert hist == new
    from_id = await rest(c, "/fapi/v1/aggTrades", fromId=new[5]["id"], limit=3)
    assert [a["a"] for a in from_id] == [t["id"] for t in new[5:8]]

    # in the middle of a bar: only the ticks replayed so far have traded
    clock = c.server.app[CLOCK]
    async with clock._lock:
        clock._advance_tick()
    now = (await (await c.get("/fapi/v1/time")).json())["serverTime"]
    latest = await rest(c, "/fapi/v1/trades", limit=5)
    assert latest[-1]["id"] == new[-1]["id"] + 1 and latest[-1]["time"] == now - 1
    assert await rest(c, "/fapi/v1/aggTrades", startTime=now) == []
    assert (await rest(c, "/fapi/v1/historicalTrades", fromId=latest[-1]["id"]))[-1] == latest[-1]

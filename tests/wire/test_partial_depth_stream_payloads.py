"""Partial depth `<symbol>@depth<5|10|20>[@100ms|@500ms]`: Binance futures' payload (the diff
stream's fields e, E, T, s, U, u, pu, b, a, with the best N levels of each side in b/a), one per
replayed tick, carrying the same ids as the diff stream's event of that tick, and the same
levels as a REST snapshot taken when the replay is paused after it."""
import asyncio
import json
from decimal import Decimal

import pytest

KEYS = ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]


async def frames(ws, n: int) -> dict:
    got: dict[str, list] = {}
    for _ in range(n):
        msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        got.setdefault(msg["stream"], []).append(msg["data"])
    return got


@pytest.mark.parametrize("levels,speed", [(5, ""), (10, "@100ms"), (20, "@500ms")])
async def test_partial_depth_payload_is_binance_shaped_and_matches_rest(exsim_client, levels, speed):
    c = await exsim_client()
    partial, diff = f"btcusdt@depth{levels}{speed}", "btcusdt@depth"
    async with c.ws_connect(f"/stream?streams={partial}/{diff}") as ws:
        await c.post("/admin/step", json={"bars": 3})
        got = await frames(ws, 6)
    assert len(got[partial]) == len(got[diff]) == 3
    for p, d in zip(got[partial], got[diff]):
        assert list(p) == KEYS  # key order as Binance sends it
        assert p["e"] == "depthUpdate" and p["s"] == "BTCUSDT" and p["E"] == d["E"]
        assert (p["U"], p["u"], p["pu"]) == (d["U"], d["u"], d["pu"])
        assert len(p["b"]) == len(p["a"]) == levels
        bids = [Decimal(x) for x, _ in p["b"]]
        asks = [Decimal(x) for x, _ in p["a"]]
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks) and bids[0] < asks[0]
        assert all(Decimal(q) > 0 for _, q in p["b"] + p["a"])
    # consecutive events chain like the diff stream's
    ids = got[partial]
    assert all(b["pu"] == a["u"] and b["U"] == a["u"] + 1 for a, b in zip(ids, ids[1:]))
    r = await c.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": levels})
    snap = await r.json()
    last = got[partial][-1]
    assert snap["lastUpdateId"] == last["u"] + 1
    assert snap["bids"] == last["b"] and snap["asks"] == last["a"]
    book = await (await c.get("/fapi/v1/ticker/bookTicker", params={"symbol": "BTCUSDT"})).json()
    assert [book["bidPrice"], book["bidQty"]] == last["b"][0] and [book["askPrice"], book["askQty"]] == last["a"][0]

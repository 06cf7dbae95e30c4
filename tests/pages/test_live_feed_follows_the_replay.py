"""/admin/live, the live page's feed: a snapshot per change (bars, fills, position, equity,
speed, progress), the admin token when set, and none of it counted as bot traffic."""
from __future__ import annotations

import json


async def hello(client, **body):
    ws = await client.ws_connect("/admin/live")
    await ws.send_str(json.dumps(body))
    return ws


async def test_the_feed_sends_bars_fills_and_the_account(exsim_client):
    client = await exsim_client()
    await client.post("/admin/step", json={"bars": 10})
    ws = await hello(client, symbol="btcusdt")
    first = await ws.receive_json(timeout=10)
    assert first["reset"] and first["symbol"] == "BTCUSDT" and first["paused"]
    # the first bar is revealed when the run starts, then 10 steps
    assert first["bars_done"] == len(first["bars"]) == 11 and first["positions"] == []
    await client.post("/admin/step", json={"bars": 3})
    frame = await ws.receive_json(timeout=10)
    assert not frame["reset"] and frame["bars_done"] == 14
    assert [b[0] for b in frame["bars"]][-1] > first["bars"][-1][0]
    assert float(frame["price"]) == frame["bars"][-1][1]
    resp = await client.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                     "quantity": "0.02"})
    assert resp.status == 200
    frame = await ws.receive_json(timeout=10)
    assert [f["side"] for f in frame["fills"]] == ["SELL"]
    assert frame["positions"][0]["qty"] == "-0.020"
    await ws.send_str(json.dumps({"symbol": "ETHUSDT"}))
    frame = await ws.receive_json(timeout=10)
    assert frame["reset"] and frame["symbol"] == "ETHUSDT" and frame["fills"] == []

    status = await (await client.get("/admin/status")).json()
    assert status["ws_clients"] == 0 and status["ws_messages_sent"] == 0
    await ws.close()


async def test_the_feed_wants_the_admin_token_when_one_is_set(exsim_client):
    client = await exsim_client(admin_token="tok")
    ws = await hello(client, token="wrong")
    refused = await ws.receive_json(timeout=10)
    assert refused["error"]["code"] == -2015
    closing = await ws.receive(timeout=10)
    assert ws.closed or closing.type.name in ("CLOSE", "CLOSED")
    ws = await hello(client, token="tok")
    assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
    await ws.close()

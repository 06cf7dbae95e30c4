"""/admin/status reports how long the user-data stream takes from a state change to its frame
written to the socket (the issue's "change to frame" figure, measured where it happens), over
the last frames written; `?reset_latency=1` reads and then restarts it."""
import asyncio
import json

from aiohttp import WSMsgType

MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}


async def status(c, query: str = "") -> dict:
    resp = await c.get("/admin/status" + query)
    assert resp.status == 200
    return (await resp.json())["user_stream_change_to_frame_ms"]


async def test_each_frame_written_is_measured_and_a_reset_restarts(exsim_client):
    c = await exsim_client()
    assert await status(c) == {"frames": 0}  # nobody listens: nothing written, nothing measured
    key = (await (await c.post("/fapi/v1/listenKey")).json())["listenKey"]
    ws = await c.ws_connect(f"/ws/{key}")
    resp = await c.post("/fapi/v1/order", data=MARKET_BUY)
    assert resp.status == 200, await resp.text()
    kinds = []
    while "ACCOUNT_UPDATE" not in kinds:  # NEW, TRADE, TRADE_LITE, then the ACCOUNT_UPDATE
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == WSMsgType.TEXT
        event = json.loads(msg.data)
        kinds.append(event["e"] + ("/" + event["o"]["x"] if event["e"] == "ORDER_TRADE_UPDATE" else ""))
    got = await status(c, "?reset_latency=1")
    assert got["frames"] == len(kinds) == 4, kinds
    assert 0 < got["p50"] <= got["p99"] <= got["max"] < 5_000  # milliseconds, not seconds or ns
    assert await status(c) == {"frames": 0}
    await ws.close()

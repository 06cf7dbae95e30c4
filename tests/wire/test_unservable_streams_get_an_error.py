"""A stream this replay cannot produce is never silently accepted: SUBSCRIBE answers Binance's
{"error": {"code": 2, "msg": ...}, "id": <the request's id>} naming the reason, and the same
name in the URL (/ws/<name>, /stream?streams=<name>) gets a close with code 1008 (policy
violation) and a reason naming the stream. The connection stays usable after a refused
SUBSCRIBE, and nothing was subscribed."""
import asyncio
import json

import pytest
from aiohttp import WSMsgType

# (config overrides, stream, words the reason must contain)
CASES = [
    pytest.param({}, "dogeusdt@kline_1m", ["symbol DOGEUSDT is not replayed", "btcusdt", "ethusdt"],
                 id="symbol-not-replayed"),
    pytest.param({"symbols": ["ETHUSDT"]}, "btcusdt@aggTrade", ["symbol BTCUSDT is not replayed"],
                 id="symbol-in-db-but-not-replayed"),
    # 5m replays bars resampled from the dataset's 1m table: 1m is finer than the base
    pytest.param({"interval": "5m"}, "btcusdt@kline_1m", ["interval 1m is finer", "base interval 5m"],
                 id="finer-than-base"),
    pytest.param({"interval": "5m"}, "btcusdt_perpetual@continuousKline_3m", ["interval 3m is finer"],
                 id="continuous-finer-than-base"),
    # 3m bars cannot make 5m periods (5 is no multiple of 3)
    pytest.param({"interval": "3m"}, "ethusdt@kline_5m", ["interval 5m cannot be built from 3m bars"],
                 id="cannot-be-built"),
    pytest.param({}, "btcusdt@kline_7m", ["unknown interval '7m'"], id="unknown-interval"),
    pytest.param({}, "btcusdt@rpiDepth@500ms", ["unknown stream type", "btcusdt@rpiDepth@500ms"],
                 id="unknown-stream-type"),
]


async def reply(ws):
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == WSMsgType.TEXT, msg
    return json.loads(msg.data)


@pytest.mark.parametrize("overrides,stream,words", CASES)
async def test_subscribe_gets_an_error_naming_the_reason(exsim_client, overrides, stream, words):
    c = await exsim_client(**overrides)
    async with c.ws_connect("/ws") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": [stream], "id": 41})
        err = await reply(ws)
        assert set(err) == {"error", "id"} and err["id"] == 41
        assert err["error"]["code"] == 2
        msg = err["error"]["msg"]
        assert stream in msg, msg
        for w in words:
            assert w in msg, (w, msg)
        # the connection lives on, nothing was subscribed
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 42})
        assert await reply(ws) == {"result": [], "id": 42}


async def test_one_bad_name_refuses_the_whole_subscribe(exsim_client):
    c = await exsim_client(interval="5m")
    async with c.ws_connect("/ws") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@kline_5m", "btcusdt@kline_1m"], "id": 7})
        err = await reply(ws)
        assert err["id"] == 7 and err["error"]["code"] == 2 and "btcusdt@kline_1m" in err["error"]["msg"]
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
        assert await reply(ws) == {"result": [], "id": 8}
        # what the replay can serve is accepted on the same connection (5m base, 15m built from it)
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@kline_5m", "btcusdt@kline_15m"], "id": 9})
        assert await reply(ws) == {"result": None, "id": 9}
        r = await c.post("/admin/step", json={"bars": 1})
        assert (await r.json())["bars"] == 1
        kinds = {json.loads((await asyncio.wait_for(ws.receive(), 5)).data)["k"]["i"] for _ in range(2)}
        assert kinds == {"5m", "15m"}


@pytest.mark.parametrize("overrides,stream,words", CASES)
async def test_the_same_name_in_the_url_gets_a_1008_close(exsim_client, overrides, stream, words):
    c = await exsim_client(**overrides)
    base = overrides.get("interval", "1m")
    # alone, raw and combined; and after a stream that can be served (one bad name refuses all)
    for path in (f"/ws/{stream}", f"/stream?streams={stream}", f"/stream?streams=ethusdt@kline_{base}/{stream}"):
        async with c.ws_connect(path) as ws:
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type == WSMsgType.CLOSE, (path, msg)
            assert msg.data == 1008 and ws.close_code == 1008
            reason = msg.extra
            assert stream in reason and words[0] in reason, (path, reason)
            assert len(reason.encode()) <= 123  # a close reason's room

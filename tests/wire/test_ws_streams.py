"""WebSocket streams: every bar once and in order, raw and combined payloads, live SUBSCRIBE,
and a stuck client dropped without stalling anyone."""
import asyncio
import base64
import json
import os
import socket


from tests.conftest import T0

MIN = 60_000
STREAM = "btcusdt@kline_1m"


async def collect_klines(ws, until_ts, timeout=20.0):
    seen = []
    async def read():
        async for msg in ws:
            data = json.loads(msg.data)
            data = data.get("data", data)
            if data.get("e") == "kline" and data["k"]["x"]:
                seen.append(data["k"]["t"])
                if data["k"]["t"] >= until_ts:
                    return
    await asyncio.wait_for(read(), timeout)
    return seen


async def test_client_receives_every_bar_once_and_in_order_at_speed_1000(exsim_client):
    c = await exsim_client()
    async with c.ws_connect(f"/ws/{STREAM}") as ws:
        await c.post("/admin/replay", json={"speed_bars_per_sec": 1000})
        seen = await collect_klines(ws, T0 + 1500 * MIN)
    assert seen[0] == T0 + MIN  # the bar after the one revealed at start
    assert seen == [T0 + i * MIN for i in range(1, 1501)]


async def test_combined_stream_wraps_payloads_and_carries_binance_fields(exsim_client):
    c = await exsim_client()
    async with c.ws_connect(f"/stream?streams={STREAM}/btcusdt@markPrice@1s/btcusdt@bookTicker") as ws:
        await c.post("/admin/step", json={"bars": 1})
        got = {}
        while len(got) < 3:
            msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            got[msg["stream"]] = msg["data"]
    k = got[STREAM]["k"]
    assert got[STREAM]["e"] == "kline" and k["i"] == "1m" and k["x"] is True and k["T"] == k["t"] + MIN - 1
    assert {"o", "h", "l", "c", "v", "n", "q"} <= set(k)
    assert got["btcusdt@markPrice@1s"]["e"] == "markPriceUpdate" and got["btcusdt@markPrice@1s"]["p"] == k["c"]
    assert float(got["btcusdt@bookTicker"]["b"]) < float(k["c"]) < float(got["btcusdt@bookTicker"]["a"])
    r = await c.get("/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1})
    assert (await r.json())[-1][4] == k["c"]


async def test_subscribe_unsubscribe_list_round_trip(exsim_client):
    c = await exsim_client()
    async with c.ws_connect("/ws") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": [STREAM, "btcusdt@aggTrade"], "id": 1})
        assert json.loads((await ws.receive()).data) == {"result": None, "id": 1}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": "abc"})
        assert json.loads((await ws.receive()).data) == {"result": ["btcusdt@aggTrade", STREAM], "id": "abc"}
        await c.post("/admin/step", json={"bars": 1})
        kinds = set()
        for _ in range(2):
            kinds.add(json.loads((await asyncio.wait_for(ws.receive(), 5)).data)["e"])
        assert kinds == {"kline", "aggTrade"}
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 2})
        assert json.loads((await ws.receive()).data) == {"result": None, "id": 2}
        await ws.send_json({"method": "GET_PROPERTY", "params": ["combined"], "id": 3})
        assert json.loads((await ws.receive()).data) == {"result": False, "id": 3}
        await ws.send_json({"method": "SET_PROPERTY", "params": ["combined", True], "id": 4})
        assert json.loads((await ws.receive()).data) == {"result": None, "id": 4}
        await c.post("/admin/step", json={"bars": 1})
        msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        assert msg["stream"] == STREAM and msg["data"]["e"] == "kline"


async def test_protocol_errors_are_binance_shaped(exsim_client):
    c = await exsim_client()
    async with c.ws_connect("/ws") as ws:
        await ws.send_str("{nope")
        err = json.loads((await ws.receive()).data)
        assert err["error"]["code"] == 3
        await ws.send_json({"method": "EXPLODE", "id": 9})
        err = json.loads((await ws.receive()).data)
        assert err["error"]["code"] == 2 and err["id"] == 9
        await ws.send_json({"method": "SUBSCRIBE", "params": ["dogeusdt@kline_1m"], "id": 10})
        err = json.loads((await ws.receive()).data)
        assert err["error"]["code"] == 2 and err["id"] == 10


def stuck_client(port: int, path: str) -> socket.socket:
    """A WebSocket client that completes the handshake, then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b"101" in head.split(b"\r\n")[0]
    return sock


async def test_stuck_client_is_dropped_and_others_keep_every_bar(exsim_client):
    c = await exsim_client(ws={"max_outbox_bytes": 32 * 1024})
    port = c.server.port
    streams = "/".join([STREAM, "btcusdt@ticker", "btcusdt@markPrice", "btcusdt@bookTicker", "btcusdt@aggTrade"])
    stuck = await asyncio.to_thread(stuck_client, port, f"/stream?streams={streams}")
    try:
        async with c.ws_connect(f"/ws/{STREAM}") as healthy:
            await c.post("/admin/replay", json={"speed_bars_per_sec": "max"})
            seen = await collect_klines(healthy, T0 + 4319 * MIN)
            status = await (await c.get("/admin/status")).json()
        assert seen == [T0 + i * MIN for i in range(1, 4320)]
        assert status["dropped_clients"] == 1 and status["ws_clients"] == 1
    finally:
        stuck.close()


async def test_path_prefixes_of_the_2026_layout_are_served(exsim_client):
    c = await exsim_client()
    for path in (f"/market/ws/{STREAM}", f"/market/stream?streams={STREAM}", f"/public/ws/{STREAM}",
                 f"/ws/stream?streams={STREAM}"):
        async with c.ws_connect(path) as ws:
            await c.post("/admin/step", json={"bars": 1})
            msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            data = msg.get("data", msg)
            assert data["e"] == "kline", path
            assert ("stream" in msg) == ("stream?" in path), path

"""Hostile WebSocket traffic (issue #7.2): malformed JSON, unknown methods and streams, binary
frames, 1,000 SUBSCRIBE requests, oversized frames, too many streams, a client that never reads.
Each gets Binance's error shape `{"error": {"code", "msg"}, "id"}` or a clean close frame, and a
healthy client on the same server keeps receiving every kline, in order, while the clock steps."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct

import aiohttp
import pytest
from aiohttp import WSMsgType

from exsim.config import WsConfig

from tests.waiting import until

from .helpers import FIGURES, LogTrap

KLINE = "btcusdt@kline_1m"
INTERVAL_MS = 60_000
pytestmark = pytest.mark.timeout(120)


class Healthy:
    """A well-behaved client: subscribes to the kline stream and records every closed kline."""

    def __init__(self, client, path: str = "/ws") -> None:
        self.client, self.path = client, path
        self.klines: list[int] = []
        self.other: list[dict] = []
        self.ws = None
        self.task = None
        self.closed_with = None

    async def start(self) -> "Healthy":
        self.ws = await self.client.ws_connect(self.path)
        await self.ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": [KLINE], "id": 1}))
        reply = await self.ws.receive_json(timeout=10)
        assert reply == {"result": None, "id": 1}
        self.task = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                break
            obj = json.loads(msg.data)
            data = obj.get("data", obj)
            if isinstance(data, dict) and data.get("e") == "kline" and data["k"]["x"]:
                self.klines.append(data["k"]["t"])
            else:
                self.other.append(obj)
        self.closed_with = self.ws.close_code

    async def wait_for(self, n: int, timeout: float = 20) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.klines) < n and loop.time() < deadline:
            await asyncio.sleep(0.01)

    def assert_in_order(self, n: int) -> None:
        assert len(self.klines) == n, f"healthy client got {len(self.klines)} closed klines, expected {n}"
        assert all(b - a == INTERVAL_MS for a, b in zip(self.klines, self.klines[1:])), "gap or reorder"

    async def stop(self) -> None:
        await self.ws.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


async def _step(client, bars: int) -> None:
    resp = await client.post("/admin/step", json={"bars": bars})
    assert resp.status == 200, await resp.text()


async def _clients_are(client, n: int) -> bool:
    return (await _status(client))["ws_clients"] == n


async def _status(client) -> dict:
    resp = await client.get("/admin/status")
    return await resp.json()


async def test_protocol_errors_are_binance_shaped_and_keep_the_connection(exsim_client):
    client = await exsim_client()
    healthy = await Healthy(client).start()
    ws = await client.ws_connect("/ws")
    cases = [
        ("{not json", 3, None),
        ("", 3, None),
        ('{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1', 3, None),
        ("[1, 2, 3]", 2, None),
        ('"SUBSCRIBE"', 2, None),
        ('{"method": "FOO", "id": 7}', 2, 7),
        ('{"method": null, "id": 8}', 2, 8),
        ('{"method": "SUBSCRIBE", "params": ["nosuch@stream"], "id": "abc-uuid"}', 2, "abc-uuid"),
        ('{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m", 5], "id": 9}', 2, 9),
        ('{"method": "SUBSCRIBE", "params": "btcusdt@kline_1m", "id": 10}', 2, 10),
        ('{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": {"a": 1}}', 2, None),
        ('{"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 11}', 1, 11),
        ('{"method": "SET_PROPERTY", "params": ["colour", true], "id": 12}', 0, 12),
        ('{"method": "GET_PROPERTY", "params": ["nope"], "id": 13}', 0, 13),
        ('{"method": "UNSUBSCRIBE", "params": ["' + "x" * 5000 + '"], "id": 14}', 2, 14),
        (json.dumps({"method": "SUBSCRIBE", "params": ["\u202e\ufeff\u00e9"], "id": 15}), 2, 15),
        ("[" * 5000 + "]" * 5000, None, None),  # deep nesting: an error of some code, no crash
    ]
    with LogTrap() as trap:
        for text, code, req_id in cases:
            await ws.send_str(text)
            reply = await ws.receive_json(timeout=5)
            assert set(reply) == {"error", "id"}, (text[:60], reply)
            assert set(reply["error"]) == {"code", "msg"} and isinstance(reply["error"]["msg"], str)
            if code is not None:
                assert reply["error"]["code"] == code, (text[:60], reply)
            assert reply["id"] == req_id, (text[:60], reply)
            await asyncio.sleep(0.11)  # stay under 10 messages/s
        await ws.send_bytes(b"\x00\x01binary")
        reply = await ws.receive_json(timeout=5)
        assert reply["error"]["code"] == 3 and reply["id"] is None
        await asyncio.sleep(0.11)
        # still open, and nothing was subscribed by the rejected requests
        await ws.send_str('{"method": "LIST_SUBSCRIPTIONS", "id": 20}')
        assert await ws.receive_json(timeout=5) == {"result": [], "id": 20}
        await asyncio.sleep(0.11)
        await ws.send_str('{"method": "SUBSCRIBE", "params": ["BTCUSDT@kline_1m"], "id": 21}')
        assert await ws.receive_json(timeout=5) == {"result": None, "id": 21}
        await _step(client, 3)
        got = [await ws.receive_json(timeout=5) for _ in range(3)]
        assert [m["k"]["x"] for m in got] == [True, True, True]
        await ws.close()
        assert ws.close_code == 1000
        await healthy.wait_for(3)
        healthy.assert_in_order(3)
        await healthy.stop()
        assert not trap.take()


async def test_limits_disconnect_cleanly_and_spare_other_clients(exsim_client):
    client = await exsim_client(ws=WsConfig(max_frame_bytes=64 * 1024))
    healthy = await Healthy(client).start()
    combined = await Healthy(client, "/stream").start()
    stepped = 0

    # too many streams in one SUBSCRIBE: refused as a whole, the connection stays usable
    ws = await client.ws_connect("/ws")
    fake_keys = [base64.b32encode(os.urandom(25)).decode().rstrip("=") for _ in range(1025)]
    await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": fake_keys, "id": 1}))
    reply = await ws.receive_json(timeout=5)
    assert reply["error"]["code"] == 2 and "too many streams" in reply["error"]["msg"] and reply["id"] == 1
    await asyncio.sleep(0.11)
    await ws.send_str('{"method": "LIST_SUBSCRIPTIONS", "id": 2}')
    assert await ws.receive_json(timeout=5) == {"result": [], "id": 2}
    await ws.close()

    # 1,000 SUBSCRIBE requests in a burst: more than 10 messages/s -> a close frame (1008)
    burst = await client.ws_connect("/ws")
    for i in range(1000):
        try:
            await burst.send_str(json.dumps({"method": "SUBSCRIBE", "params": [KLINE], "id": i}))
        except (ConnectionResetError, aiohttp.ClientConnectionError):
            break
    replies, close = 0, None
    while True:
        msg = await burst.receive(timeout=10)
        if msg.type == WSMsgType.TEXT:
            replies += 1
        else:
            close = msg
            break
    assert close.type == WSMsgType.CLOSE and close.data == 1008, close
    assert replies <= 10
    await _step(client, 4)
    stepped += 4

    # a frame over max_frame_bytes: closed with 1009 (message too big)
    big = await client.ws_connect("/ws")
    await big.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["x" * (70 * 1024)], "id": 1}))
    msg = await big.receive(timeout=10)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED), msg
    assert big.close_code == 1009, big.close_code
    await big.close()
    await _step(client, 4)
    stepped += 4

    # the healthy clients saw every kline, in order, and the server is back to two clients
    await healthy.wait_for(stepped)
    await combined.wait_for(stepped)
    healthy.assert_in_order(stepped)
    combined.assert_in_order(stepped)
    await until(lambda: _clients_are(client, 2))
    await healthy.stop()
    await combined.stop()


def _ws_frame(text: bytes) -> bytes:
    """A masked client text frame."""
    mask = os.urandom(4)
    n = len(text)
    head = b"\x81" + (bytes((0x80 | n,)) if n < 126 else b"\xfe" + struct.pack("!H", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text))


async def _never_reading_client(port: int) -> socket.socket:
    """Handshake, subscribe to every stream there is, then never read again (tiny receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    await asyncio.to_thread(sock.connect, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await asyncio.to_thread(sock.recv, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    streams = ["btcusdt@kline_1m", "btcusdt@aggtrade", "btcusdt@bookticker", "btcusdt@markprice@1s",
               "btcusdt@ticker", "btcusdt@miniticker", "!markprice@arr", "btcusdt_perpetual@continuouskline_1m"]
    sock.sendall(_ws_frame(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}).encode()))
    return sock


async def test_client_that_never_reads_is_dropped_and_others_get_every_kline(exsim_client):
    client = await exsim_client(ws=WsConfig(max_outbox_bytes=64 * 1024))
    healthy = await Healthy(client).start()
    slow = await _never_reading_client(client.port)
    await until(lambda: _clients_are(client, 2))  # its 101 can arrive before it is registered
    stepped = 0
    dropped = 0
    for _ in range(40):  # up to 4,000 bars; the slow client is dropped long before
        await _step(client, 100)
        stepped += 100
        await asyncio.sleep(0)
        dropped = (await _status(client))["dropped_clients"]
        if dropped:
            break
    assert dropped == 1, "the client that never reads was not dropped"
    await _step(client, 50)
    stepped += 50
    await healthy.wait_for(stepped)
    healthy.assert_in_order(stepped)
    assert (await _status(client))["ws_clients"] == 1
    FIGURES["ws_slow_client_dropped_after_bars"] = stepped - 50
    slow.close()
    await healthy.stop()

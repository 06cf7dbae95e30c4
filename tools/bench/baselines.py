"""Baseline servers the benchmark compares ExSim against (each run in its own process).

    python tools/bench/baselines.py fanout --port P    # the fan-out limit
    python tools/bench/baselines.py request --port P   # the request limit

fanout: a minimal aiohttp (uvloop) server that does nothing but send pre-encoded kline frames
to every connected WebSocket client as fast as the clients take them. `POST /go?bars=N` starts a
burst of N messages; it is written like ExSim's fan-out at its best (frames joined into one
bytes object per batch, the same object written to every transport, no per-message await) and
waits while a client's write buffer is above the same high-water mark, so nobody is dropped.
`GET /status` gives the burst's state.

request: a minimal aiohttp handler that parses a form body and returns a fixed order JSON
(what `POST /fapi/v1/order` costs with no exchange behind it).
"""
from __future__ import annotations

import argparse
import asyncio
import struct
import time

import orjson
from aiohttp import web

HIGH_WATER = 256 * 1024  # bytes buffered for one client before the sender waits
BATCH_BARS = 256  # frames per write


def frame(payload: bytes) -> bytes:
    """exsim.wire.ws.frame, copied on purpose: the limit server runs no ExSim code."""
    n = len(payload)
    if n < 126:
        return b"\x81" + bytes((n,)) + payload
    if n < 65536:
        return b"\x81\x7e" + struct.pack("!H", n) + payload
    return b"\x81\x7f" + struct.pack("!Q", n) + payload


def kline_payload(i: int, t0: int = 1_704_067_200_000) -> bytes:
    """A kline message shaped and sized like ExSim's (what a real client parses)."""
    ts = t0 + i * 60_000
    p = 42000.0 + (i % 977) * 0.1
    return orjson.dumps({
        "e": "kline", "E": ts + 60_000, "s": "BTCUSDT",
        "k": {"s": "BTCUSDT", "t": ts, "T": ts + 59_999, "i": "1m", "f": 0, "L": 0, "o": f"{p:.2f}",
              "c": f"{p + 1:.2f}", "h": f"{p + 3:.2f}", "l": f"{p - 2:.2f}", "v": "183.123", "n": 1,
              "x": True, "q": "7692341.1234", "V": "91.561", "Q": "3846170.5617", "B": "0"}})


# --- fan-out limit ------------------------------------------------------------------------------

def fanout_app() -> web.Application:
    app = web.Application()
    transports: set = set()
    state = {"running": False, "sent": 0, "started": 0.0, "ended": 0.0}
    frames_cache: dict[int, list[bytes]] = {}

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, autoping=True)
        await ws.prepare(request)
        t = request.transport
        transports.add(t)
        try:
            async for _ in ws:
                pass
        finally:
            transports.discard(t)
        return ws

    async def burst(frames: list[bytes]) -> None:
        i, n = 0, len(frames)
        while i < n:
            # wait (without dropping anyone) while a client is behind
            while any(t.get_write_buffer_size() > HIGH_WATER for t in transports if not t.is_closing()):
                await asyncio.sleep(0.0005)
            j = min(i + BATCH_BARS, n)
            data = b"".join(frames[i:j])  # the only per-batch work: frames are pre-encoded
            for t in list(transports):
                if not t.is_closing():
                    t.write(data)
            state["sent"] += j - i
            i = j
            await asyncio.sleep(0)
        state["ended"] = time.perf_counter()
        state["running"] = False

    async def go(request: web.Request) -> web.Response:
        bars = int(request.query.get("bars", "100000"))
        if bars not in frames_cache:
            frames_cache.clear()
            frames_cache[bars] = [frame(kline_payload(i)) for i in range(bars)]
        state.update(running=True, sent=0, started=time.perf_counter(), ended=0.0)
        asyncio.get_running_loop().create_task(burst(frames_cache[bars]))
        return web.json_response({"ok": True, "clients": len(transports)})

    async def prepare(request: web.Request) -> web.Response:
        bars = int(request.query.get("bars", "100000"))
        frames_cache.clear()
        frames_cache[bars] = [frame(kline_payload(i)) for i in range(bars)]
        return web.json_response({"ok": True})

    async def status(request: web.Request) -> web.Response:
        return web.json_response({**state, "clients": len(transports)})

    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/ws/{streams:.+}", ws_handler)
    app.router.add_post("/go", go)
    app.router.add_post("/prepare", prepare)
    app.router.add_get("/status", status)
    return app


# --- request limit ------------------------------------------------------------------------------

ORDER_JSON = orjson.dumps({
    "orderId": 1, "symbol": "BTCUSDT", "status": "NEW", "clientOrderId": "x-1", "price": "0.00",
    "avgPrice": "0.00", "origQty": "0.001", "executedQty": "0.000", "cumQty": "0.000",
    "cumQuote": "0.00000", "timeInForce": "GTC", "type": "MARKET", "reduceOnly": False,
    "closePosition": False, "side": "BUY", "positionSide": "BOTH", "stopPrice": "0.00",
    "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": "MARKET", "priceMatch": "NONE",
    "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0, "updateTime": 1704067260000})


def request_app() -> web.Application:
    app = web.Application()

    async def order(request: web.Request) -> web.Response:
        form = await request.post()
        if "symbol" not in form:
            return web.json_response({"code": -1102, "msg": "missing symbol"}, status=400)
        return web.Response(body=ORDER_JSON, content_type="application/json")

    async def time_(request: web.Request) -> web.Response:
        return web.json_response({"serverTime": int(time.time() * 1000)})

    app.router.add_post("/fapi/v1/order", order)
    app.router.add_get("/fapi/v1/time", time_)
    app.router.add_get("/fapi/v1/ping", lambda r: _empty())
    return app


async def _empty() -> web.Response:
    return web.json_response({})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=("fanout", "request"))
    ap.add_argument("--port", type=int, required=True)
    ns = ap.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    app = fanout_app() if ns.kind == "fanout" else request_app()
    web.run_app(app, host="127.0.0.1", port=ns.port, access_log=None, print=None,
                handle_signals=True, shutdown_timeout=1.0)


if __name__ == "__main__":
    main()

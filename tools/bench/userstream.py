"""User-data stream load, measured from a client process (aiohttp), against a running gateway.

`latency(port, n)`: one account, one listenKey socket, n MARKET orders one after another; per
order the time from sending the request to the ORDER_TRADE_UPDATE (x=TRADE) frame on the socket,
and to the REST response. The frame is written before the response, so frame <= response.

`many_accounts(port, keys, rate, seconds)`: every API key opens its listenKey socket; orders go
out at `rate` per second in total, round-robin over the accounts (signed, auth = "verify"); at
the end every account's stream must hold, in order, NEW then TRADE for each of its orders, with
trade ids increasing: nothing lost, nothing reordered. Returns order round-trip percentiles.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import multiprocessing as mp
import time
import urllib.parse

import orjson


def _pct(times: list[float], q: float) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, int(q * len(times)))] if times else 0.0


def _signed(params: dict, secret: str) -> str:
    params = {**params, "timestamp": int(time.time() * 1000), "recvWindow": 60000}
    query = urllib.parse.urlencode(params)
    sig = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={sig}"


async def _latency(port: int, n: int) -> dict:
    import aiohttp
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        key = (await (await s.post(f"{base}/fapi/v1/listenKey")).json())["listenKey"]
        async with s.ws_connect(f"ws://127.0.0.1:{port}/ws/{key}") as ws:
            frames, responses = [], []
            for i in range(n + 20):
                body = f"symbol=BTCUSDT&side={'BUY' if i % 2 else 'SELL'}&type=MARKET&quantity=0.01"
                t0 = time.perf_counter()
                resp_task = asyncio.ensure_future(s.post(f"{base}/fapi/v1/order", data=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded"}))
                t_frame = None
                while t_frame is None:
                    msg = orjson.loads((await asyncio.wait_for(ws.receive(), 10)).data)
                    if msg.get("e") == "ORDER_TRADE_UPDATE" and msg["o"]["x"] == "TRADE":
                        t_frame = time.perf_counter()
                resp = await resp_task
                await resp.read()
                t_resp = time.perf_counter()
                if i >= 20:  # warm-up done
                    frames.append((t_frame - t0) * 1000)
                    responses.append((t_resp - t0) * 1000)
    return {"n": n, "frame_p50_ms": _pct(frames, 0.5), "frame_p99_ms": _pct(frames, 0.99),
            "response_p50_ms": _pct(responses, 0.5), "response_p99_ms": _pct(responses, 0.99)}


def latency(port: int, n: int) -> dict:
    return asyncio.run(_latency(port, n))


async def _many(port: int, keys: list[tuple[str, str]], rate: float, seconds: float) -> dict:
    import aiohttp
    base = f"http://127.0.0.1:{port}"
    conn = aiohttp.TCPConnector(limit=0)  # the 100 sockets hold connections of their own
    async with aiohttp.ClientSession(connector=conn) as s:
        streams = {}
        for key, _ in keys:
            lk = (await (await s.post(f"{base}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": key})).json())["listenKey"]
            streams[key] = await s.ws_connect(f"ws://127.0.0.1:{port}/ws/{lk}")
        got: dict[str, list] = {key: [] for key, _ in keys}

        async def reader(key: str, ws) -> None:
            async for msg in ws:
                got[key].append(orjson.loads(msg.data))

        readers = [asyncio.ensure_future(reader(k, ws)) for k, ws in streams.items()]
        times, errors, placed = [], [], {key: [] for key, _ in keys}

        async def one(i: int) -> None:
            key, secret = keys[i % len(keys)]
            body = _signed({"symbol": "BTCUSDT", "side": "BUY" if (i // len(keys)) % 2 else "SELL",
                            "type": "MARKET", "quantity": "0.01"}, secret)  # notional >= 100 at any synthetic price
            t0 = time.perf_counter()
            async with s.post(f"{base}/fapi/v1/order", data=body, headers={
                    "X-MBX-APIKEY": key, "Content-Type": "application/x-www-form-urlencoded"}) as r:
                res = await r.json()
            times.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                errors.append(res)
            else:
                placed[key].append(res["orderId"])

        tasks, started, i = [], time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            due = int((time.perf_counter() - started) * rate)
            while i < due:
                tasks.append(asyncio.ensure_future(one(i)))
                i += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        # every event of every order has been written before its response: one more loop turn
        # of the readers and the streams are complete
        await asyncio.sleep(0.2)
        lost = reordered = 0
        for key, _ in keys:
            seen: dict[int, list[str]] = {}
            last_trade = 0
            for m in got[key]:
                if m.get("e") != "ORDER_TRADE_UPDATE":
                    continue
                o = m["o"]
                seen.setdefault(o["i"], []).append(o["x"])
                if o["x"] == "TRADE":
                    reordered += o["t"] <= last_trade
                    last_trade = o["t"]
            for oid in placed[key]:
                lost += seen.get(oid) != ["NEW", "TRADE"]
        for ws in streams.values():
            await ws.close()
        for r in readers:
            r.cancel()
    return {"orders": len(times), "orders_per_sec": len(times) / elapsed, "errors": len(errors),
            "first_error": errors[0] if errors else None, "p50_ms": _pct(times, 0.5), "p99_ms": _pct(times, 0.99),
            "events_lost": lost, "events_reordered": reordered, "accounts": len(keys)}


def _many_worker(port, keys, rate, seconds, out) -> None:
    out.put(asyncio.run(_many(port, keys, rate, seconds)))


def many_accounts(port: int, keys: list[tuple[str, str]], rate: float, seconds: float) -> dict:
    """In a worker process, so this process's own work does not slow the load."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_many_worker, args=(port, keys, rate, seconds, out))
    p.start()
    try:
        return out.get(timeout=seconds + 120)
    finally:
        p.join(10)
        if p.is_alive():
            p.kill()

"""WebSocket API order round trip (issue 19): `order.place` over /ws-fapi/v1 next to
POST /fapi/v1/order, same gateway, same run.

    python tools/bench/ws_api_rtt.py [--seconds S] [--data-dir DIR] [--signed]

One connection each, one MARKET order in flight at a time (BUY and SELL alternating, each with
a newClientOrderId), for `seconds`: the time from writing a request to reading its whole answer.
REST uses httpload's hand-written client; the WebSocket API client here is written the same
way (an asyncio Protocol: upgrade, masked text frames out, frame headers parsed in, no
WebSocket library), in a worker process of its own, so both measure the server rather than the
client. With --signed the gateway runs with auth = "verify" and both clients sign each order.

From run.py: `self.timed("ws api", ws_api_rtt.scenario, self, gw, Row)` (in the "order" block).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
import httpload  # noqa: E402
from benchlib import DAY_MS, T0  # noqa: E402

PATH = "/ws-fapi/v1"
API_KEY, API_SECRET = "bench" + "k" * 59, "bench" + "s" * 59  # run.py's bench key
AUTH_TOML = f'auth = "verify"\n[[api_keys]]\nkey = "{API_KEY}"\nsecret = "{API_SECRET}"\n'


def _mask(payload: bytes) -> bytes:
    """A client text frame (FIN, masked with a zero key: the XOR is the identity)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    elif n < 65536:
        head = bytes((0x81, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0xFF)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


class _WsConn(asyncio.Protocol):
    def __init__(self, load: "_WsLoad", request: bytes) -> None:
        self.load, self.request = load, request
        self.buf = bytearray()
        self.transport = None
        self.opened = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.sent_at = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        for f in (self.opened, self.closed):
            if not f.done():
                f.set_result(None)
        if exc is not None:
            self.load.errors.append(f"connection lost: {exc!r}")

    def send(self) -> None:
        self.sent_at = time.perf_counter()
        self.transport.write(self.load.request())

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        i = 0
        if not self.opened.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.load.errors.append(bytes(buf[:80]).decode("latin-1"))
                self.transport.close()
                return
            self.opened.set_result(True)
            i = end + 4
        n = len(buf)
        while n - i >= 2:
            ln = buf[i + 1] & 0x7F
            head = 2
            if ln == 126:
                if n - i < 4:
                    break
                ln, head = (buf[i + 2] << 8) | buf[i + 3], 4
            elif ln == 127:
                if n - i < 10:
                    break
                ln, head = int.from_bytes(buf[i + 2:i + 10], "big"), 10
            end = i + head + ln
            if end > n:
                break
            op = buf[i] & 0x0F
            if op == 1:
                self.load.done(self, b'"status":200' in buf[i + head:end])
            elif op == 9:  # ping -> masked pong
                payload = bytes(buf[i + head:end])
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
            i = end
        del buf[:i]


class _WsLoad:
    def __init__(self, port: int, seconds: float, key: Optional[str], secret: Optional[str]) -> None:
        self.port, self.seconds = port, seconds
        self.key, self.secret = key, secret.encode() if secret else None
        self.n = self.ok = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop_at = 0.0

    def request(self) -> bytes:
        self.n += 1
        params = {"newClientOrderId": f"bench-{self.n}", "quantity": "0.003",
                  "side": "SELL" if self.n % 2 else "BUY", "symbol": "BTCUSDT", "type": "MARKET"}
        if self.secret is not None:
            params["apiKey"] = self.key
            params["timestamp"] = int(time.time() * 1000)
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
            params["signature"] = hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()
        msg = {"id": self.n, "method": "order.place", "params": params}
        return _mask(json.dumps(msg, separators=(",", ":")).encode())

    def done(self, conn: _WsConn, ok: bool) -> None:
        now = time.perf_counter()
        self.ok += ok
        self.latencies.append(now - conn.sent_at)
        if now < self.stop_at:
            conn.send()
        else:
            conn.transport.close()

    async def run(self) -> dict:
        key = base64.b64encode(os.urandom(16)).decode()
        upgrade = (f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: _WsConn(self, upgrade), "127.0.0.1", self.port)
        await conn.opened
        if self.errors:
            return {"requests": 0, "ok": 0, "errors": self.errors[:5]}
        started = time.perf_counter()
        self.stop_at = started + self.seconds
        conn.send()
        await asyncio.wait_for(conn.closed, self.seconds + 30)
        elapsed = time.perf_counter() - started
        lat = sorted(self.latencies)
        pick = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: None)
        return {"requests": len(lat), "ok": self.ok, "seconds": elapsed, "per_sec": len(lat) / elapsed,
                "p50_ms": pick(0.5), "p99_ms": pick(0.99), "errors": self.errors[:5]}


def _worker(conn, port, seconds, key, secret) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    conn.send(asyncio.run(_WsLoad(port, seconds, key, secret).run()))


def ws_run(port: int, seconds: float = 3.0, key: Optional[str] = None, secret: Optional[str] = None) -> dict:
    """The WebSocket API load in a worker process; its figures (like httpload.run)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_worker, args=(child, port, seconds, key, secret), daemon=True)
    proc.start()
    deadline = time.monotonic() + seconds + 90
    while not parent.poll(0.2):
        if not proc.is_alive() or time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"WebSocket API load worker ended without a result (exit code {proc.exitcode})")
    result = parent.recv()
    proc.join(10)
    return result


def compare(port: int, seconds: float, signed: bool = False) -> tuple[dict, dict]:
    """(REST, WS API) round trips on one paused gateway, REST first, each on a fresh run."""
    key, secret = (API_KEY, API_SECRET) if signed else (None, None)
    out = []
    for measure in (lambda: httpload.run(port, 1, seconds, key=key, secret=secret),
                    lambda: ws_run(port, seconds, key, secret)):
        benchlib.http(port, "POST", "/admin/replay", {"speed_bars_per_sec": 0, "restart": True, "start": T0,
                                                      "end": T0 + 400 * DAY_MS})
        out.append(measure())
    return out[0], out[1]


def scenario(suite, gw: benchlib.Server, row_cls) -> None:
    """run.py's scenario: two rows, WS API p50 and p99, each with REST's as the baseline."""
    rest, wsapi = compare(gw.port, 1.0 if suite.quick else 4.0)
    lag = suite.lag(gw, "orders idle, WS API")
    suite.add(row_cls("MARKET order round trip p50, idle (WS API order.place)", wsapi["p50_ms"], "ms", "(info)", None,
                      baseline=rest["p50_ms"], ratio=wsapi["p50_ms"] / rest["p50_ms"],
                      detail={"ws_api": wsapi, "rest": rest, "lag_ms": lag}))
    suite.add(row_cls("MARKET order round trip p99, idle (WS API order.place)", wsapi["p99_ms"], "ms", "(info)", None,
                      baseline=rest["p99_ms"], ratio=wsapi["p99_ms"] / rest["p99_ms"]))


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="seconds of orders per client")
    ap.add_argument("--signed", action="store_true", help='auth = "verify": both clients sign every order')
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "exsim-bench-data"))
    ns = ap.parse_args(argv)
    os.makedirs(ns.data_dir, exist_ok=True)
    db = benchlib.make_dataset(os.path.join(ns.data_dir, "bench-ws-api-30d.duckdb"), 30)
    work = tempfile.mkdtemp(prefix="exsim-bench-ws-api-")
    try:
        with benchlib.gateway(db, work, AUTH_TOML if ns.signed else "") as gw:
            rest, wsapi = compare(gw.port, ns.seconds, ns.signed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    label = "signed" if ns.signed else "auth off"
    print(f"MARKET order round trip, 1 connection, idle, {label}, {ns.seconds:g} s each:")
    for name, r in (("REST POST /fapi/v1/order", rest), ("WS API order.place", wsapi)):
        print(f"  {name:26s} p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
              f"({r['requests']} orders, {r['ok']} ok{', errors: ' + str(r['errors']) if r['errors'] else ''})")
    print(f"  WS API / REST: p50 {wsapi['p50_ms'] / rest['p50_ms']:.2f}x, p99 {wsapi['p99_ms'] / rest['p99_ms']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

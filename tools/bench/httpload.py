"""HTTP load: `conns` keep-alive connections in a worker process, each sending one request,
reading the answer, sending the next, for `seconds`. Requests are written by hand and answers
parsed by their headers only (an asyncio Protocol, no HTTP library), so the generator costs
the server's core little and the server is what gets measured.

Orders alternate BUY and SELL so the position stays small and carry a newClientOrderId as
python-binance's do; with `key`/`secret` every body carries a fresh timestamp and its
HMAC-SHA256 signature (auth = "verify").
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import multiprocessing as mp
import time
from typing import Optional


class _Conn(asyncio.Protocol):
    def __init__(self, owner: "_Load") -> None:
        self.owner = owner
        self.buf = bytearray()
        self.transport = None
        self.sent_at = 0.0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.owner.errors.append(f"connection lost: {exc!r}")

    def send(self) -> None:
        self.sent_at = time.perf_counter()
        self.transport.write(self.owner.request())

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            i = buf.find(b"Content-Length: ", 0, end)  # aiohttp's spelling
            if i < 0:
                i = bytes(buf[:end]).lower().find(b"content-length: ")
            length = int(buf[i + 16:buf.find(b"\r\n", i)]) if i >= 0 else 0
            if len(buf) < end + 4 + length:
                return
            status = int(buf[9:12])
            del buf[:end + 4 + length]
            self.owner.done(self, status)


class _Load:
    def __init__(self, port: int, path: str, body: str, key: Optional[str], secret: Optional[str],
                 seconds: float) -> None:
        self.port, self.path, self.body = port, path, body
        self.key, self.secret = key, secret.encode() if secret else None
        self.seconds = seconds
        self.n = 0
        self.ok = 0
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop_at = 0.0
        self.running = True
        # the request is a template filled per send: a cheap client leaves the core to the server
        self.bodies = [body.replace("{side}", side).replace("{n}", "%d") for side in ("SELL", "BUY")]
        key = f"X-MBX-APIKEY: {key}\r\n" if key else ""
        self.head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{key}Content-Type: "
                     "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n").encode()

    def request(self) -> bytes:
        self.n += 1
        body = (self.bodies[self.n % 2] % self.n).encode()
        if self.secret is not None:
            body += b"&timestamp=%d" % int(time.time() * 1000)
            body += b"&signature=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest().encode()
        return self.head % len(body) + body

    def done(self, conn: _Conn, status: int) -> None:
        now = time.perf_counter()
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.ok += 1
        self.latencies.append(now - conn.sent_at)
        if now < self.stop_at:
            conn.send()
        else:
            conn.transport.close()

    async def run(self, conns: int) -> dict:
        loop = asyncio.get_running_loop()
        protos = []
        for _ in range(conns):
            _, proto = await loop.create_connection(lambda: _Conn(self), "127.0.0.1", self.port)
            protos.append(proto)
        started = time.perf_counter()
        self.cpu0 = time.process_time()
        self.stop_at = started + self.seconds
        for proto in protos:
            proto.send()
        await asyncio.wait([p.closed for p in protos], timeout=self.seconds + 30)
        elapsed = time.perf_counter() - started
        lat = sorted(self.latencies)
        pick = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: None)
        errors = [e for e in self.errors if "connection lost: None" not in e]
        return {"requests": len(lat), "ok": self.ok, "seconds": elapsed, "per_sec": len(lat) / elapsed,
                "client_cpu": (time.process_time() - self.cpu0) / elapsed,
                "ok_per_sec": self.ok / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99),
                "statuses": self.statuses, "errors": errors[:5]}


def _worker(conn, port, path, body, key, secret, seconds, conns) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    result = asyncio.run(_Load(port, path, body, key, secret, seconds).run(conns))
    conn.send(result)


def run(port: int, conns: int = 50, seconds: float = 3.0, key: Optional[str] = None,
        secret: Optional[str] = None, path: str = "/fapi/v1/order",
        body: str = "symbol=BTCUSDT&side={side}&type=MARKET&quantity=0.003&newClientOrderId=bench-{n}") -> dict:
    """Run the load in a worker process and return its figures."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_worker, args=(child, port, path, body, key, secret, seconds, conns), daemon=True)
    proc.start()
    deadline = time.monotonic() + seconds + 90
    while not parent.poll(0.2):
        if not proc.is_alive() or time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"HTTP load worker ended without a result (exit code {proc.exitcode})")
    result = parent.recv()
    proc.join(10)
    return result

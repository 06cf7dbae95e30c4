"""WebSocket load: N clients in a worker process, counting what they receive.

Two kinds of client: "aiohttp" (aiohttp's ClientSession.ws_connect, every message decoded
and handed to Python as a real bot would get it) and "raw" (an asyncio Protocol that does
the HTTP upgrade itself and only walks frame headers: a client as fast as a compiled one,
so the server, not the client, is what gets measured).

The parent starts `Clients(...)` (a multiprocessing worker), waits for `ready()`, triggers the
burst on the server itself, then `wait()`s for the result: per client the number of messages,
and the wall time (time.perf_counter, system-wide monotonic on Linux) at which every client had
received the `expect` messages it was waiting for. Each client checks the first and last kline
it got (open times `first_t` and `last_t`) so "every bar once and in order" is verified at
the ends as well as by the exact count; with `verify=True` every message is parsed and the open
times must follow one another by `step_ms`.
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from typing import Optional

import orjson


def _kline_t(data) -> Optional[int]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if "data" in obj and isinstance(obj["data"], dict):
        obj = obj["data"]
    k = obj.get("k") if isinstance(obj, dict) else None
    return k.get("t") if isinstance(k, dict) else None


class _Ends:
    """Per-client bookkeeping shared by both kinds of client."""

    def __init__(self, n: int, expect: int, first_t, last_t, step_ms: int, verify: bool) -> None:
        self.counts = [0] * n
        self.bad = [0] * n
        self.done_at = [0.0] * n
        self.prev: list[Optional[int]] = [None] * n
        self.expect, self.first_t, self.last_t, self.step_ms, self.verify = expect, first_t, last_t, step_ms, verify
        self.remaining = n
        self.all_done = asyncio.Event()
        self.errors: list[str] = []
        if n == 0:
            self.all_done.set()

    def check(self, i: int, c: int, data) -> None:
        """Message number c (1-based) of client i, when it is one that gets looked at."""
        t = _kline_t(data)
        if c == 1 and self.first_t is not None and t != self.first_t:
            self.bad[i] += 1
        if c == self.expect and self.last_t is not None and t != self.last_t:
            self.bad[i] += 1
        if self.verify and self.prev[i] is not None and (t is None or t - self.prev[i] != self.step_ms):
            self.bad[i] += 1
        self.prev[i] = t

    def done(self, i: int, c: int) -> None:
        self.counts[i] = c
        if c == self.expect:
            self.done_at[i] = time.perf_counter()
        self.remaining -= 1
        if self.remaining == 0:
            self.all_done.set()


class _RawClient(asyncio.Protocol):
    """A minimal WebSocket client: upgrade, then count text frames by their headers."""

    def __init__(self, ends: _Ends, i: int, request: bytes) -> None:
        self.ends, self.i, self.request = ends, i, request
        self.buf = bytearray()
        self.opened = asyncio.get_running_loop().create_future()
        self.count = 0
        self.transport = None
        self.finished = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the upgrade"))
        if not self.finished:
            self.finished = True
            self.ends.errors.append(f"client {self.i} closed after {self.count} messages")
            self.ends.done(self.i, self.count)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        i = 0
        if not self.opened.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(bytes(buf[:80]).decode("latin-1")))
                self.transport.close()
                return
            self.opened.set_result(True)
            i = end + 4
        n = len(buf)
        ends, expect, verify = self.ends, self.ends.expect, self.ends.verify
        c = self.count
        while n - i >= 2:
            ln = buf[i + 1] & 0x7F
            if ln < 126:
                head = 2
            elif ln == 126:
                if n - i < 4:
                    break
                ln, head = (buf[i + 2] << 8) | buf[i + 3], 4
            else:
                if n - i < 10:
                    break
                ln, head = int.from_bytes(buf[i + 2:i + 10], "big"), 10
            end = i + head + ln
            if end > n:
                break
            op = buf[i] & 0x0F
            if op == 1:
                c += 1
                if verify or c == 1 or c == expect:
                    ends.check(self.i, c, bytes(buf[i + head:end]))
                if c == expect and not self.finished:
                    self.finished = True
                    ends.done(self.i, c)
                elif c > expect:
                    ends.counts[self.i] = c
            elif op == 9:  # ping: answer with a (masked, as a client must) pong
                payload = bytes(buf[i + head:end])
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
            i = end
        self.count = c
        del buf[:i]


async def _connect_raw(ends: _Ends, i: int, port: int, path: str) -> _RawClient:
    import base64
    import os

    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: _RawClient(ends, i, request), "127.0.0.1", port)
    await proto.opened
    return proto


async def _main(conn, kind: str, port: int, path: str, n: int, expect: int, first_t: Optional[int],
                last_t: Optional[int], step_ms: int, verify: bool, timeout: float) -> None:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    ends = _Ends(n, expect, first_t, last_t, step_ms, verify)
    sockets: list = []
    readers: list = []

    async def read(i: int, ws) -> None:
        c = 0
        try:
            async for msg in ws:
                c += 1
                if verify or c == 1 or c == expect:
                    ends.check(i, c, msg.data)
                if c == expect:
                    ends.done(i, c)
                elif c > expect:
                    ends.counts[i] = c  # a duplicate or a stray message
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            ends.errors.append(repr(exc))
        if c < expect:
            ends.errors.append(f"client {i} closed after {c} messages (code {ws.close_code})")
            ends.done(i, c)

    async def connect(i: int) -> None:
        try:
            if kind == "raw":
                sockets.append(await _connect_raw(ends, i, port, path))
            else:
                ws = await session.ws_connect(f"http://127.0.0.1:{port}{path}", max_msg_size=0,
                                              autoping=True, heartbeat=None)
                sockets.append(ws)
                readers.append(asyncio.ensure_future(read(i, ws)))
        except Exception as exc:  # noqa: BLE001
            ends.errors.append(f"connect: {exc!r}")

    for first in range(0, n, 50):  # in waves: the server's listen backlog is finite
        await asyncio.gather(*(connect(i) for i in range(first, min(n, first + 50))))
    loop = asyncio.get_running_loop()
    conn.send(("ready", len(sockets), ends.errors[:5]))
    stop = asyncio.Event()  # the parent may end the wait early (`Clients.stop()`)
    loop.add_reader(conn.fileno(), stop.set)
    waits = [asyncio.ensure_future(ends.all_done.wait()), asyncio.ensure_future(stop.wait())]
    done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    loop.remove_reader(conn.fileno())
    for w in waits:
        w.cancel()
    if not done:
        ends.errors.append(f"timeout after {timeout:.0f} s")
    elif stop.is_set() and not ends.all_done.is_set():
        conn.recv()
        ends.errors.append("stopped by the parent")
    finished = time.perf_counter()
    await asyncio.sleep(0.2)  # anything after the expected count is an error
    counts, done_at = ends.counts, ends.done_at
    result = {
        "clients": len(sockets), "expect": expect, "min": min(counts) if counts else 0,
        "max": max(counts) if counts else 0, "bad": sum(ends.bad),
        "done_at": max(done_at) if done_at and all(done_at) else None,
        "finished": finished, "errors": ends.errors[:5], "n_errors": len(ends.errors),
    }
    # report first, then wait for the parent's word to hang up: it reads the server's figures
    # (loop lag) before 500 clients disconnecting at once add their own load
    await loop.run_in_executor(None, conn.send, ("result", result))
    await loop.run_in_executor(None, conn.poll, 60)
    for r in readers:
        r.cancel()
    if kind == "raw":
        for proto in sockets:
            proto.finished = True
            proto.transport.close()
    else:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await session.close()


def _worker(conn, *args) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(_main(conn, *args))


class Clients:
    """A worker process holding `n` WebSocket clients (`kind` "aiohttp" or "raw") of `path`
    on 127.0.0.1:`port`, each expecting `expect` messages."""

    def __init__(self, port: int, path: str, n: int, expect: int, first_t: Optional[int] = None,
                 last_t: Optional[int] = None, step_ms: int = 60_000, verify: bool = False,
                 timeout: float = 120.0, kind: str = "aiohttp") -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, daemon=True,
                                args=(child, kind, port, path, n, expect, first_t, last_t, step_ms, verify,
                                      timeout))
        self.proc.start()
        self.timeout = timeout

    def _poll(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.conn.poll(0.2):
            if not self.proc.is_alive():
                raise RuntimeError(f"WebSocket client worker died (exit code {self.proc.exitcode})")
            if time.monotonic() > deadline:
                raise RuntimeError("WebSocket client worker did not answer in time")

    def ready(self, timeout: float = 120.0) -> int:
        self._poll(timeout)
        kind, connected, errors = self.conn.recv()
        if errors:
            raise RuntimeError(f"WebSocket clients failed to connect: {errors}")
        return connected

    def wait(self) -> dict:
        self._poll(self.timeout + 30)
        kind, result = self.conn.recv()
        return result

    def stop(self) -> dict:
        """End the wait now (clients that expect more than will come) and return the result."""
        self.conn.send("stop")
        return self.wait()

    def kill(self) -> None:
        """End the worker now, whatever its clients still have to read."""
        self.proc.kill()
        self.proc.join(10)

    def close(self) -> None:
        """Hang up (after wait() or stop()) and end the worker."""
        try:
            self.conn.send("close")
        except (OSError, ValueError):
            pass
        self.proc.join(30)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)

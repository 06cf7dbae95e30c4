"""WebSocket connections, Binance style, and the fan-out that feeds them.

Each replayed tick becomes one payload per subscribed stream, encoded once (the builders are
in streams.py). At the end of a
clock batch `flush()` frames a stream's payloads into one bytes object (one for raw `/ws`
clients, one for combined `{"stream","data"}` clients) and writes that same object to every
subscriber's transport: one write per client per stream per batch, no await, no gather.

Backpressure: a client's outbox is its transport's write buffer. When it grows past
`ws.max_outbox_bytes` the client is dropped (logged, counted in /admin/status); at a set speed
the clock never waits for anyone. At "max" speed there is no pace to keep, so the clock waits
instead while a subscriber is more than a quarter of that behind (`backlogged()`): every client
gets every bar. One that makes no progress for `STALL_SECONDS` is dropped, so a dead client
cannot hold up the replay, and a batch's bytes are bounded (`batch_full()`) so that one flush
never overflows an outbox nor stalls the loop copying into many sockets.

Hot path (one kline subscriber is the common case): a batch's frames are joined once per
stream and client kind.
"""
from __future__ import annotations

import logging
import re
import struct
import time
from typing import Optional

import orjson
from aiohttp import WSMsgType, web

from ..config import Config
from ..engine.events import MarketListener
from ..engine.sim import Sim
from .keys import CONFIG, FANOUT
from .rolling import Rolling24h
from .streams import Builder, Payloads

log = logging.getLogger("exsim.ws")
_LISTEN_KEY = re.compile(r"^[0-9a-zA-Z]{32,80}$")
STALL_SECONDS = 10.0  # "max" speed: a client this long above the high-water mark is dropped
FLUSH_BYTES = 4 * 1024 * 1024  # a batch's bytes times its subscriptions, at most (one flush's copying)
FLUSH_WRITES = 64  # client writes per loop turn (see flush_some)
_HEADS: dict[int, bytes] = {}  # frame header by payload length (< 65536)


def frame(payload: bytes) -> bytes:
    """A server-to-client text frame (FIN, unmasked)."""
    n = len(payload)
    if n < 126:
        return b"\x81" + bytes((n,)) + payload
    if n < 65536:
        return b"\x81\x7e" + struct.pack("!H", n) + payload
    return b"\x81\x7f" + struct.pack("!Q", n) + payload


def frames(payloads: list[bytes], head: bytes = b"", tail: bytes = b"") -> bytes:
    """`frame(head + p + tail)` for every payload, joined: what one flush writes."""
    parts: list[bytes] = []
    add = parts.append
    extra = len(head) + len(tail)
    for p in payloads:
        n = len(p) + extra
        h = _HEADS.get(n)
        if h is None:
            if n >= 65536:
                add(frame(head + p + tail))
                continue
            h = _HEADS[n] = frame(b"\0" * n)[:-n or None]
        add(h)
        if extra:
            add(head)
            add(p)
            add(tail)
        else:
            add(p)
    return b"".join(parts)


class Client:
    __slots__ = ("ws", "transport", "combined", "streams", "closed", "msg_times", "__weakref__")

    def __init__(self, ws: web.WebSocketResponse, transport, combined: bool) -> None:
        self.ws = ws
        self.transport = transport
        self.combined = combined
        self.streams: set[str] = set()
        self.closed = False
        self.msg_times: list[float] = []


class Fanout(MarketListener):
    def __init__(self, sim: Sim, cfg: Config) -> None:
        self.sim = sim
        self.cfg = cfg
        self.max_outbox = cfg.ws.max_outbox_bytes
        self.clients: set[Client] = set()
        self.subs: dict[str, set[Client]] = {}
        self.builders: dict[str, Builder] = {}
        self.pending: dict[str, list[bytes]] = {}
        self.active = False
        self.dropped = 0
        self.messages_sent = 0
        self.bars_in_bulk = 0  # closed bars queued by on_bars (runs) rather than on_tick
        self._batch_bytes = 0  # payload bytes produced since the last flush
        self._n_subs = 0  # (client, stream) subscriptions: writes per flush, at most
        self._emit: list[tuple] = []  # (pending[stream].append, builder) of every built stream
        self._stalled_since: Optional[float] = None
        self._writes: list[tuple[Client, bytes]] = []  # queued by flush_some(), in order
        self._write_i = 0
        self.payloads = Payloads(sim, cfg)
        self._known = self.payloads.stream_table()

    # --- stream names ---------------------------------------------------------------------

    def resolve(self, name: str) -> Optional[str]:
        """Binance's spelling of a stream name, or None when this replay never produces it."""
        known = self._known.get(name.strip().lower())
        if known is not None:
            return known[0]
        if _LISTEN_KEY.match(name):  # listenKeys: the user-data stream is on the roadmap
            return name
        return None

    # --- membership -----------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def subscribe(self, client: Client, stream: str) -> None:
        client.streams.add(stream)
        self.subs.setdefault(stream, set()).add(client)
        known = self._known.get(stream.lower())
        if known is not None:
            self.builders[stream] = known[1]
            self.pending.setdefault(stream, [])
        if stream.lower().endswith("ticker") or "miniticker" in stream.lower():
            self.payloads.rolling = self.payloads.rolling or Rolling24h()
        self._membership_changed()

    def unsubscribe(self, client: Client, stream: str) -> None:
        client.streams.discard(stream)
        subs = self.subs.get(stream)
        if subs is not None:
            subs.discard(client)
            if not subs:
                del self.subs[stream]
                self.builders.pop(stream, None)
                self.pending.pop(stream, None)
        self._membership_changed()

    def _membership_changed(self) -> None:
        self.active = bool(self.builders)
        self._n_subs = sum(len(s) for s in self.subs.values())
        kline = self.payloads.kline
        self.takes_bulk = self.active and all(b is kline for b in self.builders.values())
        # a run's bytes times its subscribers within one flush's budget (~400 bytes a framed
        # kline): 256 bars for one client, 16 for 500 (bigger stalled the loop ~80 ms)
        self.bulk_step = max(16, min(256, FLUSH_BYTES // (max(1, self._n_subs) * 512)))
        self._emit = [(self.pending[s].append, build) for s, build in self.builders.items()]

    def remove(self, client: Client) -> None:
        for stream in list(client.streams):
            self.unsubscribe(client, stream)
        self.clients.discard(client)
        client.closed = True

    # --- sending --------------------------------------------------------------------------

    def send(self, client: Client, data: bytes) -> None:
        t = client.transport
        if client.closed or t is None or t.is_closing():
            return
        t.write(data)
        if t.get_write_buffer_size() > self.max_outbox:
            self.drop(client, "outbox full")

    def drop(self, client: Client, why: str) -> None:
        if client.closed:
            return
        self.dropped += 1
        log.warning("dropping WebSocket client (%s): %d bytes unsent", why,
                    client.transport.get_write_buffer_size() if client.transport else 0)
        self.remove(client)
        if client.transport is not None:
            client.transport.abort()

    def reply(self, client: Client, obj: object) -> None:
        self.send(client, frame(orjson.dumps(obj)))

    def on_tick(self, ts: int, o: int, h: int, l: int, c: int, v: float, final: bool) -> None:
        now = self.sim.sim_time
        rolling = self.payloads.rolling
        if rolling is not None and final:
            rolling.add(ts, o, h, l, v, v * self.sim.market.inst.price.to_float(c))
        size = 0
        for add, build in self._emit:
            payload = build(ts, o, h, l, c, v, final, now)
            if payload is not None:
                add(payload)
                size += len(payload)
        self._batch_bytes += size

    def on_chunk(self, chunk) -> None:
        self.payloads.on_chunk(chunk)

    def on_bars(self, chunk, i: int, j: int) -> bool:
        """A run of closed bars for kline subscribers only: their payloads were made by the
        reader, so the run is queued with one list slice instead of a call per bar."""
        if not self.takes_bulk or self.payloads.rolling is not None:  # 24h stats see every bar
            return False
        texts = self.payloads.ready_klines(chunk, i, j)
        if texts is None:
            return False
        for stream in self.builders:  # the kline stream (under each spelling subscribed)
            self.pending[stream].extend(texts)
        self._batch_bytes += sum(map(len, texts))
        self.bars_in_bulk += j - i
        return True

    def batch_full(self) -> bool:
        """The clock ends a batch here: flushing more at once would put more than a quarter of
        an outbox into one client, or copy more than FLUSH_BYTES into sockets in one go."""
        b = self._batch_bytes
        return b > self.max_outbox // 4 or b * self._n_subs > FLUSH_BYTES

    def backlogged(self) -> bool:
        """True while a subscriber has more than a quarter of ws.max_outbox_bytes unsent: at
        "max" speed the clock waits for it. Ones stuck that far behind for STALL_SECONDS are
        dropped (a client that stopped reading must not stop the replay)."""
        high = self.max_outbox // 4
        behind = None
        for client in self.clients:
            t = client.transport
            if client.streams and t is not None and t.get_write_buffer_size() > high and not t.is_closing():
                behind = behind or []
                behind.append(client)
        if behind is None:
            self._stalled_since = None
            return False
        now = time.monotonic()
        if self._stalled_since is None:
            self._stalled_since = now
        elif now - self._stalled_since > STALL_SECONDS:
            for client in behind:
                self.drop(client, f"no progress for {STALL_SECONDS:.0f} s at max speed")
            self._stalled_since = None
            return False
        return True

    def flush(self) -> None:
        """Send everything: what an earlier flush_some() left, then this batch."""
        while self._write_next():
            pass
        self._queue_batch()
        while self._write_next():
            pass

    def flush_some(self) -> bool:
        """The clock's flush: at most FLUSH_WRITES client writes per call, so a batch for many
        clients is spread over loop turns (500 sends in one go held the loop ~10 ms). True
        while writes remain: call again (after yielding) before the next batch."""
        if self._write_i >= len(self._writes):
            self._queue_batch()
        return self._write_next()

    def _queue_batch(self) -> None:
        """Frame each stream's payloads once (per client kind) and queue (client, bytes)."""
        self._batch_bytes = 0
        writes = self._writes
        for stream, payloads in self.pending.items():
            if not payloads:
                continue
            raw = combined = None
            for client in self.subs.get(stream, ()):
                if client.combined:
                    if combined is None:
                        combined = frames(payloads, b'{"stream":"' + stream.encode() + b'","data":', b"}")
                    writes.append((client, combined))
                else:
                    if raw is None:
                        raw = frames(payloads)
                    writes.append((client, raw))
                self.messages_sent += len(payloads)
            payloads.clear()

    def _write_next(self) -> bool:
        """Write the next FLUSH_WRITES queued sends (in order: each client's bytes stay in
        batch order); False once the queue is empty."""
        writes, i = self._writes, self._write_i
        end = min(len(writes), i + FLUSH_WRITES)
        for k in range(i, end):
            client, data = writes[k]
            self.send(client, data)  # a client dropped meanwhile is skipped there
        if end >= len(writes):
            writes.clear()
            self._write_i = 0
            return False
        self._write_i = end
        return True


# --- connections ----------------------------------------------------------------------------

def _error(code: int, msg: str, req_id: object) -> dict:
    return {"error": {"code": code, "msg": msg}, "id": req_id}


def handle_message(fanout: Fanout, client: Client, text: str, max_streams: int) -> Optional[dict]:
    """Apply one client request; returns the reply (Binance's shapes)."""
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return _error(3, f"Invalid JSON: {str(exc)[:80]}", None)
    if not isinstance(msg, dict):
        return _error(2, "Invalid request: expected a JSON object", None)
    req_id = msg.get("id")
    if isinstance(req_id, (dict, list)):
        return _error(2, "Invalid request: request ID must be an unsigned integer", None)
    method = msg.get("method")
    params = msg.get("params", [])
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: params must be a list of stream names", req_id)
        names = []
        for p in params:
            name = fanout.resolve(p)
            if name is None:
                return _error(2, f"Invalid request: unknown stream '{p[:80]}' (this replay serves "
                                 f"{', '.join(sorted(n for n, _ in fanout._known.values())[:4])}, ...)", req_id)
            names.append(name)
        if method == "SUBSCRIBE":
            if len(client.streams | set(names)) > max_streams:
                return _error(2, f"Invalid request: too many streams (max {max_streams})", req_id)
            for name in names:
                fanout.subscribe(client, name)
        else:
            for name in names:
                fanout.unsubscribe(client, name)
        return {"result": None, "id": req_id}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": sorted(client.streams), "id": req_id}
    if method == "SET_PROPERTY":
        if not isinstance(params, list) or len(params) != 2 or params[0] != "combined":
            return _error(0, "Unknown property", req_id)
        if not isinstance(params[1], bool):
            return _error(1, "Invalid value type: expected Boolean", req_id)
        client.combined = params[1]
        return {"result": None, "id": req_id}
    if method == "GET_PROPERTY":
        if params != ["combined"]:
            return _error(0, "Unknown property", req_id)
        return {"result": client.combined, "id": req_id}
    return _error(2, f"Invalid request: unknown variant {str(method)[:40]}, expected one of SUBSCRIBE, "
                     "UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY", req_id)


async def serve(request: web.Request, streams: list[str], combined: bool) -> web.WebSocketResponse:
    cfg = request.app[CONFIG]
    fanout: Fanout = request.app[FANOUT]
    ws = web.WebSocketResponse(compress=False, heartbeat=cfg.ws.ping_interval,
                               max_msg_size=cfg.ws.max_frame_bytes, autoping=True)
    await ws.prepare(request)
    client = Client(ws, request.transport, combined)
    fanout.add(client)
    for name in streams:
        resolved = fanout.resolve(name)
        if resolved is not None and len(client.streams) < cfg.ws.max_streams:
            fanout.subscribe(client, resolved)
    try:
        async for msg in ws:
            if client.closed:
                break
            if msg.type == WSMsgType.TEXT:
                now = time.monotonic()
                client.msg_times = [t for t in client.msg_times if now - t < 1.0] + [now]
                if len(client.msg_times) > cfg.ws.max_messages_per_sec:
                    log.warning("closing WebSocket client: more than %d messages/s", cfg.ws.max_messages_per_sec)
                    await ws.close(code=1008, message=b"Too many requests")
                    break
                reply = handle_message(fanout, client, msg.data, cfg.ws.max_streams)
                if reply is not None:
                    fanout.reply(client, reply)
            elif msg.type == WSMsgType.BINARY:
                fanout.reply(client, _error(3, "Invalid JSON: binary frames are not supported", None))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        fanout.remove(client)
    return ws


def _split(path_streams: str) -> list[str]:
    return [s for s in path_streams.split("/") if s]


async def ws_raw(request: web.Request) -> web.WebSocketResponse:
    rest = request.match_info.get("streams", "")
    if rest == "stream":  # /ws/stream is the combined endpoint, as on Binance
        return await serve(request, _split(request.query.get("streams", "")), True)
    names = _split(rest)
    if "listenKey" in request.query:
        names.append(request.query["listenKey"])
    return await serve(request, names, False)


async def ws_combined(request: web.Request) -> web.WebSocketResponse:
    return await serve(request, _split(request.query.get("streams", "")), True)


def add_routes(app: web.Application) -> None:
    for prefix in ("", "/public", "/market", "/private"):
        app.router.add_get(f"{prefix}/ws", ws_raw)
        app.router.add_get(f"{prefix}/ws/{{streams:.+}}", ws_raw)
        app.router.add_get(f"{prefix}/stream", ws_combined)

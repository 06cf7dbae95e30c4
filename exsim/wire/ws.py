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
from aiohttp import WSCloseCode, WSMsgType, web

from ..config import Config
from ..engine.events import MarketListener
from ..engine.periods import PeriodBar
from ..engine.sim import Sim
from ..timeutil import INTERVAL_MS
from ..store import reader
from . import lockstep_hooks
from .keys import CLOCK, CONFIG, FANOUT, SIM, STORE
from .klines import Builder, ClosedKlines, kline_sql, union_kline_sql
from .rolling import Rolling24h
from .streams import Payloads, stream_key

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
        self.builders: dict[str, list[tuple[int, Builder]]] = {}  # stream -> (symbol index, builder)
        self.periods: dict[str, PeriodBar] = {}  # coarser-interval streams: the bar they build
        self.pending: dict[str, list[bytes]] = {}
        self.active = False
        self.dropped = 0
        self.messages_sent = 0
        self.bars_in_bulk = 0  # closed bars queued by on_bars (runs) rather than on_tick
        self._batch_bytes = 0  # payload bytes produced since the last flush
        self._n_subs = 0  # (client, stream) subscriptions: writes per flush, at most
        self._emit: list[list[tuple]] = []  # per symbol: (pending[stream].append, builder)
        self._bulk: list[list[list]] = []  # per symbol: the pending lists of its base kline streams
        self._stalled_since: Optional[float] = None
        self._writes: list[tuple[Client, bytes]] = []  # queued by flush_some(), in order
        self._write_i = 0
        self.ready = ClosedKlines()
        self.payloads: list[Payloads] = []
        self._known: dict[str, tuple[str, list]] = {}
        self._kline_sql: dict[int, Optional[str]] = {}
        self.user = None  # wire.user_stream.UserStream: listenKeys are streams too
        self.force = None  # wire.force_orders.ForceOrders: the liquidation streams
        self.on_markets()

    def on_markets(self) -> None:
        """(Re)build the stream table for the Sim's replayed symbols."""
        self.payloads = [Payloads(self.cfg, self.sim, m, self.ready) for m in self.sim.by_index]
        self._known = {}
        for i, payloads in enumerate(self.payloads):
            for low, (name, build) in payloads.stream_table().items():
                entry = self._known.setdefault(low, (name, []))
                entry[1].append((i, build))
        self._kline_sql = {}
        self._membership_changed()

    # --- stream names ---------------------------------------------------------------------

    def resolve(self, name: str) -> Optional[str]:
        """Binance's spelling of a stream name, or None when this replay never produces it."""
        known = self._known.get(stream_key(name))
        if known is not None:
            return known[0]
        if self.user is not None and self.user.valid(name):  # a listenKey: the user-data stream
            return name
        return self.force.resolve(name) if self.force is not None else None

    def why_not(self, name: str) -> str:
        """Why `name` cannot be served, in words a user can act on."""
        if _LISTEN_KEY.match(name.strip()) and "@" not in name:
            return "unknown, closed or expired listenKey (POST /fapi/v1/listenKey makes one)"
        low = stream_key(name)
        symbols = [p.symbol for p in self.payloads]
        replayed = ", ".join(s.lower() for s in symbols[:6]) + (", ..." if len(symbols) > 6 else "")
        head, _, kind = low.partition("@")
        symbol = head.removesuffix("_perpetual").upper()
        if kind and not head.startswith("!") and symbol not in self.sim.markets:
            return f"symbol {symbol} is not replayed (replayed: {replayed})"
        for prefix in ("kline_", "continuouskline_"):
            if kind.startswith(prefix):
                iv = name.strip().split("_")[-1]
                if iv not in INTERVAL_MS:
                    return f"unknown interval '{iv[:10]}'"
                base = self.cfg.interval
                if INTERVAL_MS[iv] < INTERVAL_MS[base]:
                    return f"interval {iv} is finer than the replay's base interval {base}"
                return f"interval {iv} cannot be built from {base} bars"
        return f"unknown stream type '{name[:60]}'"

    # --- membership -----------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def send_event(self, stream: str, payload: bytes) -> int:
        """An event-driven stream's payload (user data, forceOrder) to its subscribers, each of the
        raw and combined frames encoded once; returns how many got it."""
        raw = combined = None
        n = 0
        for client in self.subs.get(stream, ()):
            if client.combined:
                combined = combined or frame(b'{"stream":"' + stream.encode() + b'","data":' + payload + b"}")
                self.send(client, combined)
            else:
                raw = raw or frame(payload)
                self.send(client, raw)
            n += 1
        return n

    def starts_period(self, stream: str) -> bool:
        """True when subscribing `stream` starts building a coarser interval's bars (no one
        subscribes it yet): its open period then has to be read from the database first."""
        known = self._known.get(stream_key(stream))
        return (stream not in self.builders and known is not None
                and any(isinstance(build, tuple) for _, build in known[1]))

    def subscribe(self, client: Client, stream: str) -> Optional[PeriodBar]:
        """Add a subscription; returns the period bar of a coarser-interval stream that has just
        been created (the caller seeds it from the database before the clock moves on)."""
        client.streams.add(stream)
        self.subs.setdefault(stream, set()).add(client)
        fresh = None
        known = self._known.get(stream_key(stream))
        if known is not None and stream not in self.builders:
            entries = []
            for sym, build in known[1]:
                if isinstance(build, tuple):  # a coarser interval: a builder with its own state
                    kind, interval = build
                    build, fresh = self.payloads[sym].klines.coarser(interval, continuous=kind == "continuous")
                    self.periods[stream] = fresh
                entries.append((sym, build))
            self.builders[stream] = entries
            self.pending.setdefault(stream, [])
        if stream.lower().endswith(("ticker", "ticker@arr")):  # the 24 h tickers keep a rolling window
            for sym, _ in self.builders.get(stream, ()):
                p = self.payloads[sym]
                p.rolling = p.rolling or Rolling24h()
        self._membership_changed()
        return fresh

    def unsubscribe(self, client: Client, stream: str) -> None:
        client.streams.discard(stream)
        subs = self.subs.get(stream)
        if subs is not None:
            subs.discard(client)
            if not subs:
                del self.subs[stream]
                self.builders.pop(stream, None)
                self.periods.pop(stream, None)
                self.pending.pop(stream, None)
        self._membership_changed()

    def _membership_changed(self) -> None:
        self.active = bool(self.builders)
        self._n_subs = sum(len(s) for s in self.subs.values())
        n = len(self.payloads)
        self._emit = [[] for _ in range(n)]
        self._bulk = [[] for _ in range(n)]
        bulk = True
        for stream, entries in self.builders.items():
            for sym, build in entries:
                self._emit[sym].append((self.pending[stream].append, build))
                if build is self.payloads[sym].klines.kline:
                    self._bulk[sym].append(self.pending[stream])
                else:
                    bulk = False
        self.takes_bulk = self.active and bulk
        # a run's bytes times its subscribers within one flush's budget (~400 bytes a framed
        # kline): 256 bars for one client, 16 for 500 (bigger stalled the loop ~80 ms)
        self.bulk_step = max(16, min(256, FLUSH_BYTES // (max(1, self._n_subs) * 512)))

    def remove(self, client: Client) -> None:
        for stream in list(client.streams):
            self.unsubscribe(client, stream)
        self.clients.discard(client)
        client.closed = True

    # --- the closed-kline fast path (wire/klines.py makes the bytes, the feed evaluates them) ---

    def payload_sql(self) -> Optional[str]:
        """The SQL expression the bar feed adds per bar: the closed-kline payload of each symbol
        with a base kline subscriber (None: nobody watches)."""
        if not self.active:
            return None
        exprs = {}
        for sym, pending in enumerate(self._bulk):
            if pending:
                if sym not in self._kline_sql:
                    self._kline_sql[sym] = kline_sql(self.cfg, self.payloads[sym].m.inst)
                if self._kline_sql[sym] is not None:
                    exprs[sym] = self._kline_sql[sym]
        if not exprs:
            return None
        return exprs[0] if len(self.payloads) == 1 else union_kline_sql(exprs)

    def on_payloads(self, chunk, values) -> None:
        self.ready.load(chunk, values)

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

    def on_tick(self, sym: int, ts: int, o: int, h: int, l: int, c: int, v: float, final: bool) -> None:
        now = self.sim.sim_time
        p = self.payloads[sym]
        rolling = p.rolling
        if rolling is not None and final:
            rolling.add(ts, o, h, l, v, v * p.m.inst.price.to_float(c))
        size = 0
        for add, build in self._emit[sym]:
            payload = build(ts, o, h, l, c, v, final, now)
            if payload is None:
                continue
            if type(payload) is list:  # a coarser period closed by a data gap, then the next one
                for item in payload:
                    add(item)
                    size += len(item)
            else:
                add(payload)
                size += len(payload)
        self._batch_bytes += size

    def on_bars(self, chunk, i: int, j: int) -> bool:
        """A run of closed bars for base-kline subscribers only: their payloads were made by
        the reader, so the run is queued with list slices instead of a call per bar."""
        if not self.takes_bulk or self.ready.ts is not chunk.ts:
            return False
        if chunk.sym is None:
            texts = self.payloads[0].klines.ready_texts(i, j)
            if texts is None:
                return False
            for pending in self._bulk[0]:  # the kline stream (under each spelling subscribed)
                pending.extend(texts)
            self._batch_bytes += sum(map(len, texts))
        else:
            bulk, all_texts, sym = self._bulk, self.ready.texts, chunk.sym
            picked = [(bulk[sym[k]], all_texts[k]) for k in range(i, j) if bulk[sym[k]]]
            if any(text is None for _, text in picked) or any(
                    self.payloads[s].klines.trade_id for s in range(len(bulk)) if bulk[s]):
                return False
            size = 0
            for lists, text in picked:
                for pending in lists:
                    pending.append(text)
                size += len(text)
            self._batch_bytes += size
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


async def handle_message(request: web.Request, client: Client, text: str) -> Optional[dict]:
    """Apply one client request; returns the reply (Binance's shapes)."""
    fanout: Fanout = request.app[FANOUT]
    max_streams = request.app[CONFIG].ws.max_streams
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
        if method == "SUBSCRIBE" and len(client.streams | set(params)) > max_streams:  # before resolving 1,000s
            return _error(2, f"Invalid request: too many streams (max {max_streams})", req_id)
        names = []
        for p in params:
            name = fanout.resolve(p)
            if name is None:
                log.info("WebSocket SUBSCRIBE refused: %s", fanout.why_not(p))
                return _error(2, f"Invalid request: cannot serve stream '{p[:80]}': {fanout.why_not(p)}", req_id)
            names.append(name)
        if method == "SUBSCRIBE":
            if len(client.streams | set(names)) > max_streams:
                return _error(2, f"Invalid request: too many streams (max {max_streams})", req_id)
            await subscribe(request, client, names)
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


async def subscribe(request: web.Request, client: Client, names: list[str]) -> None:
    """Subscribe `client` to resolved stream names. A coarser-interval kline stream that starts
    now is seeded with its open period from the database first, the clock held meanwhile, so
    its first frame already covers the base bars replayed before it (as REST klines do)."""
    fanout: Fanout = request.app[FANOUT]
    if not any(fanout.starts_period(name) for name in names):
        for name in names:
            fanout.subscribe(client, name)
        return
    async with request.app[CLOCK].hold():
        for name in names:
            period = fanout.subscribe(client, name)
            if period is not None:
                await seed_period(request.app, name, period)


async def seed_period(app: web.Application, stream: str, period: PeriodBar) -> None:
    """The period's bar so far from the base bars already replayed (the caller holds the clock)."""
    fanout: Fanout = app[FANOUT]
    sim, cfg = app[SIM], app[CONFIG]
    sym = fanout.builders[stream][0][0]
    m = sim.by_index[sym]
    period.reset()
    rows = await app[STORE].query(reader.klines, m.inst.symbol, period.interval, None, None, 1, sim.sim_time,
                                  cfg.interval)
    if rows and rows[-1][6] + 1 > sim.sim_time:  # the period is still open
        ts, o, h, l, c, v, _ = rows[-1]
        tick = float(m.inst.price.size)
        period.seed(ts, *(round(x / tick) for x in (o, h, l, c)), float(v or 0.0))


async def reseed_periods(app: web.Application) -> None:
    """A new run: every coarser-interval stream starts again from the run's first bar."""
    fanout: Fanout = app[FANOUT]
    for stream, period in list(fanout.periods.items()):
        await seed_period(app, stream, period)


async def serve(request: web.Request, streams: list[str], combined: bool) -> web.WebSocketResponse:
    cfg = request.app[CONFIG]
    fanout: Fanout = request.app[FANOUT]
    gate = lockstep_hooks.gate_of(request)
    bot = lockstep_hooks.bot_of(gate, request) if gate is not None else None
    # a bot under lockstep: its pongs are read here (the pong to the ping after a bar's frames)
    ws = web.WebSocketResponse(compress=False, heartbeat=cfg.ws.ping_interval,
                               max_msg_size=cfg.ws.max_frame_bytes, autoping=bot is None)
    await ws.prepare(request)
    client = Client(ws, request.transport, combined)
    fanout.add(client)
    if bot is not None:
        gate.ws_opened(bot, client)
    try:
        names = []
        for name in streams:
            resolved = fanout.resolve(name)
            if resolved is None:  # never silence: say why, then hang up
                reason = f"Invalid stream '{name[:40]}': {fanout.why_not(name)}"
                log.info("WebSocket refused: %s", reason)
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason.encode()[:123])
                return ws
            if len(names) < cfg.ws.max_streams:
                names.append(resolved)
        try:
            await subscribe(request, client, names)
        except Exception:  # a bug: the socket is upgraded, so no HTTP error page can follow
            log.exception("subscribing %s failed", names)
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
            return ws
        async for msg in ws:
            if client.closed:
                break
            if bot is not None:
                if msg.type == WSMsgType.PONG:
                    gate.ws_pong(bot)
                    continue
                if msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                    continue
                gate.ws_active(bot)
            if msg.type == WSMsgType.TEXT:
                now = time.monotonic()
                client.msg_times = [t for t in client.msg_times if now - t < 1.0] + [now]
                if len(client.msg_times) > cfg.ws.max_messages_per_sec:
                    log.warning("closing WebSocket client: more than %d messages/s", cfg.ws.max_messages_per_sec)
                    await ws.close(code=1008, message=b"Too many requests")
                    break
                try:
                    reply = await handle_message(request, client, msg.data)
                except Exception:  # a bug: answer like Binance's internal error, keep the socket
                    log.exception("WebSocket request failed: %s", msg.data[:200])
                    reply = _error(-1000, "An unknown error occured while processing the request.", None)
                if reply is not None:
                    fanout.reply(client, reply)
            elif msg.type == WSMsgType.BINARY:
                fanout.reply(client, _error(3, "Invalid JSON: binary frames are not supported", None))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        fanout.remove(client)
        if bot is not None:
            gate.ws_closed(bot, client)
        drop_close_cycle(ws)
    return ws


def drop_close_cycle(ws: web.WebSocketResponse) -> None:
    """Forget the tracebacks of the exception aiohttp keeps once a connection is gone.

    A client that drops its TCP connection leaves `ws.exception()` set (the reset met while
    closing, its context the EofStream of the read): their tracebacks hold the frames of
    `receive`/`close`, whose `self` is `ws`, which holds the exception: a cycle of ~45 objects
    that only a full cyclic-GC pass frees, so closed connections piled up between full passes
    and made each pass longer. Without the tracebacks, reference counting frees it all at once.
    The exception itself stays (`ws.exception()` still answers)."""
    exc, seen = ws.exception(), 0
    while exc is not None and seen < 8:
        exc.__traceback__ = None
        exc, seen = exc.__context__ or exc.__cause__, seen + 1


def _split(path_streams: str) -> list[str]:
    return [s for s in path_streams.split("/") if s]


async def ws_raw(request: web.Request) -> web.WebSocketResponse:
    rest = request.match_info.get("streams", "")
    if rest == "stream":  # /ws/stream is the combined endpoint, as on Binance
        return await serve(request, _split(request.query.get("streams", "")), True)
    names = [n for n in _split(rest) if not n.isdigit()]  # ccxt.pro appends its connection number (/ws/0)
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

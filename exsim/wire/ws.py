"""WebSocket market streams, Binance style, and the fan-out that feeds them.

Each replayed tick becomes one payload per subscribed stream, encoded once. At the end of a
clock batch `flush()` frames a stream's payloads into one bytes object (one for raw `/ws`
clients, one for combined `{"stream","data"}` clients) and writes that same object to every
subscriber's transport: one write per client per stream per batch, no await, no gather.

Backpressure: a client's outbox is its transport's write buffer. When it grows past
`ws.max_outbox_bytes` the client is dropped (logged, counted in /admin/status); the clock never
waits for anyone.
"""
from __future__ import annotations

import logging
import re
import struct
import time
from typing import Callable, Optional

import orjson
from aiohttp import WSMsgType, web

from ..config import Config
from ..engine.events import MarketListener
from ..engine.sim import Sim
from .keys import CONFIG, FANOUT
from .rest_market import book
from .rolling import Rolling24h

log = logging.getLogger("exsim.ws")
_LISTEN_KEY = re.compile(r"^[0-9a-zA-Z]{32,80}$")


def frame(payload: bytes) -> bytes:
    """A server-to-client text frame (FIN, unmasked)."""
    n = len(payload)
    if n < 126:
        return b"\x81" + bytes((n,)) + payload
    if n < 65536:
        return b"\x81\x7e" + struct.pack("!H", n) + payload
    return b"\x81\x7f" + struct.pack("!Q", n) + payload


class Client:
    __slots__ = ("ws", "transport", "combined", "streams", "closed", "msg_times", "__weakref__")

    def __init__(self, ws: web.WebSocketResponse, transport, combined: bool) -> None:
        self.ws = ws
        self.transport = transport
        self.combined = combined
        self.streams: set[str] = set()
        self.closed = False
        self.msg_times: list[float] = []


Builder = Callable[[int, int, int, int, int, float, bool, int], Optional[bytes]]


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
        self.rolling: Optional[Rolling24h] = None
        self._trade_id = 0
        self._known = self._stream_table()

    # --- stream names ---------------------------------------------------------------------

    def _stream_table(self) -> dict[str, tuple[str, Builder]]:
        """lower-case name -> (Binance's spelling, payload builder). Payloads carry Binance's
        spelling in `stream`, which clients like the modular SDK match against what they sent."""
        sym = self.cfg.symbol.lower()
        iv = self.cfg.interval
        names = {
            f"{sym}@kline_{iv}": self._kline, f"{sym}_perpetual@continuousKline_{iv}": self._continuous_kline,
            f"{sym}@markPrice": self._mark_price, f"{sym}@markPrice@1s": self._mark_price,
            f"{sym}@markPrice@3s": self._mark_price, "!markPrice@arr": self._mark_price_arr,
            "!markPrice@arr@1s": self._mark_price_arr, f"{sym}@bookTicker": self._book_ticker,
            "!bookTicker": self._book_ticker, f"{sym}@aggTrade": self._agg_trade,
            f"{sym}@miniTicker": self._mini_ticker, "!miniTicker@arr": self._mini_ticker_arr,
            f"{sym}@ticker": self._ticker,
        }
        return {name.lower(): (name, build) for name, build in names.items()}

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
            self.rolling = self.rolling or Rolling24h()
        self.active = bool(self.builders)

    def unsubscribe(self, client: Client, stream: str) -> None:
        client.streams.discard(stream)
        subs = self.subs.get(stream)
        if subs is not None:
            subs.discard(client)
            if not subs:
                del self.subs[stream]
                self.builders.pop(stream, None)
                self.pending.pop(stream, None)
        self.active = bool(self.builders)

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
        if self.rolling is not None and final:
            self.rolling.add(ts, o, h, l, v, v * self.sim.market.inst.price.to_float(c))
        for stream, build in self.builders.items():
            payload = build(ts, o, h, l, c, v, final, now)
            if payload is not None:
                self.pending[stream].append(payload)

    def flush(self) -> None:
        # a list: dropping a slow client below may remove a stream from `pending`
        for stream, payloads in list(self.pending.items()):
            if not payloads:
                continue
            raw = combined = None
            for client in list(self.subs.get(stream, ())):
                if client.combined:
                    if combined is None:
                        head = b'{"stream":"' + stream.encode() + b'","data":'
                        combined = b"".join(frame(head + p + b"}") for p in payloads)
                    self.send(client, combined)
                else:
                    if raw is None:
                        raw = b"".join(frame(p) for p in payloads)
                    self.send(client, raw)
                self.messages_sent += len(payloads)
            payloads.clear()

    # --- payloads (one encode per tick per stream) ----------------------------------------

    def _k(self, ts: int, o: int, h: int, l: int, c: int, v: float, final: bool) -> str:
        f = self.sim.market.inst.price.fmt
        ims = self.sim.market.interval_ms
        qd = self.sim.market.inst.qty.decimals
        n = self.cfg.ticks_per_bar
        quote = v * self.sim.market.inst.price.to_float(c)
        return (f'"t":{ts},"T":{ts + ims - 1},"i":"{self.cfg.interval}","f":{self._trade_id - n + 1},'
                f'"L":{self._trade_id},"o":"{f(o)}","c":"{f(c)}","h":"{f(h)}","l":"{f(l)}",'
                f'"v":"{v:.{qd}f}","n":{n},"x":{"true" if final else "false"},"q":"{quote:.4f}",'
                f'"V":"{v / 2:.{qd}f}","Q":"{quote / 2:.4f}","B":"0"')

    def _kline(self, ts, o, h, l, c, v, final, now) -> bytes:
        s = self.cfg.symbol
        return f'{{"e":"kline","E":{now},"s":"{s}","k":{{"s":"{s}",{self._k(ts, o, h, l, c, v, final)}}}}}'.encode()

    def _continuous_kline(self, ts, o, h, l, c, v, final, now) -> bytes:
        return (f'{{"e":"continuous_kline","E":{now},"ps":"{self.cfg.symbol}","ct":"PERPETUAL",'
                f'"k":{{{self._k(ts, o, h, l, c, v, final)}}}}}').encode()

    def _mark_item(self, c: int, now: int) -> str:
        m = self.sim.market
        p = m.inst.price.fmt(c)
        return (f'{{"e":"markPriceUpdate","E":{now},"s":"{self.cfg.symbol}","p":"{p}","i":"{p}",'
                f'"P":"{p}","r":"{float(m.last_funding_rate):.8f}","T":{m.next_funding_time}}}')

    def _mark_price(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._mark_item(c, now).encode()

    def _mark_price_arr(self, ts, o, h, l, c, v, final, now) -> bytes:
        return f"[{self._mark_item(c, now)}]".encode()

    def _book_ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        inst = self.sim.market.inst
        bid, ask = book(self.sim, self.cfg.symbol, self.cfg.spread_bps)
        qty = inst.qty.fmt(inst.min_qty * 100)
        return (f'{{"e":"bookTicker","u":{self.sim.bars_done},"E":{now},"T":{now},"s":"{self.cfg.symbol}",'
                f'"b":"{inst.price.fmt(bid)}","B":"{qty}","a":"{inst.price.fmt(ask)}","A":"{qty}"}}').encode()

    def _agg_trade(self, ts, o, h, l, c, v, final, now) -> bytes:
        """One synthetic trade per tick: the tick's close, the volume it added."""
        inst = self.sim.market.inst
        self._trade_id += 1
        q = v / self.cfg.ticks_per_bar
        return (f'{{"e":"aggTrade","E":{now},"s":"{self.cfg.symbol}","a":{self._trade_id},'
                f'"p":"{inst.price.fmt(c)}","q":"{q:.{inst.qty.decimals}f}","nq":"{q:.{inst.qty.decimals}f}",'
                f'"f":{self._trade_id},"l":{self._trade_id},"T":{now},"m":{"true" if c < o else "false"}}}').encode()

    def _mini_item(self, o, h, l, c, now) -> str:
        f = self.sim.market.inst.price.fmt
        ro, rh, rl, _, vol, quote = self.rolling.snapshot(h, l, o)
        qd = self.sim.market.inst.qty.decimals
        return (f'{{"e":"24hrMiniTicker","E":{now},"s":"{self.cfg.symbol}","c":"{f(c)}","o":"{f(ro)}",'
                f'"h":"{f(rh)}","l":"{f(rl)}","v":"{vol:.{qd}f}","q":"{quote:.2f}"}}')

    def _mini_ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._mini_item(o, h, l, c, now).encode()

    def _mini_ticker_arr(self, ts, o, h, l, c, v, final, now) -> bytes:
        return f"[{self._mini_item(o, h, l, c, now)}]".encode()

    def _ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        inst = self.sim.market.inst
        f = inst.price.fmt
        ro, rh, rl, first, vol, quote = self.rolling.snapshot(h, l, o)
        change = inst.price.to_float(c - ro)
        pct = 100 * (c - ro) / ro if ro else 0.0
        qd = inst.qty.decimals
        return (f'{{"e":"24hrTicker","E":{now},"s":"{self.cfg.symbol}","p":"{change:.{inst.price.decimals}f}",'
                f'"P":"{pct:.3f}","w":"{(quote / vol if vol else 0):.{inst.price.decimals}f}","c":"{f(c)}",'
                f'"Q":"{inst.qty.fmt(inst.min_qty)}","o":"{f(ro)}","h":"{f(rh)}","l":"{f(rl)}",'
                f'"v":"{vol:.{qd}f}","q":"{quote:.2f}","O":{first or ts},"C":{now - 1},"F":1,'
                f'"L":{self._trade_id},"n":{max(1, self._trade_id)}}}').encode()


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

"""What lockstep pacing (exsim/lockstep.py) learns from the wire: which bot a request or a
WebSocket belongs to, when its requests start and end, which are market-data reads, and the
pong that proves a WebSocket read a bar's frames. Installed only with pacing = "lockstep":
wall pacing pays nothing for it."""
from __future__ import annotations

from typing import Optional

from aiohttp import web

from ..lockstep import Bot, Gate, pid_of_peer
from .keys import REPLAY

HEARTBEATS = frozenset({"/fapi/v1/ping", "/fapi/v1/time", "/fapi/v1/listenKey", "/api/v3/ping", "/api/v3/time"})
# reads whose answer does not change within a bar: asking again means "nothing new for me"
SIGNATURE_PARAMS = ("timestamp", "signature", "recvWindow")
PING_FRAME = b"\x89\x00"  # a WebSocket ping, FIN, no payload (server frames are unmasked)


def _not_a_bot(request: web.Request) -> bool:
    """Admin requests and browsers (the Fetch metadata headers every current browser sends;
    not the User-Agent: python-binance sends a Mozilla one)."""
    h = request.headers
    return request.path.startswith("/admin") or "Sec-Fetch-Mode" in h or "Sec-Fetch-Site" in h


def bot_of(gate: Gate, request: web.Request) -> Optional[Bot]:
    """The bot behind a request's connection: its process when /proc says so (cached on the
    connection), else its API key, else the connection."""
    if _not_a_bot(request):
        return None
    transport = request.transport
    peer = request.transport.get_extra_info("peername") if transport is not None else None
    sock = request.transport.get_extra_info("sockname") if transport is not None else None
    cached = gate.by_peer.get(peer)
    if cached is not None:
        return cached
    pid = pid_of_peer(peer, sock) if peer and sock else None
    key = request.headers.get("X-MBX-APIKEY")
    if pid is not None:
        bot = gate.bot(("pid", pid), f"pid {pid}", pid)
    elif key:
        bot = gate.bot(("key", key), f"key {key[:8]}", None)
    else:
        bot = gate.bot(("peer", peer), f"peer {peer}", None)
    if len(gate.by_peer) > 4096:  # connections come and go: forget old ones now and then
        gate.by_peer.clear()
    gate.by_peer[peer] = bot  # one /proc lookup per connection
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        bot.sockets.add(sock.fileno())
    return bot


def _read_key(request: web.Request) -> Optional[str]:
    if request.method != "GET" or not request.path.startswith(("/fapi/", "/futures/data")):
        return None
    q = sorted((k, v) for k, v in request.query.items() if k not in SIGNATURE_PARAMS)
    return request.path + "?" + "&".join(f"{k}={v}" for k, v in q)


def middleware():
    @web.middleware
    async def lockstep(request: web.Request, handler):
        gate = gate_of(request)
        if gate is None:
            return await handler(request)
        heartbeat = request.path in HEARTBEATS
        if heartbeat:  # a heartbeat never registers a bot (nor opens the gate): a known one's only
            t = request.transport
            bot = gate.by_peer.get(t.get_extra_info("peername")) if t is not None else None
        else:
            bot = bot_of(gate, request)
        if bot is None or request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)  # a WebSocket registers itself (ws.serve)
        if request.method == "GET" and "signature" not in request.query and gate.holds(bot):
            await gate.hold(bot)  # done with this bar: its next poll reads the next one
        elif heartbeat:
            return await handler(request)  # not activity
        else:
            gate.request_started(bot)
        key = None if heartbeat else _read_key(request)
        try:
            return await handler(request)
        finally:
            gate.request_finished(bot, key)

    return lockstep


def gate_of(request: web.Request) -> Optional[Gate]:
    replay = request.app.get(REPLAY)
    return None if replay is None else replay.gate


def install_ping(gate: Gate) -> None:
    def ping(client) -> None:
        t = client.transport
        if t is not None and not t.is_closing():
            t.write(PING_FRAME)  # after the bar's frames: its pong proves they were read
    gate.ping = ping

"""`/admin/clock`: the WebSocket that puts a bot started by `exsim run-bot` on the replay clock
(the bot's side is exsim/botclock/shim.py; the limits are in docs/run-bot.md).

Protocol (JSON text frames):

- server -> client `{"t": <sim epoch ms>}` on connect and whenever sim time moves (coalesced:
  a client that reads slowly gets the newest time, never a backlog);
- client -> server `{"pid": <os.getpid()>}` once after connecting (lockstep pacing reads it to
  tell whether the woken bot is still computing), `{"wake": <sim epoch ms>}` when a sleep starts
  (replaces the connection's alarm; the client waits until a pushed `t` >= its target), and
  `{"wake": null}` when its last sleep was cancelled. An alarm is cleared by the server once due.

An alarm lives in `app[REPLAY].wakeups` (exsim/wakeups.py) under the connection as long as it
is due later than sim time; the listener that pushes times is one per application, installed
with the first connection and removed with the last. Auth is that of every `/admin/*` route
(`Authorization: Bearer <admin_token>` on the upgrade request when `admin_token` is set).
"""
from __future__ import annotations

import asyncio
import logging
import math
from contextlib import suppress
from typing import Optional

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from .admin import _check_token
from .keys import REPLAY, SIM

log = logging.getLogger("exsim.bot_clock")

PATH = "/admin/clock"
CONNS = web.AppKey("bot_clock_conns", set)
# (the Wakeups object the listener is installed on, the listener) or None
LISTENER = web.AppKey("bot_clock_listener", list)


class _Conn:
    """One bot's clock socket: the newest sim time not yet sent, and the task that sends it."""

    __slots__ = ("ws", "latest", "sent", "ready", "__weakref__")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.latest: Optional[int] = None
        self.sent: Optional[int] = None
        self.ready = asyncio.Event()

    def push(self, now_ms: int) -> None:  # called from the wakeups listener: never awaits
        self.latest = now_ms
        self.ready.set()

    async def send_forever(self) -> None:
        while not self.ws.closed:
            await self.ready.wait()
            self.ready.clear()
            t = self.latest
            if t is None or t == self.sent:
                continue
            self.sent = t
            try:
                await self.ws.send_str('{"t":%d}' % t)
            except (ConnectionError, RuntimeError):
                return


def _listen(app: web.Application) -> None:
    """The app's one listener on its wakeups: every sim-time move goes to every clock socket."""
    wakeups = app[REPLAY].wakeups
    held = app[LISTENER]
    if held and held[0] is wakeups:
        return
    _unlisten(app)
    conns = app[CONNS]

    def listener(now_ms: int) -> None:
        for conn in conns:
            conn.push(now_ms)

    wakeups.listeners.append(listener)
    held[:] = [wakeups, listener]


def _unlisten(app: web.Application) -> None:
    held = app[LISTENER]
    if held:
        wakeups, listener = held
        with suppress(ValueError):
            wakeups.listeners.remove(listener)
        held.clear()


def _wake_at(value) -> Optional[int]:
    """The alarm of a `wake` value (sim epoch ms, rounded up), or None for null / nonsense."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(math.ceil(value))


async def clock_socket(request: web.Request) -> web.StreamResponse:
    _check_token(request)  # before the upgrade: a refused one gets the JSON 401 of /admin/*
    app = request.app
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    sim, wakeups = app[SIM], app[REPLAY].wakeups
    conn = _Conn(ws)
    app[CONNS].add(conn)
    _listen(app)
    conn.push(sim.sim_time)
    sender = asyncio.create_task(conn.send_forever())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = msgspec.json.decode(msg.data)
            except msgspec.DecodeError:
                data = None
            if not isinstance(data, dict):
                await ws.send_str('{"error":{"code":-1130,"msg":"Invalid clock message: not a JSON object."}}')
                continue
            pid = data.get("pid")
            if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0:
                wakeups.pids[conn] = pid
            if "wake" in data:
                at = _wake_at(data["wake"])
                if at is None:  # its sleep ended some other way: no alarm
                    pid = wakeups.pids.get(conn)
                    wakeups.remove(conn)
                    if pid is not None:
                        wakeups.pids[conn] = pid
                elif at > sim.sim_time:
                    wakeups.add(conn, at)
                # else: due already; the push of the time that made it due is on its way
    finally:
        sender.cancel()
        with suppress(asyncio.CancelledError):
            await sender
        app[CONNS].discard(conn)
        wakeups.remove(conn)
        if not app[CONNS]:
            _unlisten(app)
    return ws


async def _close_all(app: web.Application) -> None:
    for conn in list(app[CONNS]):
        with suppress(Exception):
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def add_routes(app: web.Application) -> None:
    """Register `GET /admin/clock` (the bot-clock WebSocket) and its shutdown on `app`."""
    app[CONNS] = set()
    app[LISTENER] = []
    app.router.add_get(PATH, clock_socket)
    app.on_shutdown.append(_close_all)

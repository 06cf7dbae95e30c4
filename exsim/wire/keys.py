"""Typed application keys: state lives on the Application, not in globals."""
from __future__ import annotations

from aiohttp import web

from ..config import Config
from ..engine.clock import Clock
from ..engine.sim import Sim
from ..replay import Replay
from .auth import Auth

CONFIG = web.AppKey("config", Config)
SIM = web.AppKey("sim", Sim)
CLOCK = web.AppKey("clock", Clock)
AUTH = web.AppKey("auth", Auth)
REPLAY = web.AppKey("replay", Replay)
FANOUT = web.AppKey("fanout", object)  # wire.ws.Fanout
STORE = web.AppKey("store", object)  # store.db.Database
USER = web.AppKey("user_stream", object)  # wire.user_stream.UserStream
LOOP_PROBE = web.AppKey("loop_probe", object)  # wire.app.LoopProbe (EXSIM_LOOP_PROBE=1)
KLINE_ROWS = web.AppKey("kline_rows", dict)  # wire.rest_market: formatted closed base bars

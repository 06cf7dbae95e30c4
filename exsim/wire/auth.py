"""Who is asking: API key -> account, HMAC-SHA256 signatures and the timestamp window.

auth = "off" (the spec's default): every request trades the one default account and
signatures are ignored. auth = "verify": each configured key is its own account.

Timestamps are checked against several clocks and accepted if any fits, because bots disagree
on what "now" is during a replay: the wall clock (bots that never sync), the sim clock, and
"sim time at the last /fapi/v1/time answer + wall time since" (clients that synced once and
keep an offset, like python-binance's AsyncClient). That last clock is kept per API key too
(the header rides along on /time when the client has a key), so one bot re-syncing after the
replay moved does not invalidate another bot's offset.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from aiohttp import web

from ..config import Config
from ..engine.account import Account
from ..engine.errors import ExchangeError, missing_param
from ..engine.sim import DEFAULT_ACCOUNT, Sim
from .params import Params


def _strip_signature(raw: str) -> tuple[str, str | None]:
    if "signature=" not in raw:  # no such part: nothing to strip (the split and join gave back raw)
        return raw, None
    parts, sig = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            sig = part[len("signature="):]
        else:
            parts.append(part)
    return "&".join(parts), sig


class Auth:
    def __init__(self, cfg: Config, sim: Sim) -> None:
        self.cfg = cfg
        self.sim = sim
        self.secrets = {k.key: k.secret.encode() for k in cfg.api_keys}
        self.last_time_call = (time.time() * 1000, 0)  # (wall ms, sim ms) of the last /time answer
        self.key_time_calls: dict[str, tuple[float, int]] = {}  # the same, per configured key
        self._macs: dict[bytes, "hmac.HMAC"] = {}  # secret -> HMAC keyed with it, copied per request

    def note_time_call(self, sim_ms: int, key: str = "") -> None:
        self.last_time_call = (time.time() * 1000, sim_ms)
        if key in self.secrets:  # configured keys only: bounded
            self.key_time_calls[key] = self.last_time_call

    def account(self, request: web.Request, params: Params, signed: bool = True) -> Account:
        if self.cfg.auth == "off":
            return self.sim.accounts[DEFAULT_ACCOUNT]
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key or len(key) > 256 or not key.isprintable():
            raise ExchangeError(-2014, "API-key format invalid.")
        secret = self.secrets.get(key)
        if secret is None:
            raise ExchangeError(-2015, "Invalid API-key, IP, or permissions for action.")
        if signed:
            self._verify(params, secret, key)
        return self.sim.accounts[key]

    def _verify(self, params: Params, secret: bytes, key: str = "") -> None:
        query, sig_q = _strip_signature(params.raw_query)
        body, sig_b = _strip_signature(params.raw_body) if not params.raw_body.lstrip().startswith("{") else (params.raw_body, None)
        signature = sig_q or sig_b
        if params.opt("timestamp") is None:
            raise missing_param("timestamp")
        if not signature:
            raise missing_param("signature")
        mac = self._macs.get(secret)
        if mac is None:  # keyed once per secret; configured secrets only, so bounded
            mac = self._macs[secret] = hmac.new(secret, digestmod=hashlib.sha256)
        mac = mac.copy()
        # update() on a short message keeps the GIL; hmac.digest() (one-shot) releases it around
        # the hash, and taking it back waits out another thread's switch interval (up to 5 ms)
        mac.update((query + body).encode())
        expected = mac.hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise ExchangeError(-1022, "Signature for this request is not valid.")
        ts = params.req_int("timestamp", 0)
        window = params.int("recvWindow", 5000, 0, 1 << 40)
        if window > 60000:
            raise ExchangeError(-1130, "Data sent for parameter 'recvWindow' is not valid.")
        wall = time.time() * 1000
        if ts < wall + 1000 and wall - ts <= window:  # the wall clock fits: the usual case
            return
        anchors = [self.last_time_call] + ([self.key_time_calls[key]] if key in self.key_time_calls else [])
        clocks = [wall, self.sim.sim_time] + [synced_sim + (wall - synced_wall) for synced_wall, synced_sim in anchors]
        if not any(ts < now + 1000 and now - ts <= window for now in clocks):
            raise ExchangeError(-1021, "Timestamp for this request is outside of the recvWindow.")

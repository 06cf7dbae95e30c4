"""The access log: one line per request (method, path and query, status, latency, Binance error
code), with credentials redacted. Off by default; on with `access_log = true` or
`log_level = "DEBUG"`.

It is aiohttp's own access-log hook (`AppRunner(access_log_class=..., access_log=...)`): when
off, the runner gets `access_log=None` and aiohttp neither times requests nor calls anything,
and no middleware is added.

    GET /fapi/v1/order?symbol=BTCUSDT&timestamp=1&signature=<redacted> 400 0.84ms code=-1102
"""
from __future__ import annotations

import logging
import re
from time import perf_counter
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..config import Config

LOGGER = "exsim.access"
MAX_TARGET = 1000  # characters of path and query kept: a hostile 64 KiB query stays one short line

# Parameter names whose value is a credential (compared lower-cased, without - and _):
# signature, apiKey, secretKey, api_secret, listenKey, token, password...
_SECRET_NAME = re.compile(r"signature|secret|apikey|listenkey|token|password|passphrase")
STARTED = web.RequestKey("exsim_started", float) if hasattr(web, "RequestKey") else "exsim_started"


def redact_query(raw: str) -> str:
    """The raw query string with each credential's value replaced by `<redacted>`, in order."""
    if not raw:
        return raw
    parts = []
    for part in raw.split("&"):
        name, eq, _ = part.partition("=")
        plain = unquote_plus(name).lower().replace("_", "").replace("-", "")
        parts.append(f"{name}=<redacted>" if eq and _SECRET_NAME.search(plain) else part)
    return "&".join(parts)


class AccessLogger(AbstractAccessLogger):
    """aiohttp calls `log` once a response is sent (for a WebSocket: once it is closed)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        started = request.get(STARTED)
        # aiohttp's `time` comes from loop.time(), which under uvloop is whole milliseconds
        # read once per loop turn (most requests would show 0 ms): measure from _stamp instead
        # (aiohttp's is left for requests refused before any middleware, such as bad HTTP)
        seconds = time if started is None else perf_counter() - started
        url = request.rel_url
        # the raw (still percent-encoded) path: a decoded one could carry a newline into the log
        target = url.raw_path
        query = redact_query(url.raw_query_string)
        if query:
            target += "?" + query
        if len(target) > MAX_TARGET:
            target = target[:MAX_TARGET] + "..."
        code = getattr(response, "binance_code", None)  # set by errors.error_response
        self.logger.info("%s %s %d %.2fms%s", request.method, target, response.status, seconds * 1000,
                         "" if code is None else f" code={code}")


def enabled(cfg: Config) -> bool:
    return cfg.access_log or cfg.log_level.upper() == "DEBUG"


@web.middleware
async def _stamp(request: web.Request, handler):
    request[STARTED] = perf_counter()
    return await handler(request)


def setup(app: web.Application, cfg: Config) -> dict:
    """The access-log arguments of `web.AppRunner(app)` for this config; when on, also the
    outermost middleware of `app` (still unfrozen), which notes when each request began."""
    if not enabled(cfg):
        return {"access_log": None}
    app.middlewares.insert(0, _stamp)
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)  # asked for explicitly: shown even under log_level = "WARNING"
    return {"access_log_class": AccessLogger, "access_log": logger}

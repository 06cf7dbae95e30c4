"""Every failure becomes a Binance error body here, in one place: engine errors by code,
HTTP errors by status, anything unexpected logged and answered as -1000 (never a traceback)."""
from __future__ import annotations

import logging

import orjson
from aiohttp import web

from ..engine.errors import ExchangeError

log = logging.getLogger("exsim.wire")

# Binance codes answered with something other than 400.
STATUS_BY_CODE = {-2014: 401, -2015: 401, -1003: 429, -1008: 503}


class ErrorResponse(web.Response):
    binance_code: int  # the body's `code`, kept so the access log need not parse bodies


def error_response(code: int, msg: str, status: int | None = None, headers: dict | None = None) -> web.Response:
    response = ErrorResponse(body=orjson.dumps({"code": code, "msg": msg}),
                             status=status or STATUS_BY_CODE.get(code, 400),
                             content_type="application/json", headers=headers)
    response.binance_code = code
    return response


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ExchangeError as exc:
        return error_response(exc.code, exc.msg)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.status == 101:
            raise
        if exc.status == 404:
            return error_response(-1000, f"Unknown path {request.path[:200]}.", 404)
        if exc.status == 405:
            return error_response(-1000, f"Method {request.method} not allowed for {request.path[:200]}.", 405)
        if exc.status == 413:
            return error_response(-1000, "Request body too large.", 413)
        if exc.status in (401, 403, 429):
            return error_response(-1000, exc.reason, exc.status, headers=dict(exc.headers))
        return error_response(-1000, exc.reason or "Bad request.", 400)
    except ConnectionResetError:  # the client left (e.g. during a WebSocket handshake): not a bug
        log.debug("client gone during %s %s", request.method, request.path[:200])
        raise
    except Exception:  # a bug: log it, answer like Binance's own internal error
        log.exception("unhandled error on %s %s", request.method, request.path[:200])
        return error_response(-1000, "An unknown error occured while processing the request.", 400)

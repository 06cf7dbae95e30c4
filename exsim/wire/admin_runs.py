"""GET /admin/runs and GET /admin/runs/{run_id}: the stored runs and their metrics as JSON (the
same structs `exsim runs list --json` / `show --json` print). `current` names the gateway's own
run. What was buffered is flushed first, so the current run's numbers are up to date; the
queries themselves are store.run_metrics', run on the query thread (no SQL here)."""
from __future__ import annotations

from contextlib import suppress

import msgspec
from aiohttp import web

from ..engine.errors import ExchangeError
from ..store import run_metrics
from .admin import _check_token
from .errors import error_response
from .keys import SIM, STORE
from .respond import json_response

routes = web.RouteTableDef()
MAX_LIMIT = 100_000


async def _flush(app: web.Application) -> None:
    with suppress(Exception):  # a failing writer is reported in /admin/status; read what is stored
        await app[STORE].writer.flush()


@routes.get("/admin/runs")
async def runs(request: web.Request) -> web.Response:
    _check_token(request)
    text = request.query.get("limit")
    limit = None
    if text is not None:
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
            raise ExchangeError(-1130, "Data sent for parameter 'limit' is not valid.")
        limit = int(text)
    await _flush(request.app)
    found = await request.app[STORE].query(run_metrics.list_runs, limit)
    return json_response(msgspec.to_builtins(found))


@routes.get("/admin/runs/{run_id}")
async def run(request: web.Request) -> web.Response:
    _check_token(request)
    run_id = request.match_info["run_id"]
    if run_id == "current":
        run_id = request.app[SIM].run_id
    await _flush(request.app)
    try:
        metrics = await request.app[STORE].query(run_metrics.run_metrics, run_id)
    except run_metrics.UnknownRun as exc:
        return error_response(-1130, f"{exc}.", 404)
    return json_response(msgspec.to_builtins(metrics))

"""Pages for people: the live replay page at `/`, API docs at `/docs` (Swagger UI) and
`/redoc` (ReDoc), the OpenAPI document at `/openapi.json`, and `/admin/live`, the live page's
WebSocket feed.

Swagger UI and ReDoc are served from the files of the `drf-spectacular-sidecar` package (the
`docs` extra: `pip install 'exsim[docs]'`), located without importing it (its `__init__`
imports Django, which ExSim never needs); without it `/docs` and `/redoc` say which extra to
install. Nothing is fetched from a CDN.

The live page is no bot: its feed is its own WebSocket, not a market stream, so it is not one
of `/admin/status`'s `ws_clients`, its messages are not `ws_messages_sent`, and it never wakes
the market fan-out; its buttons call `/admin/*`, which carry no request weight.
"""
from __future__ import annotations

import asyncio
import hmac
import importlib.util
import logging
from contextlib import suppress
from pathlib import Path
from typing import Optional

import msgspec
import orjson
from aiohttp import WSMsgType, web

from ..engine.errors import ExchangeError
from ..engine.money import to_float
from ..engine.sim import DEFAULT_ACCOUNT
from . import openapi
from .api_schema import LiveHello
from .errors import error_response
from .format import money
from .keys import CLOCK, CONFIG, SIM
from .rest_market import kline_rows

log = logging.getLogger("exsim.pages")

STATIC = Path(__file__).with_name("static")
DOCS_EXTRA = "docs"
SIDECAR = "drf_spectacular_sidecar"
# the files /docs/assets/{name} serves, relative to the sidecar's static folder
DOC_ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js": "swagger-ui-dist/swagger-ui-standalone-preset.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "favicon-32x32.png": "swagger-ui-dist/favicon-32x32.png",
    "swagger-ui-LICENSE": "swagger-ui-dist/LICENSE",
    "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
    "redoc-LICENSE": "redoc/LICENSE",
}
LIVE_PERIOD = 0.25  # s of wall time between two looks at the replay (a frame only when it changed)
LIVE_BARS = 300  # base bars the page's chart keeps
LIVE_FILLS = 500  # fills sent on (re)connect

routes = web.RouteTableDef()
LIVE_SOCKETS = web.AppKey("live_sockets", set)


def sidecar_static() -> Optional[Path]:
    """The sidecar's static folder, or None when the `docs` extra is not installed."""
    try:
        spec = importlib.util.find_spec(SIDECAR)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "static" / SIDECAR
    return folder if (folder / DOC_ASSETS["swagger-ui-bundle.js"]).is_file() else None


def _missing_docs(request: web.Request, page: str) -> web.Response:
    msg = (f"{page} needs the '{DOCS_EXTRA}' extra (Swagger UI and ReDoc files): "
           f"pip install 'exsim[{DOCS_EXTRA}]'. The document itself is at /openapi.json.")
    if "text/html" in request.headers.get("Accept", ""):
        body = (f"<!doctype html><html><head><meta charset='utf-8'><title>ExSim {page}</title></head>"
                f"<body><h1>ExSim {page}</h1><p id='missing-extra'>{msg}</p>"
                f"<p><a href='/openapi.json'>/openapi.json</a></p></body></html>")
        return web.Response(text=body, status=503, content_type="text/html")
    return error_response(-1000, msg, 503)


SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ExSim API - Swagger UI</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/static/docs-init.js"></script>
</body></html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ExSim API - ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style></head>
<body><div id="redoc-container"></div>
<script src="/docs/assets/redoc.standalone.js"></script>
<script src="/static/redoc-init.js"></script>
</body></html>
"""


@routes.get("/")
async def live_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "live.html", headers={"Cache-Control": "no-cache"})


@routes.get("/static/{name}")
async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    files = {p.name for p in STATIC.iterdir() if p.is_file()}
    if name not in files:  # a fixed set: no path is ever built from the request
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


@routes.get("/docs")
async def swagger_page(request: web.Request) -> web.Response:
    if sidecar_static() is None:
        return _missing_docs(request, "/docs")
    return web.Response(text=SWAGGER_PAGE, content_type="text/html")


@routes.get("/redoc")
async def redoc_page(request: web.Request) -> web.Response:
    if sidecar_static() is None:
        return _missing_docs(request, "/redoc")
    return web.Response(text=REDOC_PAGE, content_type="text/html")


@routes.get("/docs/assets/{name}")
async def doc_asset(request: web.Request) -> web.StreamResponse:
    folder = sidecar_static()
    if folder is None:
        return _missing_docs(request, "/docs")
    rel = DOC_ASSETS.get(request.match_info["name"])
    if rel is None:
        raise web.HTTPNotFound()
    headers = {"Cache-Control": "public, max-age=86400"}
    if rel.endswith("LICENSE"):
        headers["Content-Type"] = "text/plain; charset=utf-8"
    return web.FileResponse(folder / rel, headers=headers)


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=openapi.document_bytes(), content_type="application/json")


# --- the live page's feed -------------------------------------------------------------------

class _Feed:
    """What one live-page connection has been sent: the run, the symbol, the last bar and
    how many fills of each account."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.run_id: Optional[str] = None
        self.last_bar: Optional[int] = None  # open time of the last bar sent
        self.fills_sent: dict[str, int] = {}
        self.last_key: Optional[tuple] = None
        self.frames = 0


def _token_ok(app: web.Application, token: str) -> bool:
    expected = app[CONFIG].admin_token
    return not expected or hmac.compare_digest(token.encode(), expected.encode())


def _positions(sim, acct, symbol: str) -> list[dict]:
    inst = sim.instrument(symbol)
    out = []
    for (sym, side), pos in acct.positions.items():  # read only: acct.position() would add one
        if sym == symbol and pos.amt:
            out.append({"side": side, "qty": inst.qty.fmt(pos.amt),
                        "entry": float(pos.entry(inst)), "leverage": pos.leverage})
    return out


async def _frame(app: web.Application, feed: _Feed) -> Optional[dict]:
    """The next frame for `feed`, or None when nothing changed since the last one."""
    sim, clock, cfg = app[SIM], app[CLOCK], app[CONFIG]
    reset = sim.run_id != feed.run_id
    if reset:
        feed.run_id, feed.last_bar, feed.fills_sent = sim.run_id, None, {}
    symbol = feed.symbol if feed.symbol in sim.markets else next(iter(sim.markets))
    if symbol != feed.symbol:
        feed.symbol, feed.last_bar, feed.fills_sent, reset = symbol, None, {}, True
    m = sim.markets[symbol]
    inst = m.inst
    acct = sim.accounts.get(DEFAULT_ACCOUNT) or next(iter(sim.accounts.values()))
    n_fills = sum(len(a.trades) for a in sim.accounts.values())
    key = (sim.run_id, sim.sim_time, sim.bars_done, clock.speed, clock.paused, clock.finished, n_fills,
           m.last, sim.run_status)
    if key == feed.last_key and not reset:
        return None
    feed.last_key = key
    bars: list = []
    try:
        rows = await kline_rows(app, symbol, cfg.interval, None, None, LIVE_BARS)
        bars = [[r[0], float(r[4])] for r in rows if feed.last_bar is None or r[0] >= feed.last_bar]
        if rows:
            feed.last_bar = rows[-1][0]
    except ExchangeError:  # e.g. the symbol has no bar at this sim time
        pass
    fills = []
    for name, a in sim.accounts.items():
        done = feed.fills_sent.get(name, 0)
        trades = a.trades
        if done > len(trades):  # the list was replaced (a restart): start over
            done = 0
        new = trades[max(done, len(trades) - LIVE_FILLS):]
        feed.fills_sent[name] = len(trades)
        fills += [{"t": t.time, "id": t.trade_id, "side": t.side, "price": inst.price.to_float(t.price),
                   "qty": inst.qty.fmt(t.qty), "maker": t.is_maker, "account": name}
                  for t in new if t.symbol == symbol]
    total = clock.total_bars
    feed.frames += 1
    return {
        "type": "snapshot", "reset": reset, "run_id": sim.run_id, "run_status": sim.run_status,
        "symbol": symbol, "symbols": list(sim.markets), "interval": cfg.interval, "sim_time": sim.sim_time,
        "bars_done": sim.bars_done, "bars_total": total,
        "progress": round(sim.bars_done / total, 6) if total else 0.0,
        "speed": clock.speed, "paused": clock.paused, "finished": clock.finished,
        "bars_per_sec": round(clock.bars_per_sec_actual(), 1),
        "price": inst.price.fmt(m.last), "mark": inst.price.fmt(m.mark),
        "account": next((n for n, a in sim.accounts.items() if a is acct), DEFAULT_ACCOUNT),
        "equity": to_float(sim.equity(acct)), "wallet": money(acct.wallet),
        "positions": _positions(sim, acct, symbol), "bars": bars, "fills": fills,
    }


@routes.get("/admin/live")
async def live_feed(request: web.Request) -> web.StreamResponse:
    """The live page's WebSocket: the client's first frame is `{"token": ..., "symbol": ...}`
    (the token only matters with `admin_token` set: browsers cannot send an Authorization header
    on a WebSocket); then a `snapshot` frame whenever the replay changed, at most one per
    LIVE_PERIOD; `{"symbol": "ETHUSDT"}` switches symbol."""
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    app = request.app
    try:
        first = await ws.receive(timeout=10)
    except asyncio.TimeoutError:
        await ws.close(code=1008, message=b"send {\"token\": ..., \"symbol\": ...} first")
        return ws
    if first.type != WSMsgType.TEXT:
        await ws.close()
        return ws
    try:
        hello = msgspec.json.decode(first.data, type=LiveHello)
    except msgspec.ValidationError:
        hello = None
    except msgspec.DecodeError:
        hello = None
    if hello is None:
        await ws.send_str('{"error":{"code":-1130,"msg":"Invalid live request: not a hello object."}}')
        await ws.close(code=1008, message=b"bad hello")
        return ws
    if not _token_ok(app, hello.token):
        await ws.send_str('{"error":{"code":-2015,"msg":"Invalid admin token."}}')
        await ws.close(code=1008, message=b"invalid admin token")
        return ws
    sim = app[SIM]
    feed = _Feed((hello.symbol or "").upper() or next(iter(sim.markets)))
    app[LIVE_SOCKETS].add(ws)
    try:
        while not ws.closed:
            frame = await _frame(app, feed)
            if frame is not None:
                await ws.send_str(orjson.dumps(frame).decode())
            try:
                msg = await ws.receive(timeout=LIVE_PERIOD)
            except asyncio.TimeoutError:
                continue
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            if msg.type == WSMsgType.TEXT:
                with suppress(msgspec.DecodeError, msgspec.ValidationError):
                    change = msgspec.json.decode(msg.data, type=LiveHello)
                    if change.symbol and change.symbol.upper() != feed.symbol:
                        feed.symbol, feed.last_bar, feed.fills_sent, feed.run_id = change.symbol.upper(), None, {}, None
    except ConnectionResetError:  # the page went away mid-send
        pass
    finally:
        app[LIVE_SOCKETS].discard(ws)
        with suppress(Exception):
            await ws.close()
    return ws


async def _close_live(app: web.Application) -> None:
    for ws in list(app[LIVE_SOCKETS]):
        with suppress(Exception):
            await ws.close(code=1001, message=b"server shutdown")


def add_routes(app: web.Application) -> None:
    """Register `/`, `/docs`, `/redoc`, `/openapi.json`, their assets and `/admin/live`."""
    app[LIVE_SOCKETS] = set()
    app.on_shutdown.append(_close_live)
    app.add_routes(routes)

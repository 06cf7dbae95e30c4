"""The OpenAPI 3.1 document of ExSim's HTTP API, built from msgspec Structs.

`ROUTES` is the route table: one `Op` per (method, path) the app serves, with its summary,
parameter Struct, response type and the Binance error codes it can answer. `WS_PATHS` lists the
WebSocket paths (OpenAPI has no WebSocket operations: they are described in `info.description`
and in `x-websockets`). `document()` turns both into the JSON served at `/openapi.json`; the
schemas come from `msgspec.json.schema_components` over the Structs of `api_schema.py`.

A route added to the app without an entry here fails
tests/pages/test_openapi_document_lists_every_route.py.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple, Optional

import msgspec

from .. import __version__
from ..store import run_metrics as RM
from . import api_schema as S


class Op(NamedTuple):
    method: str
    path: str
    summary: str
    params: type = S.NoParams
    response: Any = S.Empty
    errors: tuple[int, ...] = ()
    tag: str = "Market data"
    body: str = "query"  # query: parameters in the query string (or a form / JSON body); json: a JSON body
    security: str = "none"  # none | apikey | signed | admin
    content_type: str = "application/json"
    description: str = ""
    # each item of the answered list is the response Struct or an Error (batch routes)
    item_or_error: bool = False


class WsPath(NamedTuple):
    path: str
    summary: str


# Binance codes ExSim answers, with the gist of each message (docs only).
ERROR_TEXT = {
    -1000: "unknown error / unknown path / body too large",
    -1003: "too many requests (rate_limit on): REQUEST_WEIGHT 2400/min",
    -1013: "filter failure (price, quantity, notional)",
    -1020: "unsupported operation",
    -1021: "timestamp outside recvWindow (auth = verify)",
    -1022: "signature not valid (auth = verify)",
    -1023: "start time is greater than end time",
    -1100: "illegal characters in a parameter",
    -1101: "too many parameters",
    -1102: "mandatory parameter missing",
    -1106: "parameter sent when not required",
    -1111: "precision over the maximum",
    -1115: "invalid timeInForce",
    -1116: "invalid orderType",
    -1117: "invalid side",
    -1120: "invalid interval",
    -1121: "invalid symbol (not replayed)",
    -1122: "symbol has no bar at this sim time (before its data or after it)",
    -1125: "listen key does not exist",
    -1127: "more than 1 hour between startTime and endTime",
    -1130: "data sent for a parameter is not valid",
    -2011: "unknown order sent (cancel)",
    -2013: "order does not exist",
    -2014: "API key format invalid (auth = verify)",
    -2015: "invalid API key / admin token (HTTP 401)",
    -2019: "margin is insufficient",
    -2021: "order would immediately trigger",
    -2022: "reduceOnly order rejected",
    -2027: "exceeded the maximum allowable position at current leverage",
    -2028: "leverage is smaller than permitted: insufficient margin balance",
    -4003: "quantity less than or equal to zero",
    -4024: "price lower than multiplier floor",
    -4028: "leverage not valid",
    -4046: "no need to change margin type",
    -4047: "margin type cannot be changed if there are open orders",
    -4048: "margin type cannot be changed if there is a position",
    -4049: "add margin only for isolated positions",
    -4050: "cross balance insufficient",
    -4051: "isolated balance insufficient",
    -4054: "no position to add margin to",
    -4055: "amount must be positive",
    -4059: "no need to change position side",
    -4061: "positionSide does not match the position mode",
    -4067: "position side cannot be changed if there are open orders",
    -4068: "position side cannot be changed if there is a position",
    -4164: "order notional under the minimum",
    -4168: "multi-assets mode unavailable with isolated positions",
    -4171: "multi-assets mode is already the requested one",
    -5025: "only LIMIT orders can be modified",
    -5026: "order has been modified too many times",
    -5027: "no need to modify the order",
    -5029: "too many orders in a batch",
}

MARKET = (-1100, -1102, -1121, -1122, -1003)
SIGNED = (-1021, -1022, -2014, -2015)
NEW_ORDER = (-1102, -1106, -1111, -1115, -1116, -1117, -1121, -1122, -1130, -1013, -2019, -2021, -2022,
             -2027, -4003, -4024, -4061, -4164) + SIGNED
ORDER_ID = (-1102, -1121, -2011, -2013) + SIGNED
ADMIN = (-1130, -2015)

KLINES = list[S.KlineRow]
M, A, T, ADM, PG, SP = "Market data", "Account", "Trade", "Admin", "Pages", "Spot / wallet"

ROUTES: list[Op] = [
    # --- market data ----------------------------------------------------------------------
    Op("GET", "/fapi/v1/ping", "Test connectivity", response=S.Empty),
    Op("GET", "/fapi/v1/time", "Server time: the sim time, not wall time", response=S.ServerTime),
    Op("GET", "/fapi/v1/exchangeInfo", "Replayed symbols, filters and rate limits", response=S.ExchangeInfo),
    Op("GET", "/fapi/v1/klines", "Klines as of sim time (every interval at or above the base)",
       S.KlinesParams, KLINES, MARKET + (-1120, -1023)),
    Op("GET", "/fapi/v1/continuousKlines", "Klines of a pair's PERPETUAL contract", S.ContinuousKlinesParams,
       KLINES, MARKET + (-1120,)),
    Op("GET", "/fapi/v1/markPriceKlines", "Mark-price klines (loaded mark klines, else the bars)",
       S.KlinesParams, KLINES, MARKET + (-1120,)),
    Op("GET", "/fapi/v1/indexPriceKlines", "Index-price klines (the contract's own price)", S.PairKlinesParams,
       KLINES, MARKET + (-1120,)),
    Op("GET", "/fapi/v1/premiumIndexKlines", "Premium-index klines from the last settled funding rate",
       S.KlinesParams, KLINES, MARKET + (-1120,)),
    Op("GET", "/fapi/v1/ticker/price", "Last price (one symbol, or all)", S.OptionalSymbol,
       S.PriceTicker | list[S.PriceTicker], MARKET),
    Op("GET", "/fapi/v2/ticker/price", "Last price (v2)", S.OptionalSymbol, S.PriceTicker | list[S.PriceTicker], MARKET),
    Op("GET", "/fapi/v1/ticker/bookTicker", "Synthetic best bid/ask", S.OptionalSymbol,
       S.BookTicker | list[S.BookTicker], MARKET),
    Op("GET", "/fapi/v1/ticker/24hr", "24 h statistics as of sim time", S.OptionalSymbol,
       S.Ticker24h | list[S.Ticker24h], MARKET),
    Op("GET", "/fapi/v1/premiumIndex", "Mark price and funding", S.OptionalSymbol,
       S.PremiumIndex | list[S.PremiumIndex], MARKET),
    Op("GET", "/fapi/v1/fundingRate", "Settled funding rates", S.FundingRateParams, list[S.FundingRate],
       MARKET + (-1023,)),
    Op("GET", "/fapi/v1/fundingInfo", "Funding caps and intervals of the replayed symbols",
       response=list[S.FundingInfo]),
    Op("GET", "/fapi/v1/depth", "Synthetic order book", S.DepthParams, S.Depth, MARKET + (-1130,)),
    Op("GET", "/fapi/v1/trades", "Recent trades of the synthetic tape", S.TradesParams, list[S.MarketTrade], MARKET),
    Op("GET", "/fapi/v1/historicalTrades", "Older trades of the synthetic tape", S.HistoricalTradesParams,
       list[S.MarketTrade], MARKET),
    Op("GET", "/fapi/v1/aggTrades", "Aggregate trades (one per synthetic trade)", S.AggTradesParams,
       list[S.AggTrade], MARKET + (-1127, -1023)),
    Op("GET", "/fapi/v1/openInterest", "Open interest (table, else synthetic 24 h volume)", S.SymbolOnly,
       S.OpenInterest, MARKET),
    Op("GET", "/futures/data/openInterestHist", "Open-interest history", S.OpenInterestHistParams,
       list[S.OpenInterestHist], MARKET + (-1130,)),
    Op("GET", "/api/v3/ping", "Spot ping (clients probe it)", tag=SP),
    Op("GET", "/api/v3/time", "Spot time (= sim time)", response=S.ServerTime, tag=SP),
    Op("GET", "/sapi/v1/capital/config/getall", "Wallet coin config: always []", response=list[dict[str, Any]],
       tag=SP),
    # --- account ----------------------------------------------------------------------------
    Op("GET", "/fapi/v2/balance", "Balances", S.Signed, list[S.Balance], SIGNED, A, security="signed"),
    Op("GET", "/fapi/v3/balance", "Balances (v3)", S.Signed, list[S.Balance], SIGNED, A, security="signed"),
    Op("GET", "/fapi/v2/account", "Account with assets and positions", S.Signed, S.AccountV2, SIGNED, A,
       security="signed"),
    Op("GET", "/fapi/v3/account", "Account (v3)", S.Signed, S.AccountV3, SIGNED, A, security="signed"),
    Op("GET", "/fapi/v1/positionRisk", "Positions (alias of v2)", S.SignedOptionalSymbol, list[S.PositionRiskV2],
       SIGNED + (-1121,), A, security="signed"),
    Op("GET", "/fapi/v2/positionRisk", "Positions", S.SignedOptionalSymbol, list[S.PositionRiskV2],
       SIGNED + (-1121,), A, security="signed"),
    Op("GET", "/fapi/v3/positionRisk", "Positions (v3)", S.SignedOptionalSymbol, list[S.PositionRiskV3],
       SIGNED + (-1121,), A, security="signed"),
    Op("POST", "/fapi/v1/leverage", "Set leverage", S.LeverageParams, S.LeverageChange,
       SIGNED + (-1102, -1121, -4028, -2027, -2028), A, security="signed"),
    Op("POST", "/fapi/v1/marginType", "Set CROSSED / ISOLATED", S.MarginTypeParams, S.Done,
       SIGNED + (-1102, -1121, -4046, -4047, -4048), A, security="signed"),
    Op("GET", "/fapi/v1/positionSide/dual", "Position mode", S.Signed, S.DualSide, SIGNED, A, security="signed"),
    Op("POST", "/fapi/v1/positionSide/dual", "Set hedge / one-way mode", S.DualSideParams, S.Done,
       SIGNED + (-1102, -1130, -4059, -4067, -4068), A, security="signed"),
    Op("GET", "/fapi/v1/multiAssetsMargin", "Multi-assets mode", S.Signed, S.MultiAssets, SIGNED, A,
       security="signed"),
    Op("POST", "/fapi/v1/multiAssetsMargin", "Set multi-assets mode (remembered; margin stays USDT)",
       S.MultiAssetsParams, S.Done, SIGNED + (-1102, -4168, -4171), A, security="signed"),
    Op("POST", "/fapi/v1/positionMargin", "Add / reduce isolated margin", S.PositionMarginParams,
       dict[str, Any], SIGNED + (-1102, -4049, -4050, -4051, -4054, -4055), A, security="signed"),
    Op("GET", "/fapi/v1/positionMargin/history", "Isolated margin changes", S.PositionMarginHistoryParams,
       list[dict[str, Any]], SIGNED + (-1102, -1121), A, security="signed"),
    Op("GET", "/fapi/v1/adlQuantile", "ADL quantiles (each position ranked against itself)",
       S.SignedOptionalSymbol, list[S.AdlQuantile], SIGNED, A, security="signed"),
    Op("GET", "/fapi/v1/commissionRate", "Maker / taker rates", S.SignedSymbol, S.CommissionRate,
       SIGNED + (-1102, -1121), A, security="signed"),
    Op("GET", "/fapi/v1/income", "Income history (realized PnL, commission, funding)", S.IncomeParams,
       list[S.Income], SIGNED + (-1023, -1130), A, security="signed"),
    Op("GET", "/fapi/v1/leverageBracket", "Leverage brackets", S.SignedOptionalSymbol, list[S.LeverageBracket],
       SIGNED + (-1121,), A, security="signed"),
    Op("GET", "/fapi/v1/symbolConfig", "Per-symbol margin type and leverage", S.SignedOptionalSymbol,
       list[S.SymbolConfig], SIGNED + (-1121,), A, security="signed"),
    Op("GET", "/fapi/v1/accountConfig", "Account configuration", S.Signed, S.AccountConfig, SIGNED, A,
       security="signed"),
    Op("POST", "/fapi/v1/listenKey", "Start a user-data stream", response=S.ListenKey, errors=(-2014, -2015),
       tag=A, security="apikey"),
    Op("PUT", "/fapi/v1/listenKey", "Keep a user-data stream alive (60 min of wall time)", response=S.ListenKey,
       errors=(-1125, -2014, -2015), tag=A, security="apikey"),
    Op("DELETE", "/fapi/v1/listenKey", "Close a user-data stream", response=S.Empty, errors=(-2014, -2015),
       tag=A, security="apikey"),
    # --- trade --------------------------------------------------------------------------------
    Op("POST", "/fapi/v1/order", "New order", S.NewOrderParams, S.Order, NEW_ORDER, T, security="signed",
       description="Parameters in the query string, a form body or a JSON object body."),
    Op("POST", "/fapi/v1/order/test", "Test a new order (validated, not placed)", S.NewOrderParams, S.Empty,
       NEW_ORDER, T, security="signed"),
    Op("PUT", "/fapi/v1/order", "Modify a resting LIMIT order", S.ModifyOrderParams, S.Order,
       ORDER_ID + (-1106, -1130, -2019, -2027, -5025, -5026, -5027), T, security="signed"),
    Op("GET", "/fapi/v1/order", "Query an order", S.OrderIdParams, S.Order, ORDER_ID, T, security="signed"),
    Op("DELETE", "/fapi/v1/order", "Cancel an order", S.OrderIdParams, S.Order, ORDER_ID, T, security="signed"),
    Op("DELETE", "/fapi/v1/allOpenOrders", "Cancel all open orders of a symbol", S.SignedSymbol, S.Done,
       SIGNED + (-1102, -1121), T, security="signed"),
    Op("GET", "/fapi/v1/openOrders", "Open orders", S.SignedOptionalSymbol, list[S.Order], SIGNED + (-1121,), T,
       security="signed"),
    Op("GET", "/fapi/v1/openOrder", "One open order", S.OrderIdParams, S.Order, ORDER_ID, T, security="signed"),
    Op("GET", "/fapi/v1/allOrders", "All orders of this run", S.AllOrdersParams, list[S.Order],
       SIGNED + (-1102, -1121, -1023), T, security="signed"),
    Op("GET", "/fapi/v1/userTrades", "Account trades (fills)", S.UserTradesParams, list[S.UserTrade],
       SIGNED + (-1102, -1121, -1023), T, security="signed"),
    Op("GET", "/fapi/v1/orderAmendment", "Amendments of an order, newest first", S.OrderAmendmentParams,
       list[dict[str, Any]], SIGNED + (-1102, -1121), T, security="signed"),
    Op("POST", "/fapi/v1/batchOrders", "Up to 5 new orders (each answered in order, not atomic)",
       S.BatchOrdersParams, list[S.Order], SIGNED + (-1102, -1130, -5029), T, security="signed", item_or_error=True),
    Op("PUT", "/fapi/v1/batchOrders", "Up to 5 modifications", S.BatchModifyParams, list[S.Order],
       SIGNED + (-1102, -1130, -5029), T, security="signed", item_or_error=True),
    Op("DELETE", "/fapi/v1/batchOrders", "Cancel up to 10 orders", S.BatchCancelParams, list[S.Order],
       SIGNED + (-1102, -1121, -1130), T, security="signed", item_or_error=True),
    Op("POST", "/fapi/v1/countdownCancelAll", "Auto-cancel after a countdown of sim time", S.CountdownParams,
       S.CountdownCancelAll, SIGNED + (-1102, -1121), T, security="signed"),
    Op("GET", "/fapi/v1/forceOrders", "The account's liquidation orders", S.ForceOrdersParams, list[S.Order],
       SIGNED + (-1121, -1023), T, security="signed"),
    Op("GET", "/fapi/v1/rateLimit/order", "Order rate limits with the current counts", S.Signed,
       list[S.OrderRateLimit], SIGNED, T, security="signed"),
    Op("POST", "/fapi/v1/algoOrder", "New conditional (algo) order", S.AlgoOrderParams, S.AlgoOrder,
       NEW_ORDER, T, security="signed"),
    Op("GET", "/fapi/v1/algoOrder", "Query an algo order", S.AlgoIdParams, S.AlgoOrder, SIGNED + (-1102, -2013),
       T, security="signed"),
    Op("DELETE", "/fapi/v1/algoOrder", "Cancel an algo order", S.AlgoIdParams, S.AlgoOrder,
       SIGNED + (-1102, -2011), T, security="signed"),
    Op("GET", "/fapi/v1/openAlgoOrders", "Open algo orders", S.SignedOptionalSymbol, list[S.AlgoOrder],
       SIGNED + (-1121,), T, security="signed"),
    Op("GET", "/fapi/v1/allAlgoOrders", "All algo orders of this run", S.AllAlgoOrdersParams, list[S.AlgoOrder],
       SIGNED + (-1102, -1121, -1023), T, security="signed"),
    Op("DELETE", "/fapi/v1/algoOpenOrders", "Cancel all open algo orders of a symbol", S.SignedSymbol, S.Done,
       SIGNED + (-1102, -1121), T, security="signed"),
    # --- admin ---------------------------------------------------------------------------------
    Op("GET", "/admin/status", "Replay and account status", S.StatusParams, S.AdminStatus, (-2015,), ADM,
       security="admin"),
    Op("POST", "/admin/replay", "Set speed and/or restart the replay on a range (a new run)", S.ReplayParams,
       S.AdminReplayed, ADMIN + (-1023,), ADM, "json", "admin"),
    Op("POST", "/admin/pause", "Pause the clock", response=S.AdminPaused, errors=(-2015,), tag=ADM,
       security="admin"),
    Op("POST", "/admin/resume", "Resume at the last speed", response=S.AdminResumed, errors=(-2015,), tag=ADM,
       security="admin"),
    Op("POST", "/admin/step", "Advance exactly N bars (deterministic)", S.StepParams, S.AdminStepped, ADMIN, ADM,
       "json", "admin"),
    Op("GET", "/admin/runs", "Stored runs with their metrics, newest first (as `exsim runs list --json`)",
       S.RunsParams, list[RM.RunSummary], ADMIN, ADM, security="admin"),
    Op("GET", "/admin/runs/{run_id}", "Every metric of one run (`current`: this gateway's run; a unique prefix "
       "works)", response=RM.RunMetrics, errors=ADMIN, tag=ADM, security="admin",
       description="HTTP 404 with -1130 for an unknown run."),
    # --- pages (exsim/wire/pages.py) -----------------------------------------------------------
    Op("GET", "/", "Live page: the replay as it runs", response=str, tag=PG, content_type="text/html"),
    Op("GET", "/docs", "Swagger UI of this document", response=str, tag=PG, content_type="text/html"),
    Op("GET", "/redoc", "ReDoc of this document", response=str, tag=PG, content_type="text/html"),
    Op("GET", "/openapi.json", "This document (OpenAPI 3.1)", response=dict[str, Any], tag=PG),
    Op("GET", "/static/{name}", "The live page's script and style (exsim/wire/static)", response=str, tag=PG,
       content_type="text/plain"),
    Op("GET", "/docs/assets/{name}", "Swagger UI and ReDoc files of the installed drf-spectacular-sidecar",
       response=str, tag=PG, content_type="text/plain"),
]

WS_PATHS: list[WsPath] = [
    WsPath("/ws", "raw streams: SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS frames"),
    WsPath("/ws/{streams}", "raw stream(s) from the path, e.g. `/ws/btcusdt@kline_1m`, or a listen key"),
    WsPath("/stream", "combined streams (`{\"stream\",\"data\"}`): `?streams=btcusdt@kline_1m/<listenKey>`"),
    WsPath("/public/ws", "the same as /ws (ccxt.pro connection suffixes `/public/ws/<n>`)"),
    WsPath("/public/ws/{streams}", "the same as /ws/{streams}"),
    WsPath("/public/stream", "the same as /stream"),
    WsPath("/market/ws", "the same as /ws"),
    WsPath("/market/ws/{streams}", "the same as /ws/{streams}"),
    WsPath("/market/stream", "the same as /stream"),
    WsPath("/private/ws", "user data: `?listenKey=<key>`"),
    WsPath("/private/ws/{streams}", "the same as /ws/{streams}"),
    WsPath("/private/stream", "the same as /stream"),
    WsPath("/ws-fapi/v1", "WebSocket API: `{\"id\",\"method\",\"params\"}` requests (order.place, ...)"),
    WsPath("/ws-fapi/v1/", "the same as /ws-fapi/v1"),
    WsPath("/admin/live", "the live page's feed: status, bars and fills as the replay runs (not a bot stream)"),
    WsPath("/admin/clock", "exsim run-bot: sim time pushed to bots; their sleep alarms (not a bot stream)"),
]

DESCRIPTION = """\
ExSim: a local exchange that speaks the **Binance USDⓈ-M Futures API** and replays historical bars
from DuckDB on a clock you control. Every answer is as of **sim time**. Errors have Binance's shape
`{"code": -1121, "msg": "Invalid symbol."}` (HTTP 400 unless noted).

Parameters of `/fapi` routes may come in the query string, a form body or a JSON object body,
whatever the method. With `auth = "off"` (default) signatures are ignored and every request is the
default account; with `auth = "verify"` signed routes need `timestamp` + `signature` and the
`X-MBX-APIKEY` header. With `admin_token` set, `/admin/*` needs `Authorization: Bearer <token>`.

**WebSocket paths** (not listed under paths; Binance's payloads, kline `x=true` on bar close):

{ws}

Live page: [/](/) · Swagger UI: [/docs](/docs) · ReDoc: [/redoc](/redoc)
"""


def _errors_text(codes: tuple[int, ...]) -> str:
    return "Binance error codes: " + "; ".join(f"`{c}` {ERROR_TEXT.get(c, '')}".rstrip() for c in codes)


def _param_list(params: type, schemas: dict, in_: str = "query") -> list[dict]:
    comp = schemas.get(params.__name__, {})
    required = set(comp.get("required", ()))
    out = []
    for name, schema in comp.get("properties", {}).items():
        schema = dict(schema)
        # an optional query parameter is absent, never JSON null: keep the non-null branch
        branches = schema.get("anyOf")
        if branches and len(branches) == 2 and {"type": "null"} in branches:
            inner = next(b for b in branches if b != {"type": "null"})
            schema.pop("anyOf")
            schema = {**inner, **{k: v for k, v in schema.items() if k != "default" or v is not None}}
        if schema.get("default", 0) is None:
            schema.pop("default")
        item = {"name": name, "in": in_, "required": name in required, "schema": schema}
        if "description" in schema:
            item["description"] = schema.pop("description")
        out.append(item)
    out.sort(key=lambda item: not item["required"])  # required first, otherwise declaration order
    return out


def _path_params(path: str) -> list[dict]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


SECURITY = {"none": None, "apikey": [{"ApiKey": []}, {}], "signed": [{"ApiKey": []}, {}],
            "admin": [{"AdminToken": []}, {}]}


def _all_types() -> list:
    types: list = []
    for op in ROUTES:
        for t in (op.params, op.response):
            if t not in types:
                types.append(t)
    types.append(S.Error)
    types.append(S.LiveHello)
    return types


@lru_cache(maxsize=1)
def _document_bytes() -> bytes:
    return msgspec.json.encode(build())


def document_bytes() -> bytes:
    """The document as JSON bytes (built once per process)."""
    return _document_bytes()


def build() -> dict:
    types = _all_types()
    schema_list, schemas = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    def schema_of(t) -> dict:
        return schema_list[types.index(t)]
    paths: dict[str, dict] = {}
    tags: list[str] = []
    for op in ROUTES:
        if op.tag not in tags:
            tags.append(op.tag)
        operation: dict[str, Any] = {
            "tags": [op.tag], "summary": op.summary,
            "operationId": op.method.lower() + "".join(
                p[:1].upper() + p[1:] for p in op.path.replace("{", "").replace("}", "").replace(".", "_")
                .split("/") if p) if op.path != "/" else "getLivePage",
        }
        description = op.description or (op.params.__doc__ or "").strip()
        if op.params.__name__ in ("NoParams",):
            description = op.description
        if op.errors:
            description = (description + "\n\n" if description else "") + _errors_text(op.errors)
        if description:
            operation["description"] = description
        parameters = _path_params(op.path)
        if op.body == "json":
            operation["requestBody"] = {"required": False, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.params.__name__}"}}}}
        else:
            parameters += _param_list(op.params, schemas)
        if parameters:
            operation["parameters"] = parameters
        response_schema = schema_of(op.response)
        if op.item_or_error:
            response_schema = {"type": "array", "items": {"anyOf": [
                response_schema["items"], {"$ref": "#/components/schemas/Error"}]}}
        media = "application/json" if op.content_type == "application/json" else op.content_type
        operation["responses"] = {
            "200": {"description": "OK", "content": {media: {"schema": response_schema}}},
        }
        if op.errors or op.security != "none":
            operation["responses"]["4XX"] = {
                "description": "Binance error" + (": " + ", ".join(map(str, op.errors)) if op.errors else ""),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        security = SECURITY[op.security]
        if security is not None:
            operation["security"] = security
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    ws_lines = "\n".join(f"- `{w.path}`: {w.summary}" for w in WS_PATHS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ExSim API (Binance USD-M Futures compatible replay exchange)",
            "version": __version__,
            "description": DESCRIPTION.replace("{ws}", ws_lines),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/", "description": "this gateway"}],
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-MBX-APIKEY",
                           "description": "Checked with auth = \"verify\" only (then signed routes also "
                                          "need timestamp + signature)."},
                "AdminToken": {"type": "http", "scheme": "bearer",
                               "description": "The configured admin_token; not needed when it is unset."},
            },
        },
        "x-websockets": [{"path": w.path, "summary": w.summary} for w in WS_PATHS],
    }


def operations() -> set[tuple[str, str]]:
    """(METHOD, path) of every documented HTTP operation."""
    return {(op.method, op.path) for op in ROUTES}


def ws_paths() -> set[str]:
    return {w.path for w in WS_PATHS}


def find(method: str, path: str) -> Optional[Op]:
    for op in ROUTES:
        if op.method == method and op.path == path:
            return op
    return None

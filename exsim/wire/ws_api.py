"""The WebSocket API (`/ws-fapi/v1`): Binance's request/response trading API over one socket.

One more translator, like the REST routes: each request `{"id", "method", "params"}` becomes the
same command (engine/commands.py) the REST route would send, applied through the replay's one
entry point, and its result is formatted by the same functions (format.py). The answer is
`{"id", "status", "result" | "error", "rateLimits"}`; every failure (bad JSON, unknown method,
a refused order, a bug) is answered on the socket, never a dropped connection or a traceback.

Signing (when `auth = "verify"`): a request carries `apiKey`, `timestamp` and `signature` in its
params, signed over the other params sorted by name as `k=v&...` (Binance's rule). Clients
render values differently (ccxt: raw text and `true`; python-binance: `True`; the modular SDK:
url-encoded), so each rendering is tried. HMAC keys verify through auth.py (same secrets and
timestamp clocks as REST). A configured key whose `secret` is a PEM Ed25519 *public* key
verifies base64 Ed25519 signatures (Binance's only key type for `session.logon`; HMAC logon is
accepted too). After `session.logon` a request may omit apiKey and signature.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import time
from typing import Optional
from urllib.parse import unquote, urlencode

import orjson
from aiohttp import WSMsgType, web

from ..engine import errors as E
from ..engine.commands import CancelOrder, PlaceOrder
from ..engine.errors import ExchangeError, bad_param, missing_param, reject
from ..engine.orders import CONDITIONAL
from ..engine.sim import DEFAULT_ACCOUNT
from .auth import Auth
from .errors import STATUS_BY_CODE
from .format import (account_json, algo_json, balance_json, listed_positions, order_json, position_risk_v2,
                     position_risk_v3)
from .keys import AUTH, CONFIG, REPLAY, SIM, USER
from .params import MAX_PARAM_LEN, Params
from .rest_market import requested_symbols
from .rest_trade import ORDER_COUNTS, _id, _regular, new_order_request
from .ws import drop_close_cycle, frame
from .weights import RequestWeights

log = logging.getLogger("exsim.ws_api")
routes = web.RouteTableDef()

WEIGHT_LIMIT = 2400  # REQUEST_WEIGHT per minute, as exchangeInfo.rateLimits says
ORDERS_10S, ORDERS_1M = 300, 1200
INTERNAL = (-1000, "An unknown error occured while processing the request.")

# method -> (security, IP weight, counts on the ORDERS limits). Security: NONE, SIGNED
# (TRADE / USER_DATA: apiKey + timestamp + signature), USER_STREAM (apiKey only).
METHODS: dict[str, tuple[str, int, bool]] = {
    "session.logon": ("SIGNED", 2, False), "session.status": ("NONE", 2, False),
    "session.logout": ("NONE", 2, False),
    "order.place": ("SIGNED", 0, True), "order.modify": ("SIGNED", 1, True),
    "order.cancel": ("SIGNED", 1, False), "order.status": ("SIGNED", 1, False),
    "algoOrder.place": ("SIGNED", 0, True), "algoOrder.cancel": ("SIGNED", 1, False),
    "account.status": ("SIGNED", 5, False), "v2/account.status": ("SIGNED", 5, False),
    "account.balance": ("SIGNED", 5, False), "v2/account.balance": ("SIGNED", 5, False),
    "account.position": ("SIGNED", 5, False), "v2/account.position": ("SIGNED", 5, False),
    "userDataStream.start": ("USER_STREAM", 1, False), "userDataStream.ping": ("USER_STREAM", 1, False),
    "userDataStream.stop": ("USER_STREAM", 1, False),
}


class WsApiError(Exception):
    """An envelope-level failure (the request could not be read): answered with `id` null."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


WEIGHTS = web.AppKey("ws_api_weights", RequestWeights)  # its own counter: REST's is the middleware's


class Session:
    """One connection's state: the logged-on key (session.logon) and the rateLimits default."""

    __slots__ = ("ip", "connected_since", "api_key", "authorized_since", "return_rate_limits")

    def __init__(self, ip: str, return_rate_limits: bool) -> None:
        self.ip = ip
        self.connected_since = int(time.time() * 1000)
        self.api_key: Optional[str] = None
        self.authorized_since: Optional[int] = None
        self.return_rate_limits = return_rate_limits


# --- parameters and signatures --------------------------------------------------------------

def _text(value: object, capital_bools: bool = False) -> str:
    if value is True:
        return "True" if capital_bools else "true"
    if value is False:
        return "False" if capital_bools else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def to_params(raw: dict) -> Params:
    """JSON params -> the text values REST handlers read (null means not sent)."""
    values: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            continue
        text = _text(value)
        if len(text) > MAX_PARAM_LEN or len(key) > 100:
            raise ExchangeError(-1100, f"Illegal characters found in parameter '{key[:40]}'; value too long.")
        values[key] = text
    return Params(values, "", "")


def payloads(raw: dict) -> list[str]:
    """The strings a client may have signed: params but `signature`, sorted by name, `k=v&...`,
    with values as sent (Binance, ccxt), booleans capitalised (python-binance's str(True)), and
    url-encoded (the modular SDK's urlencode)."""
    items = sorted((k, v) for k, v in raw.items() if k != "signature" and v is not None)
    out: list[str] = []
    for capital in (False, True):
        pairs = [(k, _text(v, capital)) for k, v in items]
        for text in ("&".join(f"{k}={v}" for k, v in pairs), urlencode(pairs)):
            if text not in out:
                out.append(text)
        if not any(isinstance(v, bool) for _, v in items):
            break
    return out


@functools.lru_cache(maxsize=64)
def _ed25519_key(secret: str):
    """The Ed25519 public key a configured secret holds (PEM), or None: an HMAC secret."""
    if "BEGIN PUBLIC KEY" not in secret:
        return None
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:  # pragma: no cover - cryptography ships with the client libraries
        raise ExchangeError(-1022, "Signature for this request is not valid.") from None
    try:
        key = load_pem_public_key(secret.encode())
    except ValueError:  # not a readable PEM key: the text is an HMAC secret after all
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def verify(auth: Auth, raw: dict, key: str) -> None:
    """Check `raw`'s signature for `key` (configured), then its timestamp (auth.py's clocks)."""
    secret = auth.secrets[key]
    signature = raw.get("signature")
    if not isinstance(signature, str) or not signature:
        raise missing_param("signature")
    if raw.get("timestamp") is None:
        raise missing_param("timestamp")
    public = _ed25519_key(secret.decode())
    candidates = payloads(raw)
    if public is not None:
        try:
            sig = base64.b64decode(unquote(signature), validate=True)
        except ValueError:
            raise ExchangeError(-1022, "Signature for this request is not valid.") from None
        signed = next((c for c in candidates if _ed25519_ok(public, sig, c)), None)
        if signed is None:
            raise ExchangeError(-1022, "Signature for this request is not valid.")
        # the signature is good: let auth.py judge the timestamp, over a payload it can verify
        signature = hmac.new(secret, signed.encode(), hashlib.sha256).hexdigest()
        candidates = [signed]
    values = to_params(raw).values
    for i, text in enumerate(candidates):
        try:
            auth._verify(Params(values, f"{text}&signature={signature}", ""), secret, key)
            return
        except ExchangeError as exc:
            if exc.code != -1022 or i == len(candidates) - 1:
                raise


def _ed25519_ok(public, sig: bytes, text: str) -> bool:
    try:
        public.verify(sig, text.encode())
        return True
    except Exception:  # cryptography.exceptions.InvalidSignature
        return False


def _key_of(raw: dict) -> str:
    key = raw.get("apiKey")
    if not isinstance(key, str) or not key or len(key) > 256 or not key.isprintable():
        raise ExchangeError(-2014, "API-key format invalid.")
    return key


def account_name(app: web.Application, session: Session, raw: dict, security: str) -> str:
    """Who is asking: the default account with auth off; else the request's key (signature
    checked for SIGNED methods) or the session's logged-on key."""
    auth: Auth = app[AUTH]
    if auth.cfg.auth == "off":
        return DEFAULT_ACCOUNT
    if "apiKey" in raw or "signature" in raw or session.api_key is None:
        key = _key_of(raw)
        if key not in auth.secrets:
            raise ExchangeError(-2015, "Invalid API-key, IP, or permissions for action.")
        if security == "SIGNED":
            verify(auth, raw, key)
    else:
        key = session.api_key
    return key


# --- methods --------------------------------------------------------------------------------

async def _apply(app: web.Application, cmd):
    return (await app[REPLAY].apply(cmd)).result


def _session_json(session: Session) -> dict:
    return {"apiKey": session.api_key, "authorizedSince": session.authorized_since,
            "connectedSince": session.connected_since, "returnRateLimits": session.return_rate_limits,
            "serverTime": int(time.time() * 1000)}


async def run_method(app: web.Application, session: Session, method: str, raw: dict) -> object:
    security = METHODS[method][0]
    if method == "session.status":
        return _session_json(session)
    if method == "session.logout":
        session.api_key = session.authorized_since = None
        return _session_json(session)
    p = to_params(raw)
    sim = app[SIM]
    if method == "session.logon":
        if app[AUTH].cfg.auth == "off":  # nothing to check: the session trades the default account
            session.api_key = raw.get("apiKey") if isinstance(raw.get("apiKey"), str) else None
        else:
            key = _key_of(raw)
            if key not in app[AUTH].secrets:
                raise ExchangeError(-2015, "Invalid API-key, IP, or permissions for action.")
            verify(app[AUTH], raw, key)
            session.api_key = key
        session.authorized_since = int(time.time() * 1000)
        return _session_json(session)
    acct = sim.account(account_name(app, session, raw, security))
    if method == "order.place":
        order = await _apply(app, PlaceOrder(account=acct.name, order=new_order_request(p)))
        ack = (p.opt("newOrderRespType") or "ACK") == "ACK"
        return order_json(sim.instrument(order.symbol), order, ack=ack)
    if method == "order.cancel":
        symbol = p.symbol()
        order_id, client_id = _id(p)
        order = await _apply(app, CancelOrder(account=acct.name, symbol=symbol, order_id=order_id,
                                              client_order_id=client_id, scope="order"))
        return order_json(sim.instrument(symbol), order)
    if method == "order.status":
        symbol = p.symbol()
        inst = sim.instrument(symbol)
        order = _regular(sim.find_order(acct, symbol, *_id(p)))
        if order is None:
            raise reject(E.ORDER_NOT_FOUND)
        return order_json(inst, order, with_time=True)
    if method == "order.modify":
        return await _modify(app, acct.name, p)
    if method == "algoOrder.place":
        if p.req("algoType") != "CONDITIONAL":
            raise bad_param("algoType")
        if p.req("type") not in CONDITIONAL:
            raise ExchangeError(-1116, "Invalid orderType.")
        order = await _apply(app, PlaceOrder(account=acct.name, order=new_order_request(p, algo=True)))
        return algo_json(sim.instrument(order.symbol), order)
    if method == "algoOrder.cancel":
        order = await _apply(app, CancelOrder(account=acct.name, symbol="", order_id=p.int("algoId", None, 0),
                                              client_order_id=p.opt("clientAlgoId"), scope="algo"))
        return {"algoId": order.algo_id, "clientAlgoId": order.client_algo_id, "code": "200", "msg": "success"}
    if method in ("account.status", "v2/account.status"):
        return account_json(sim, acct, 2 if method == "account.status" else 3)
    if method in ("account.balance", "v2/account.balance"):
        return balance_json(sim, acct)
    if method == "account.position":  # as /fapi/v2/positionRisk
        return [position_risk_v2(sim, acct, pos)
                for pos in listed_positions(sim, acct, requested_symbols(sim, p), active_only=False)]
    if method == "v2/account.position":  # as /fapi/v3/positionRisk: only symbols with a position or orders
        return [position_risk_v3(sim, acct, pos)
                for pos in listed_positions(sim, acct, requested_symbols(sim, p), active_only=True)]
    user = app[USER]
    if method == "userDataStream.start":
        return {"listenKey": user.open(acct.name)}
    if method == "userDataStream.ping":
        key = user.keepalive(acct.name)
        if key is None:
            raise ExchangeError(-1125, "This listenKey does not exist.")
        return {"listenKey": key}
    if method == "userDataStream.stop":
        if not user.close(acct.name):
            raise ExchangeError(-1125, "This listenKey does not exist.")
        return {}
    raise AssertionError(method)  # pragma: no cover - METHODS and this function list the same


async def _modify(app: web.Application, account: str, p: Params) -> dict:
    """order.modify: amend a resting LIMIT order's price and quantity (engine's ModifyOrder)."""
    from ..engine.commands import ModifyOrder  # added alongside this module
    sim = app[SIM]
    symbol = p.symbol()
    order_id, client_id = p.int("orderId", None, 0), p.opt("origClientOrderId")
    if order_id is None and client_id is None:
        raise missing_param("orderId")
    order = await _apply(app, ModifyOrder(account=account, symbol=symbol, side=p.req("side"),
                                          quantity=p.opt("quantity"), price=p.opt("price"),
                                          order_id=order_id, client_order_id=client_id,
                                          price_match=p.opt("priceMatch") or "NONE"))
    return order_json(sim.instrument(symbol), order)


# --- the envelope ---------------------------------------------------------------------------

def _rate_limits(weight: int, orders: Optional[dict]) -> list[dict]:
    out = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
            "limit": WEIGHT_LIMIT, "count": weight}]
    if orders is not None:
        out.append({"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
                    "limit": ORDERS_10S, "count": int(orders["X-MBX-ORDER-COUNT-10S"])})
        out.append({"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
                    "limit": ORDERS_1M, "count": int(orders["X-MBX-ORDER-COUNT-1M"])})
    return out


def _parse(text: str | bytes) -> tuple[object, str, dict]:
    """(id, method, params) of a request, or WsApiError."""
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise WsApiError(-1000, "Invalid JSON request: malformed JSON.") from None
    if not isinstance(msg, dict):
        raise WsApiError(-1000, "Invalid JSON request; expected an object.")
    req_id = msg.get("id")
    if req_id is not None and (isinstance(req_id, bool) or not isinstance(req_id, (int, str))):
        raise WsApiError(-1000, "Invalid 'id' in JSON request; expected an integer, a string or null.")
    method = msg.get("method")
    if not isinstance(method, str) or not method:
        raise WsApiError(-1000, "Invalid 'method' in JSON request; expected a string.")
    params = msg.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise WsApiError(-1000, "Invalid 'params' in JSON request; expected an object.")
    return req_id, method, params


async def handle(app: web.Application, session: Session, text: str | bytes) -> dict:
    """One request in, its response out (always a response)."""
    try:
        req_id, method, raw = _parse(text)
    except WsApiError as exc:
        return {"id": None, "status": 400, "error": {"code": exc.code, "msg": exc.msg}}
    if method.startswith("v1/"):  # an explicit version prefix of the default version
        method = method[3:]
    spec = METHODS.get(method)
    flag = raw.get("returnRateLimits")
    show = session.return_rate_limits if flag is None else flag in (True, "true", "TRUE", "True")
    weight = app[WEIGHTS].add(session.ip, spec[1] if spec else 1)
    orders = None
    try:
        if spec is None:
            raise ExchangeError(-1020, f"This operation is not supported: unknown method '{method[:60]}'.")
        if app[CONFIG].rate_limit and weight > WEIGHT_LIMIT:
            raise ExchangeError(-1003, f"Too many requests; current limit is {WEIGHT_LIMIT} requests per "
                                "minute. Please use the websocket for live updates to avoid polling the API.")
        if spec[2]:
            key = raw.get("apiKey") if isinstance(raw.get("apiKey"), str) else session.api_key or ""
            orders = app[ORDER_COUNTS].hit(key)
        reply = {"id": req_id, "status": 200, "result": await run_method(app, session, method, raw)}
    except ExchangeError as exc:
        reply = {"id": req_id, "status": STATUS_BY_CODE.get(exc.code, 400),
                 "error": {"code": exc.code, "msg": exc.msg}}
    except Exception:  # a bug: Binance's internal error, the socket stays
        log.exception("WebSocket API request failed: %s", method[:60])
        reply = {"id": req_id, "status": 500, "error": {"code": INTERNAL[0], "msg": INTERNAL[1]}}
    if show:
        reply["rateLimits"] = _rate_limits(weight, orders)
    return reply


async def ws_fapi(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    cfg = app[CONFIG]
    ws = web.WebSocketResponse(compress=False, heartbeat=cfg.ws.ping_interval,
                               max_msg_size=cfg.ws.max_frame_bytes, autoping=True)
    await ws.prepare(request)
    show = request.query.get("returnRateLimits", "true").lower() != "false"
    session = Session(request.remote or "", show)
    transport = request.transport
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                reply = await handle(app, session, msg.data)
                if transport is None or transport.is_closing():
                    break
                transport.write(frame(orjson.dumps(reply)))  # one text frame, like the fan-out's replies
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        drop_close_cycle(ws)  # see ws.drop_close_cycle
    return ws


for _path in ("/ws-fapi/v1", "/ws-fapi/v1/"):
    routes.get(_path)(ws_fapi)


def add_routes(app: web.Application) -> None:
    """Register `/ws-fapi/v1` (python-binance, ccxt and the modular SDK all use that path)."""
    app[WEIGHTS] = RequestWeights()
    app.add_routes(routes)

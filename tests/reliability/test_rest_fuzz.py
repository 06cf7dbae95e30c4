"""Hostile input on every REST route (issue #7.1).

A hypothesis property test: for each generated request (any route the app registers, right or
wrong method, parameters in the query, a form body, a JSON body or both, with wrong types, huge
numbers, NaN/Inf, negatives, 10 kB strings, unicode, duplicates, missing ones, bodies that are
not JSON/form, bodies over max_body_bytes, chunked bodies) the server must answer a Binance
error `{"code": <negative int>, "msg": str}` with a 4xx status, or a JSON 200 — never a 5xx,
a traceback (in the body or the log), or a hang — and a rejected request must leave the account
(GET /fapi/v2/account + openOrders + allOrders + the run in /admin/status) unchanged.

Bounded for the suite: EXSIM_FUZZ_EXAMPLES (default 2000) examples or EXSIM_FUZZ_SECONDS
(default 60) of wall time, whichever comes first; derandomized (the same cases every run) unless
EXSIM_FUZZ_RANDOM is set. tools/load/fuzz_rest.py runs the long, random version.
"""
from __future__ import annotations

import json
import os
import string
import time
from collections import Counter
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from exsim.config import Config
from exsim.wire.app import create_app

from ..conftest import make_dataset
from ..live import LiveServer
from .helpers import FIGURES, LogTrap, http, is_binance_error

MAX_BODY = 64 * 1024  # the server under test gets a small body limit so oversize cases are cheap
EXAMPLES = int(os.environ.get("EXSIM_FUZZ_EXAMPLES", "2000"))
SECONDS = float(os.environ.get("EXSIM_FUZZ_SECONDS", "60"))
DERANDOMIZE = os.environ.get("EXSIM_FUZZ_RANDOM", "") == ""


def _routes() -> list[tuple[str, str]]:
    """(method, path template) of every route the real app registers (HEAD included)."""
    app = create_app(Config(duckdb_path=":memory:"))
    return sorted({(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None})


# the browser pages (exsim/wire/pages.py): their 200s are HTML, CSS or JavaScript, not JSON
PAGE_PATHS = ("/", "/docs", "/redoc", "/static/", "/docs/assets/")


def _is_page(url: str, headers) -> bool:
    path = url.split("?", 1)[0]
    kind = headers.get("content-type", "")
    return (path in PAGE_PATHS or path.startswith(PAGE_PATHS[3:])) and not kind.startswith("application/json")


ROUTES = _routes()
PATHS = sorted({p for _, p in ROUTES})
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

PARAM_NAMES = [
    "symbol", "side", "type", "quantity", "price", "stopPrice", "triggerPrice", "timeInForce",
    "reduceOnly", "closePosition", "newClientOrderId", "origClientOrderId", "orderId", "workingType",
    "activationPrice", "activatePrice", "callbackRate", "priceProtect", "positionSide", "goodTillDate",
    "newOrderRespType", "algoType", "algoId", "clientAlgoId", "interval", "startTime", "endTime", "limit",
    "fromId", "leverage", "marginType", "dualSidePosition", "incomeType", "page", "timestamp",
    "recvWindow", "signature", "listenKey", "streams", "pair", "contractType",
]

# Plausible values, so that requests get past the first checks and reach the engine.
VALID = {
    "symbol": ["BTCUSDT", "btcusdt", "ETHUSDT"], "side": ["BUY", "SELL", "buy"],
    "type": ["LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TRAILING_STOP_MARKET"],
    "quantity": ["0.001", "0.01", "0.5", "3"], "price": ["41000", "41990.5", "43000", "42000.00"],
    "stopPrice": ["40000", "44000"], "triggerPrice": ["40000", "44000"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"], "reduceOnly": ["true", "false", "TRUE"],
    "closePosition": ["true", "false"], "orderId": ["1", "2", "5", "100"],
    "newClientOrderId": ["abc", "x-1", "my.order:1"], "origClientOrderId": ["abc", "x-1"],
    "workingType": ["MARK_PRICE", "CONTRACT_PRICE"], "callbackRate": ["0.1", "1", "5"],
    "positionSide": ["BOTH", "LONG"], "newOrderRespType": ["ACK", "RESULT"],
    "algoType": ["CONDITIONAL"], "algoId": ["1", "3"], "interval": ["1m", "5m", "1h", "1M"],
    "startTime": ["1704067200000", "0"], "endTime": ["1704153600000"], "limit": ["5", "100", "1000"],
    "leverage": ["1", "20", "125"], "marginType": ["ISOLATED", "CROSSED", "isolated"],
    "dualSidePosition": ["true", "false"], "incomeType": ["REALIZED_PNL", "COMMISSION"], "page": ["1", "2"],
}

HOSTILE = [
    "", " ", "NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e-999999999", "1E+999999999",
    "0E-999999999", "0e999999999", "-0.001", "-1", "0", "-0", "1e308", "1e15", "99999999999999999999999999",
    "9223372036854775808", "-9223372036854775809", "0x1A", "1_000", "1,5", "²", "١٢٣", "--5", "+5", " 7 ",
    "null", "None", "true", "[]", "{}", "\x00", "\t", "' OR 1=1 --", "\"; DROP TABLE runs; --",
    "'); DELETE FROM trades_fills; --", "%s%s%n", "${jndi:ldap://x}", "../../etc/passwd", "😀" * 50,
    "ß", "İ", "\u202e", "\ufeff1", "A" * 10240, "9" * 5000, "0." + "0" * 5000 + "1", "1" * 40 + ".5",
]

INT_TEXT = st.integers(min_value=-(1 << 80), max_value=1 << 80).map(str)
FLOAT_TEXT = st.floats(allow_nan=True, allow_infinity=True).map(repr)
DECIMAL_TEXT = st.decimals(allow_nan=True, allow_infinity=True).map(str)
VALUE = st.one_of(
    st.sampled_from(HOSTILE), INT_TEXT, FLOAT_TEXT, DECIMAL_TEXT,
    st.text(max_size=30), st.text(alphabet=string.printable, max_size=20),
)
NAME = st.one_of(st.sampled_from(PARAM_NAMES), st.sampled_from(PARAM_NAMES).map(str.upper),
                 st.text(max_size=12), st.just("A" * 200))
RAW_QUERY = st.text(alphabet=string.ascii_letters + string.digits + "%&=+;,/?:@!$'()*-._~[]{}|^`<>\"#\\",
                    max_size=60)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(1 << 70), max_value=1 << 70),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
                        st.sampled_from(HOSTILE[:40]))
JSON_VALUE = st.recursive(JSON_SCALAR, lambda c: st.one_of(st.lists(c, max_size=3),
                                                           st.dictionaries(st.text(max_size=8), c, max_size=3)),
                          max_leaves=6)

TEMPLATES = {
    ("POST", "/fapi/v1/order"): [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"),
                                 ("timeInForce", "GTC"), ("quantity", "0.01"), ("price", "41000")],
    ("POST", "/fapi/v1/order/test"): [("symbol", "BTCUSDT"), ("side", "SELL"), ("type", "MARKET"),
                                      ("quantity", "0.01")],
    ("POST", "/fapi/v1/algoOrder"): [("algoType", "CONDITIONAL"), ("symbol", "BTCUSDT"), ("side", "SELL"),
                                     ("type", "STOP_MARKET"), ("quantity", "0.01"), ("triggerPrice", "40000")],
    ("GET", "/fapi/v1/klines"): [("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "10")],
    ("POST", "/fapi/v1/leverage"): [("symbol", "BTCUSDT"), ("leverage", "10")],
    ("POST", "/fapi/v1/marginType"): [("symbol", "BTCUSDT"), ("marginType", "ISOLATED")],
    ("POST", "/fapi/v1/positionSide/dual"): [("dualSidePosition", "false")],
    ("GET", "/fapi/v1/income"): [("symbol", "BTCUSDT"), ("limit", "10")],
    ("GET", "/fapi/v1/fundingRate"): [("symbol", "BTCUSDT"), ("limit", "10")],
    ("GET", "/fapi/v1/depth"): [("symbol", "BTCUSDT"), ("limit", "5")],
}


def _template(method: str, path: str) -> list[tuple[str, str]]:
    if (method, path) in TEMPLATES:
        return list(TEMPLATES[(method, path)])
    if path in ("/fapi/v1/order", "/fapi/v1/openOrder"):
        return [("symbol", "BTCUSDT"), ("orderId", "1")]
    if path in ("/fapi/v1/algoOrder",):
        return [("algoId", "1")]
    return [("symbol", "BTCUSDT")] if "/fapi/" in path else []


@st.composite
def requests(draw):
    """(method, path, query string, body bytes or None, headers, chunked, label)."""
    roll = draw(st.integers(0, 99))
    deep = roll >= 55  # a trading/market route with a plausible parameter set, mutated
    if deep:
        method, template_path = draw(st.sampled_from(sorted(TEMPLATES)))
        path = template_path
    elif roll < 4:  # an unknown path
        path = "/" + "/".join(draw(st.lists(st.text(alphabet=string.ascii_letters + "0123456789._-",
                                                    min_size=1, max_size=10), min_size=1, max_size=4)))
        method, template_path = draw(st.sampled_from(METHODS)), path
    else:
        method, template_path = draw(st.sampled_from(ROUTES))
        path = template_path
        if draw(st.integers(0, 9)) == 0:
            method = draw(st.sampled_from(METHODS))
        if "{streams" in path:
            path = path.split("{")[0] + quote(draw(st.text(min_size=1, max_size=30)), safe="")
    admin = template_path.startswith("/admin")

    # parameters: start from a plausible set, then mutate, drop, duplicate and add
    pairs = _template(method, template_path) if deep or draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 3 if deep else 4))):
        action = draw(st.sampled_from(["set", "set", "drop", "dup", "add_valid", "add_valid"]))
        if action == "drop" and pairs:
            pairs.pop(draw(st.integers(0, len(pairs) - 1)))
        elif action == "dup" and pairs:
            pairs.append(pairs[draw(st.integers(0, len(pairs) - 1))])
        elif action == "add_valid":
            name = draw(st.sampled_from(sorted(VALID)))
            pairs = [(k, v) for k, v in pairs if k != name] + [(name, draw(st.sampled_from(VALID[name])))]
        else:  # a hostile value, usually for a parameter the route reads
            name = draw(st.sampled_from([k for k, _ in pairs])) if pairs and draw(st.booleans()) else draw(NAME)
            pairs = [(k, v) for k, v in pairs if k != name] + [(name, draw(VALUE))]

    def encode(items):
        return "&".join(quote(k, safe="") + "=" + quote(v, safe="") for k, v in items)

    headers: dict[str, str] = {}
    body: bytes | None = None
    chunked = None
    placement = draw(st.sampled_from(["query", "form", "json", "split", "raw", "oversize", "chunked_oversize",
                                      "admin_json"] if admin else
                                     ["query", "query", "query", "form", "form", "json", "split", "split",
                                      "raw", "oversize", "chunked_oversize"]))
    query = ""
    if placement == "query":
        query = encode(pairs)
    elif placement == "form":
        body = encode(pairs).encode()
        headers["Content-Type"] = draw(st.sampled_from(["application/x-www-form-urlencoded", "application/json",
                                                        "text/plain", "", "multipart/form-data; boundary=x"]))
    elif placement == "json":
        obj = {k: v for k, v in pairs}
        if draw(st.booleans()):
            obj[draw(st.sampled_from(PARAM_NAMES))] = draw(JSON_VALUE)
        body = json.dumps(obj).encode()
        headers["Content-Type"] = "application/json"
    elif placement == "split":
        cut = draw(st.integers(0, len(pairs)))
        query, body = encode(pairs[:cut]), encode(pairs[cut:]).encode()
    elif placement == "raw":
        query = draw(st.one_of(RAW_QUERY, st.just(encode(pairs))))
        body = draw(st.one_of(st.binary(max_size=300), st.sampled_from([
            b"{", b"{bad json", b"[1,2,3]", b'"just a string"', b"null", b"\xff\xfe\x00", b'{"a":' * 50,
            b"a=1&a=2", b"=&=&==", b"%zz=%", b"\x00" * 64, b'{"symbol": "BTCUSDT", "symbol": "X"}',
            b"NaN", b'{"bars": NaN}', b'{"speed_bars_per_sec": Infinity}'])))
        headers["Content-Type"] = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                                        "text/plain", "application/octet-stream", ""]))
    elif placement == "oversize":
        query = encode(pairs)
        body = b"a=" + b"x" * (MAX_BODY + draw(st.integers(1, 4096)))
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif placement == "chunked_oversize":
        query = encode(pairs)
        chunked = [b"a=", b"x" * (MAX_BODY // 2), b"x" * (MAX_BODY // 2 + 10)]
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:  # admin_json
        obj = draw(st.dictionaries(st.sampled_from(["bars", "speed_bars_per_sec", "restart", "start", "end",
                                                    "extra"]), JSON_VALUE, max_size=3))
        body = json.dumps(obj).encode()
        headers["Content-Type"] = "application/json"
    if draw(st.integers(0, 9)) == 0:
        headers["X-MBX-APIKEY"] = draw(st.sampled_from(["", "x" * 300, "key", "\u00e9t\u00e9"]))
    if admin and draw(st.integers(0, 4)) == 0:
        headers["Authorization"] = draw(st.sampled_from(["Bearer ", "Bearer x", "Basic Zm9v"]))
    headers = {k: v for k, v in headers.items() if v != "" or k == "X-MBX-APIKEY"}
    url = path + ("?" + query if query else "")
    return method, url, body, headers, chunked, f"{method} {template_path} [{placement}]"


def _snapshot(port: int) -> dict:
    """The account as a client sees it, plus the run/clock state (the clock is paused)."""
    out = {}
    for path in ("/fapi/v2/account", "/fapi/v1/openOrders?symbol=BTCUSDT", "/fapi/v1/allOrders?symbol=BTCUSDT",
                 "/fapi/v1/positionRisk", "/admin/status"):
        status, _, body = http(port, "GET", path, timeout=10)
        assert status == 200, (path, status, body[:300])
        out[path] = json.loads(body)
    st_ = out.pop("/admin/status")
    out["status"] = {k: st_[k] for k in ("run_id", "run_status", "bars_done", "sim_time", "balance", "position",
                                          "leverage", "margin_type", "dual_side", "paused", "finished")}
    return out


def test_every_rest_route_survives_hostile_input(live_server):
    server = live_server(max_body_bytes=MAX_BODY)
    port = server.port
    server.step(5)
    stats: Counter = Counter()
    codes: Counter = Counter()
    state = {"snap": _snapshot(port), "tried": 0, "skipped_time": 0}
    deadline = time.monotonic() + SECONDS

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck))
    @given(requests())
    def check(req):
        method, url, body, headers, chunked, label = req
        assume(len(url) < 60_000)  # longer request lines get aiohttp's own plain-text 400 (documented)
        if time.monotonic() > deadline:
            state["skipped_time"] += 1
            return
        state["tried"] += 1
        with LogTrap() as trap:
            try:
                status, rh, data = http(port, method, url, body, headers, timeout=15, chunks=chunked)
            except TimeoutError:  # socket.timeout
                raise AssertionError(f"hang: no answer in 15 s to {label} {url[:200]}")
            except (ConnectionResetError, BrokenPipeError) as exc:
                # aiohttp may answer 413 and close while a chunked oversized body is still being sent
                assert chunked is not None, f"connection dropped on {label} {url[:200]}: {exc!r}"
                status, rh, data = 413, {"content-type": "application/json"}, b'{"code":-1000,"msg":"dropped"}'
            stats[status] += 1
            assert status < 500, f"{status} on {label} {url[:200]} body={body!r:.200}: {data[:300]!r}"
            if method != "HEAD" and status != 200:
                problem = is_binance_error(status, rh, data)
                assert problem is None, f"{label} {url[:200]} body={body!r:.200}: {problem}"
                codes[json.loads(data)["code"]] += 1
            elif method != "HEAD" and not _is_page(url, rh):
                json.loads(data)  # a 200 is JSON too (but the pages' HTML, CSS and JS)
            time.sleep(0)  # let the server thread log anything it has to
            errors = trap.take()
        assert not errors, f"{label} {url[:200]} body={body!r:.200} logged errors: {errors}"
        if status == 200:
            http(port, "POST", "/admin/pause", timeout=10)  # a 200 may have resumed the clock
            state["snap"] = _snapshot(port)
        else:
            after = _snapshot(port)
            assert after == state["snap"], f"rejected {label} {url[:200]} changed the account"

    try:
        check()
    finally:
        FIGURES["rest_fuzz_cases_tried"] = state["tried"]
        FIGURES["rest_fuzz_routes"] = len(ROUTES)
        FIGURES["rest_fuzz_statuses"] = dict(sorted(stats.items()))
        FIGURES["rest_fuzz_error_codes"] = dict(sorted(codes.items()))
        print(f"\nREST fuzz: {state['tried']} cases over {len(ROUTES)} routes, statuses {dict(stats)}, "
              f"{len(codes)} distinct error codes")
    assert http(port, "GET", "/fapi/v1/ping")[0] == 200
    assert state["tried"] >= min(EXAMPLES, 200), "too few cases ran in the time budget"


@pytest.fixture(scope="module")
def garbage_server(tmp_path_factory):
    path = make_dataset(str(tmp_path_factory.mktemp("garbage") / "exsim.duckdb"), days=1)
    server = LiveServer(Config(duckdb_path=path, speed=0.0, max_body_bytes=MAX_BODY))
    server.start()
    server.step(3)
    yield server
    server.stop()


@pytest.mark.parametrize("method,path", [r for r in ROUTES if r[0] != "HEAD"])
def test_each_route_rejects_garbage_cleanly(garbage_server, method, path):
    """Deterministic floor under the property test: every route once with garbage parameters and
    a body that is neither JSON nor form, once with a body over max_body_bytes."""
    url = path.split("{")[0] + "x" if "{" in path else path
    with LogTrap() as trap:
        for body, query in ((b"\xff{not json", "symbol=%FF%FE&limit=%C2%B2&limit=1"),
                            (b"a=" + b"x" * (MAX_BODY + 1), "symbol=BTCUSDT")):
            status, rh, data = http(garbage_server.port, method, f"{url}?{query}", body,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
            assert status < 500, (method, path, status, data[:300])
            if status != 200:
                assert is_binance_error(status, rh, data) is None, (method, path, status, data[:300])
        assert not trap.take()

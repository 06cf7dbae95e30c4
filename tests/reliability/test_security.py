"""Security defaults (issue #7.5): loopback bind by default, the admin token when configured,
request body and WebSocket frame limits, and SQL built only from bound parameters."""
from __future__ import annotations

import ast
import json
import pathlib
import re

import duckdb
import psutil
import pytest
from aiohttp import WSMsgType

from exsim.config import Config, WsConfig, load
from exsim.wire.app import create_app

from tests.process import REPO, Gateway
from tests.waiting import until

from .helpers import is_binance_error

pytestmark = pytest.mark.timeout(120)


def _json_error(status: int, headers, body: bytes) -> dict:
    problem = is_binance_error(status, {k.lower(): v for k, v in headers.items()}, body)
    assert problem is None, problem
    return json.loads(body)


def test_default_bind_is_loopback(tmp_path, monkeypatch):
    assert Config().host == "127.0.0.1"
    monkeypatch.chdir(tmp_path)  # no exsim.toml here
    loaded = load(env={}, flags={})
    assert loaded.config.host == "127.0.0.1" and loaded.sources["host"] == "default"


def test_gateway_process_listens_on_loopback_only(tmp_path, db_path):
    gw = Gateway(db_path, str(tmp_path))
    try:
        assert gw.wait_ready(), gw.stderr()
        listening = [c.laddr for c in psutil.Process(gw.proc.pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
    finally:
        gw.stop()


ADMIN = [("POST", "/admin/replay", {"speed_bars_per_sec": 0}), ("POST", "/admin/pause", None),
         ("POST", "/admin/resume", None), ("POST", "/admin/step", {"bars": 1}), ("GET", "/admin/status", None),
         ("GET", "/admin/runs", None), ("GET", "/admin/runs/{run_id}", None)]  # {run_id}: asked as "current"
# the live page's WebSocket feed: a browser cannot send headers there, so its token comes in the
# first message (tests/pages/test_live_page_sends_the_admin_token.py)
ADMIN_WS = [("GET", "/admin/live"), ("GET", "/admin/clock")]


def test_every_admin_route_is_covered():
    app = create_app(Config(duckdb_path=":memory:"))
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource.canonical.startswith("/admin") and r.method != "HEAD"}
    assert routes == {(m, p) for m, p, _ in ADMIN} | set(ADMIN_WS)


async def test_admin_token_enforced_when_configured(exsim_client):
    client = await exsim_client(admin_token="s3cret-token")
    for method, path, body in ADMIN:
        path = path.replace("{run_id}", "current")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"},
                        {"Authorization": "Bearer s3cret-tokenX"}, {"Authorization": "Basic czNjcmV0LXRva2Vu"},
                        {"X-Admin-Token": "s3cret-token"}):
            resp = await client.request(method, path, json=body, headers=headers)
            err = _json_error(resp.status, resp.headers, await resp.read())
            assert resp.status == 401 and err["code"] == -2015, (path, headers, resp.status, err)
        resp = await client.request(method, path, json=body, headers={"Authorization": "Bearer s3cret-token"})
        assert resp.status == 200, (path, await resp.text())
    # the exchange API itself does not need the admin token
    assert (await client.get("/fapi/v1/ping")).status == 200
    # a rejected admin request did nothing: the clock is where the authorised step left it
    status = await (await client.get("/admin/status", headers={"Authorization": "Bearer s3cret-token"})).json()
    assert status["bars_done"] == 2  # the first bar revealed at start + one authorised step


async def test_admin_is_open_without_token(exsim_client):
    client = await exsim_client()
    assert (await client.get("/admin/status")).status == 200


async def test_request_body_limit_is_413_json(exsim_client):
    client = await exsim_client(max_body_bytes=4096)
    big = b"symbol=BTCUSDT&x=" + b"a" * 5000
    for method, path in (("POST", "/fapi/v1/order"), ("GET", "/fapi/v1/ping"), ("PUT", "/fapi/v1/listenKey"),
                         ("POST", "/admin/step"), ("DELETE", "/fapi/v1/order"), ("POST", "/nowhere")):
        resp = await client.request(method, path, data=big,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        err = _json_error(resp.status, resp.headers, await resp.read())
        assert resp.status == 413, (method, path, resp.status, err)

    async def chunks():
        yield b"symbol=BTCUSDT&x="
        for _ in range(10):
            yield b"a" * 1000

    resp = await client.post("/fapi/v1/order", data=chunks(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 413
    _json_error(resp.status, resp.headers, await resp.read())
    # just under the limit is read normally
    resp = await client.post("/fapi/v1/order", data=b"symbol=BTCUSDT&x=" + b"a" * 1000,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 400 and (await resp.json())["code"] == -1102


async def test_websocket_frame_limit(exsim_client):
    client = await exsim_client(ws=WsConfig(max_frame_bytes=1024))
    ws = await client.ws_connect("/ws")
    await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": "x" * 900}))
    assert (await ws.receive_json(timeout=5))["id"] == "x" * 900
    await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": "x" * 2000}))
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert ws.close_code == 1009
    await ws.close()

    async def no_clients() -> bool:
        return (await (await client.get("/admin/status")).json())["ws_clients"] == 0

    await until(no_clients)


# --- SQL: user-supplied values only ever travel as bound parameters -------------------------

SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|FROM|WHERE|ATTACH|COPY|PRAGMA|LIMIT)\b")

# Every expression interpolated into SQL text, and why no request can control it. A new
# interpolation makes test_sql_interpolations_are_reviewed fail until it is reviewed here.
SAFE_INTERPOLATIONS = {
    "exsim/store/db.py": {"path": "an error message text, not SQL", "table": "key of writer._TABLES (a constant)",
                          "', '.join(cols)": "writer._TABLES column names (constants)"},
    "exsim/store/demo.py": {
        "table": "ohlc_table('1m'), a constant", "per_min": "SQL constant", "vol_regime": "SQL built from constants",
        "drift_regime": "SQL built from constants", "_normal('f', 'k')": "SQL built from constants",
        "_normal('r', 'i')": "constants", "_normal('h', 'i')": "constants", "_normal('l', 'i')": "constants",
        "_normal('v', 'i')": "constants", "on_tick('o')": "float(tick_size) from config, int decimals",
        "on_tick('greatest(o, c) * exp(0.6 * sigma * zh)')": "as above",
        "on_tick('least(o, c) * exp(-0.6 * sigma * zl)')": "as above", "on_tick('c')": "as above"},
    "exsim/store/loader.py": {
        "_STAGE": "module constant", "_FSTAGE": "module constant", "_to_ms('open_time')": "column name constant",
        "_to_ms('close_time')": "column name constant", "sym": "'$symbol' or a generated column alias c<N>",
        "ms": "_to_ms() of a generated column alias", "rate_col": "generated column alias c<N>",
        "table": "ohlc_table(interval): regex-checked [0-9]+[mhdwM], interval checked against INTERVAL_MS"},
    "exsim/store/reader.py": {
        "table": "ohlc_table() or an existing table name from information_schema",
        "t": "float(tick size from config) / a table name from information_schema",
        "src": "bar_source() SQL: table names + integer constants", "direct": "ohlc_table(interval)",
        "fine_src": "_union() of the fill_resolution interval: bar_source() SQL like src",
        "where": "constant text with ? placeholders", "bucket": "integers from INTERVAL_MS",
        "target - 1": "integer from INTERVAL_MS", "'DESC' if newest_first else 'ASC'": "one of two keywords",
        "float(constant_rate)": "float() of the configured funding rate", "events": "SQL with ? placeholders",
        "order": "'DESC' or 'ASC'", "sql": "the module's bar query above",
        "extra": "wire.klines.kline_sql(): regex-checked symbol, INTERVAL_MS interval, grid integers, "
                 "float literals; its text pieces are quoted by _sql_text",
        "close": "integers from INTERVAL_MS, or constant date_trunc text", "i": "enumerate() index",
        "cols": "constant column text with float(tick size from config)",
        "count": "one of two constant aggregate texts (bar_range, steps_range)",
        "mark_cols": "constant column list or empty",
        "mark_table(interval)": "mark_table(): 'mark_' + ohlc_table(interval), regex-checked",
        "mark_table(base)": "as above, of the configured base interval"},
    "exsim/rerun.py": {"table": "a key of the module's CHECKED or RUN_TABLES (constants)",
                       "cols": "the column list of CHECKED (constants)", "order": "the ORDER BY of CHECKED (constants)"},
    "exsim/store/schema.py": {"table": "ohlc_table(interval), regex-checked, or a name of _ADDED_COLUMNS",
                              "column": "a column definition of the module's _ADDED_COLUMNS (constants)"},
    "exsim/store/market_extra_reader.py": {
        "DAY_MS": "module integer constant", "OI_TABLE": "module constant table name",
        "grid": "constant text with ? placeholders", "src": "bar_source() SQL: table names + integer constants"},
    "exsim/store/trades_reader.py": {
        "t": "float(tick size from config)", "src": "bar_source() SQL: table names + integer constants",
        "'DESC' if newest_first else 'ASC'": "one of two keywords"},
    "exsim/store/spacing.py": {"table": "ohlc_table() or an existing table name from information_schema "
                                        "(bar_source's choice)", "SAMPLE_ROWS": "module constant"},
    "exsim/store/run_export.py": {"table": "one of run_metrics.EXPORT_TABLES (constant table names) "
                                           "present in information_schema"},
    "exsim/store/writer.py": {"table": "key of the module's _TABLES", "', '.join(cols)": "module column tuples",
                              "select": "built from the module column tuples"},
}


def _sql_interpolations() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(pathlib.Path(REPO, "exsim").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if SQL_WORDS.search(text):
                    for v in node.values:
                        if isinstance(v, ast.FormattedValue):
                            found.setdefault(rel, set()).add(ast.unparse(v.value))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                    and isinstance(node.left.value, str) and SQL_WORDS.search(node.left.value):
                found.setdefault(rel, set()).add("%-format: " + ast.unparse(node.right))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                    and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str) \
                    and SQL_WORDS.search(node.func.value.value):
                found.setdefault(rel, set()).add(".format: " + ", ".join(ast.unparse(a) for a in node.args))
    return found


def test_sql_interpolations_are_reviewed():
    found = _sql_interpolations()
    unreviewed = {f: sorted(e - set(SAFE_INTERPOLATIONS.get(f, {}))) for f, e in found.items()}
    unreviewed = {f: e for f, e in unreviewed.items() if e}
    assert not unreviewed, f"SQL text built from unreviewed expressions (bind them as parameters): {unreviewed}"
    assert not any(f.startswith("exsim/wire/") for f in found), "the wire layer must not build SQL"


def test_wire_layer_never_executes_sql():
    for path in pathlib.Path(REPO, "exsim", "wire").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"\.(execute|executemany|sql)\(", text), path


def test_table_names_come_only_from_the_interval_whitelist():
    from exsim.store.schema import ohlc_table
    for hostile in ("1m; DROP TABLE runs", "1m --", "x", "", "1m\x00", "ohlc_1m"):
        with pytest.raises(ValueError):
            ohlc_table(hostile)


async def test_hostile_symbols_and_intervals_leave_the_database_intact(exsim_client, db_path):
    client = await exsim_client()
    evil = ["BTCUSDT'; DROP TABLE runs; --", "BTCUSDT\" OR 1=1 --", "x' UNION SELECT * FROM runs --",
            "1m; DELETE FROM ohlc_1m", "1m' --"]
    for value in evil:
        for path, params in (("/fapi/v1/klines", {"symbol": value, "interval": "1m"}),
                             ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": value}),
                             ("/fapi/v1/fundingRate", {"symbol": value}), ("/fapi/v1/ticker/24hr", {"symbol": value}),
                             ("/fapi/v1/allOrders", {"symbol": value})):
            resp = await client.get(path, params=params)
            assert resp.status == 400 and (await resp.json())["code"] in (-1121, -1120), (path, params)
    await client.close()  # shuts the app down: the database file is free again
    con = duckdb.connect(db_path, read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"runs", "run_status", "trades_fills", "ohlc_1m", "funding"} <= tables
        assert con.execute("SELECT count(*) FROM ohlc_1m").fetchall()[0][0] == 2 * 3 * 1440
    finally:
        con.close()

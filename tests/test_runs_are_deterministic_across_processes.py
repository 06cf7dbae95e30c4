"""The determinism requirement: the same requests on the same data give the same run, in any
process. Two gateways (`python -m exsim`, different PYTHONHASHSEED, each on its own copy of
the dataset) take one scripted session of three signed accounts trading two symbols (resting
LIMIT, STOP_MARKET and MARKET orders; two accounts' resting orders filling on the same bar),
the clock moved only by /admin/step, then stop on SIGTERM (the writer flushes). Their audit
trails in DuckDB are compared row by row: event_log, trades_fills and orders are identical
but for run_id (and, in the run's opening event, what differs by nature between the two
processes: its wall-clock creation time, port and database path)."""
from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlencode

import duckdb

from tests.conftest import T0
from tests.process import Gateway, http

MIN = 60_000
KEYS = {"key-alpha": "secret-alpha", "key-bravo": "secret-bravo", "key-charlie": "secret-charlie"}
A, B, C = KEYS
TICK = {"BTCUSDT": Decimal("0.1"), "ETHUSDT": Decimal("0.01")}
QTY = {"BTCUSDT": "0.010", "ETHUSDT": "0.100"}

TOML = """auth = "verify"
maker_bps = 1
taker_bps = 2
""" + "".join(f'[[api_keys]]\nkey = "{k}"\nsecret = "{s}"\n' for k, s in KEYS.items()) + """
[store]
event_log = true
"""


def bars(db: str) -> dict[str, list[tuple[Decimal, Decimal, Decimal, Decimal]]]:
    """(o, h, l, c) per minute from T0, per symbol: the script picks prices the bars will reach."""
    con = duckdb.connect(db, read_only=True)
    out = {}
    for symbol in TICK:
        rows = con.execute("SELECT ts, open, high, low, close FROM ohlc_1m WHERE symbol = ? AND ts < ? ORDER BY ts",
                           [symbol, T0 + 60 * MIN]).fetchall()
        assert [r[0] for r in rows] == [T0 + i * MIN for i in range(60)]
        out[symbol] = [tuple(Decimal(str(x)) for x in r[1:]) for r in rows]
    con.close()
    return out


def on_tick(symbol: str, price: Decimal, up: bool) -> str:
    tick = TICK[symbol]
    n = (price / tick).to_integral_value(rounding="ROUND_CEILING" if up else "ROUND_FLOOR")
    return str(n * tick)


def script(data) -> list[tuple]:
    """The session: ("order", key, params) and ("step", n) and ("leverage", key, symbol, n), with
    prices chosen so that the next bars reach them (checked on the result, not assumed)."""
    btc, eth = data["BTCUSDT"], data["ETHUSDT"]

    def lowest(rows, a, b):
        return min(r[2] for r in rows[a:b])

    def highest(rows, a, b):
        return max(r[1] for r in rows[a:b])

    # minute 0 is revealed at start: prices are known up to its close
    btc_buy = on_tick("BTCUSDT", lowest(btc, 1, 11), up=True)  # reached within minutes 1..10
    eth_sell = on_tick("ETHUSDT", highest(eth, 1, 11), up=False)
    btc_stop = on_tick("BTCUSDT", highest(btc, 1, 11), up=False)
    assert Decimal(btc_buy) < btc[0][3] < Decimal(btc_stop) and Decimal(eth_sell) > eth[0][3]
    # after minute 15
    btc_sell = on_tick("BTCUSDT", highest(btc, 16, 26), up=False)
    eth_stop = on_tick("ETHUSDT", lowest(eth, 16, 26), up=True)
    eth_buy = on_tick("ETHUSDT", lowest(eth, 16, 26), up=True)
    assert Decimal(btc_sell) > btc[15][3] and Decimal(eth_stop) < eth[15][3]

    def limit(key, symbol, side, price):
        return ("order", key, {"symbol": symbol, "side": side, "type": "LIMIT", "quantity": QTY[symbol],
                               "price": price, "timeInForce": "GTC"})

    def market(key, symbol, side):
        return ("order", key, {"symbol": symbol, "side": side, "type": "MARKET", "quantity": QTY[symbol]})

    def stop(key, symbol, side, price):
        return ("order", key, {"symbol": symbol, "side": side, "type": "STOP_MARKET", "quantity": QTY[symbol],
                               "stopPrice": price})

    return [
        ("leverage", C, "ETHUSDT", 5),
        limit(C, "BTCUSDT", "BUY", btc_buy),  # three accounts resting at one price: one bar, three fills
        limit(A, "BTCUSDT", "BUY", btc_buy),
        limit(B, "BTCUSDT", "BUY", btc_buy),
        limit(B, "ETHUSDT", "SELL", eth_sell),
        limit(A, "ETHUSDT", "SELL", eth_sell),
        stop(C, "BTCUSDT", "BUY", btc_stop),
        market(B, "ETHUSDT", "BUY"),
        market(A, "BTCUSDT", "SELL"),
        ("step", 3),
        market(C, "ETHUSDT", "SELL"),
        ("step", 12),  # to minute 15
        market(A, "BTCUSDT", "BUY"),
        market(B, "BTCUSDT", "SELL"),
        market(C, "ETHUSDT", "BUY"),
        limit(A, "BTCUSDT", "SELL", btc_sell),
        limit(C, "BTCUSDT", "SELL", btc_sell),
        stop(B, "ETHUSDT", "SELL", eth_stop),
        limit(A, "ETHUSDT", "BUY", eth_buy),
        limit(C, "ETHUSDT", "BUY", eth_buy),
        ("step", 10),  # to minute 25
        market(A, "ETHUSDT", "SELL"),
        market(B, "BTCUSDT", "BUY"),
        market(C, "BTCUSDT", "BUY"),
        ("cancel_all", A, "BTCUSDT"),
        ("step", 5),
    ]


def signed(port: int, key: str, method: str, path: str, params: dict) -> tuple[int, dict]:
    query = urlencode({**params, "timestamp": int(time.time() * 1000), "recvWindow": 60000})
    sig = hmac.new(KEYS[key].encode(), query.encode(), hashlib.sha256).hexdigest()
    status, _, body = http(port, method, f"{path}?{query}&signature={sig}", headers={"X-MBX-APIKEY": key})
    return status, json.loads(body)


def drive(gw: Gateway, steps: list[tuple]) -> list:
    """Run the session on one gateway; what each request answered (must match across runs)."""
    answers = []
    for item in steps:
        if item[0] == "step":
            status, _, body = http(gw.port, "POST", "/admin/step", json.dumps({"bars": item[1]}).encode())
            out = json.loads(body)
            assert status == 200 and out["bars"] == item[1], out
            answers.append(("step", out["sim_time"], out["bars_done"]))
        elif item[0] == "order":
            status, out = signed(gw.port, item[1], "POST", "/fapi/v1/order", {**item[2], "newOrderRespType": "RESULT"})
            assert status == 200, (item, out, gw.stderr()[-3000:])
            answers.append(out)
        elif item[0] == "leverage":
            status, out = signed(gw.port, item[1], "POST", "/fapi/v1/leverage", {"symbol": item[2], "leverage": item[3]})
            assert status == 200, out
            answers.append(out)
        elif item[0] == "cancel_all":
            status, out = signed(gw.port, item[1], "DELETE", "/fapi/v1/allOpenOrders", {"symbol": item[2]})
            assert status == 200, out
            answers.append(out)
    for key in KEYS:  # the accounts as each gateway ends them
        answers.append(signed(gw.port, key, "GET", "/fapi/v2/account", {})[1])
    return answers


def normalized_events(rows: list[tuple]) -> list[tuple]:
    """event_log rows with what legitimately differs between two processes taken out."""
    out = []
    for seq, ts, kind, account, body in rows:
        data = json.loads(body)
        data.pop("run_id", None)
        if kind == "RunStarted":
            data.pop("created_ms")  # wall clock
            params = json.loads(data.pop("params_json"))
            for key in ("duckdb_path", "port"):  # each gateway has its own
                params.pop(key)
            data["params"] = params
        out.append((seq, ts, kind, account, data))
    return out


def audit(db: str) -> dict:
    con = duckdb.connect(db, read_only=True)
    try:
        runs = con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
        return {
            "runs": runs,
            "status": con.execute("SELECT status, bars FROM run_status").fetchall(),
            "events": con.execute("SELECT seq, ts, type, account, body FROM event_log ORDER BY seq").fetchall(),
            "fills": con.execute("SELECT seq, ts, symbol, side, price, qty, realized_pnl, fee, is_maker, account, "
                                 "order_id, trade_id FROM trades_fills ORDER BY seq").fetchall(),
            "orders": con.execute("SELECT * EXCLUDE (run_id) FROM orders ORDER BY seq").fetchall(),
            "equity": con.execute("SELECT ts, equity, account FROM equity_curve ORDER BY ts, account").fetchall(),
            "income": con.execute("SELECT * EXCLUDE (run_id) FROM income ORDER BY tran_id").fetchall(),
        }
    finally:
        con.close()


def test_two_processes_with_different_hash_seeds_write_the_same_run(db_path, tmp_path):
    steps = script(bars(db_path))
    gateways = []
    try:
        for seed in ("1", "2"):
            work = tmp_path / f"run{seed}"
            work.mkdir()
            (work / "exsim-test.toml").write_text(TOML)
            db = str(work / "exsim.duckdb")
            shutil.copy(db_path, db)
            gateways.append(Gateway(db, str(work), env={"PYTHONHASHSEED": seed}))
        for gw in gateways:
            assert gw.wait_ready(), gw.stderr()
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda gw: drive(gw, steps), gateways))
        for gw in gateways:
            gw.stop()
            assert gw.proc.returncode == 0, gw.stderr()[-2000:]
    finally:
        for gw in gateways:
            gw.stop()
    assert answers[0] == answers[1]  # every reply, to the last digit

    one, two = (audit(gw.db) for gw in gateways)
    assert one["runs"] == two["runs"] == 1
    assert one["status"] == two["status"] == [("stopped", 31)]

    fills = one["fills"]
    by_symbol = {s: [f for f in fills if f[2] == s] for s in TICK}
    assert all(len(v) >= 5 for v in by_symbol.values()), {s: len(v) for s, v in by_symbol.items()}
    assert {f[9] for f in fills} == set(KEYS)
    # resting orders of different accounts filled by one bar, in acceptance (order id) order
    makers: dict[tuple, list] = {}
    for f in fills:
        if f[8]:
            makers.setdefault((f[2], f[1]), []).append(f)
    shared = {k: v for k, v in makers.items() if len({f[9] for f in v}) >= 2}
    assert shared, makers
    assert any(len({f[9] for f in v}) == 3 for v in shared.values())  # all three on one BTC bar
    for group in shared.values():
        assert [f[10] for f in group] == sorted(f[10] for f in group)
        assert [f[11] for f in group] == sorted(f[11] for f in group)
    types = {e[2] for e in one["events"]}
    assert {"RunStarted", "OrderUpdated", "AccountUpdated", "IncomeBooked", "EquityMarked",
            "LeverageChanged", "RunStatus"} <= types
    assert any(json.loads(e[4]).get("exec_type") == "TRIGGERED" for e in one["events"])  # the stops fired
    assert [e[0] for e in one["events"]] == list(range(1, len(one["events"]) + 1))

    assert one["fills"] == two["fills"]
    assert one["orders"] == two["orders"]
    assert one["income"] == two["income"]
    assert one["equity"] == two["equity"]
    assert normalized_events(one["events"]) == normalized_events(two["events"])
    assert len(one["events"]) > 100

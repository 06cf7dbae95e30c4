"""A small EMA-cross bot trades a few thousand bars on a real gateway process; the audit trail
in DuckDB must add up, and SIGTERM mid-run must lose no fill the client saw acknowledged."""
import http.client
import json
import signal
import threading
import time
import urllib.parse

import duckdb

from tests.conftest import make_dataset
from tests.process import Gateway


class Api:
    """One keep-alive HTTP connection to the gateway (form bodies, like Binance clients)."""

    def __init__(self, base: str) -> None:
        host, port = base.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)

    def __call__(self, method, path, **params):
        query = urllib.parse.urlencode(params)
        if method == "GET":
            self.conn.request(method, path + ("?" + query if query else ""))
        else:
            self.conn.request(method, path, body=query,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        return json.loads(self.conn.getresponse().read())

    def admin(self, path, body):
        self.conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        return json.loads(self.conn.getresponse().read())


def ema(values, n):
    k, out = 2 / (n + 1), values[0]
    for v in values[1:]:
        out = v * k + out * (1 - k)
    return out


def run_ema_bot(api, bars, fast=3, slow=9, qty="0.050"):
    """Steps the clock bar by bar; long/short on EMA crosses, a protective stop while in a trade."""
    position = 0
    for _ in range(bars):
        api.admin("/admin/step", {"bars": 1})
        closes = [float(k[4]) for k in api("GET", "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=slow * 4)]
        want = 1 if ema(closes, fast) > ema(closes, slow) else -1
        if want == position:
            continue
        pos = float(api("GET", "/fapi/v2/positionRisk", symbol="BTCUSDT")[0]["positionAmt"])  # a stop may have hit
        api("DELETE", "/fapi/v1/allOpenOrders", symbol="BTCUSDT")
        if pos:
            api("POST", "/fapi/v1/order", symbol="BTCUSDT", side="SELL" if pos > 0 else "BUY",
                type="MARKET", quantity=f"{abs(pos):.3f}", reduceOnly="true")
        res = api("POST", "/fapi/v1/order", symbol="BTCUSDT", side="BUY" if want > 0 else "SELL", type="MARKET",
                  quantity=qty, newOrderRespType="RESULT")
        assert res["status"] == "FILLED", res
        stop = float(res["avgPrice"]) * (0.995 if want > 0 else 1.005)
        api("POST", "/fapi/v1/order", symbol="BTCUSDT", side="SELL" if want > 0 else "BUY",
            type="STOP_MARKET", stopPrice=f"{stop:.1f}", closePosition="true")
        position = want
    api("DELETE", "/fapi/v1/allOpenOrders", symbol="BTCUSDT")
    pos = float(api("GET", "/fapi/v2/positionRisk", symbol="BTCUSDT")[0]["positionAmt"])
    if pos:
        api("POST", "/fapi/v1/order", symbol="BTCUSDT", side="SELL" if pos > 0 else "BUY", type="MARKET",
            quantity=f"{abs(pos):.3f}", reduceOnly="true")


def test_ema_bot_audit_trail_adds_up(tmp_path):
    db = make_dataset(str(tmp_path / "e2e.duckdb"), days=3)
    gw = Gateway(db, str(tmp_path))
    try:
        assert gw.wait_ready()
        api = Api(gw.url)
        run_id = api("GET", "/admin/status")["run_id"]
        run_ema_bot(api, 2500)
        wallet = float(api("GET", "/fapi/v2/balance")[0]["balance"])
        rest_trades = api("GET", "/fapi/v1/userTrades", symbol="BTCUSDT", limit=1000)
        funding = api("GET", "/fapi/v1/income", incomeType="FUNDING_FEE", limit=1000)
        gw.signal(signal.SIGTERM)
        assert gw.wait(10) == 0
    finally:
        gw.stop()
    con = duckdb.connect(db, read_only=True)
    fills, pnl, fees = con.execute("SELECT count(*), sum(realized_pnl), sum(fee) FROM trades_fills WHERE run_id = ?",
                                   [run_id]).fetchall()[0]
    funding_sum = con.execute("SELECT coalesce(sum(income), 0) FROM income WHERE run_id = ? AND "
                              "income_type = 'FUNDING_FEE'", [run_id]).fetchall()[0][0]
    final_equity = con.execute("SELECT equity FROM equity_curve WHERE run_id = ? ORDER BY ts DESC, rowid DESC "
                               "LIMIT 1", [run_id]).fetchall()[0][0]
    status = con.execute("SELECT status FROM run_status WHERE run_id = ?", [run_id]).fetchall()[0][0]
    assert fills >= 40 and fills >= len(rest_trades) > 0  # trades route caps at 1000
    assert len(funding) >= 2 and abs(funding_sum - sum(float(f["income"]) for f in funding)) < 1e-6
    assert abs((pnl - fees + funding_sum) - (final_equity - 100000)) < 1e-6
    assert abs(final_equity - wallet) < 1e-6
    assert status == "stopped"
    # the spec's README query works on the stored run
    row = con.execute("""
        WITH f AS (SELECT ts, seq, side, qty, price, fee, realized_pnl FROM trades_fills WHERE run_id = ?)
        SELECT COUNT(*), SUM(CASE WHEN side='BUY' THEN 1 ELSE 0 END), SUM(realized_pnl) - SUM(fee) FROM f""",
        [run_id]).fetchall()[0]
    assert row[0] == fills and abs(row[2] - (pnl - fees)) < 1e-9


def test_sigterm_mid_run_loses_no_acknowledged_fill(tmp_path):
    db = make_dataset(str(tmp_path / "term.duckdb"), days=3)
    gw = Gateway(db, str(tmp_path), speed="300")
    acked: list[int] = []
    stop = threading.Event()

    def trade():
        side = "BUY"
        api = Api(gw.url)
        while not stop.is_set():
            try:
                res = api("POST", "/fapi/v1/order", symbol="BTCUSDT", side=side, type="MARKET",
                          quantity="0.010", newOrderRespType="RESULT")
            except (OSError, http.client.HTTPException, ValueError):
                return  # the server went away
            if res.get("status") == "FILLED":
                acked.append(res["orderId"])
            side = "SELL" if side == "BUY" else "BUY"

    try:
        assert gw.wait_ready()
        worker = threading.Thread(target=trade)
        worker.start()
        time.sleep(1.5)
        began = time.monotonic()
        gw.signal(signal.SIGTERM)
        code = gw.wait(10)
        elapsed = time.monotonic() - began
        stop.set()
        worker.join(10)
    finally:
        stop.set()
        gw.stop()
    assert code == 0 and elapsed < 5
    assert len(acked) > 20
    con = duckdb.connect(db, read_only=True)
    stored = {r[0] for r in con.execute("SELECT order_id FROM trades_fills").fetchall()}
    assert set(acked) <= stored

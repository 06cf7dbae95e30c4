"""Run metrics (exsim/store/run_metrics.py) against a run whose every number is worked out by
hand here: rows written straight into a real DuckDB file (fills, income, equity points of two
accounts), then a real run through the server checked against REST."""
from __future__ import annotations

import json
import math
import statistics
import uuid
from datetime import datetime

import duckdb
import pytest

from exsim.store import run_metrics
from exsim.store.schema import ensure_schema

from tests.conftest import T0

H = 3_600_000
S = T0  # run start
RUN = str(uuid.uuid4())
OTHER_RUN = str(uuid.uuid4())
TOL = 1e-9


def _fill(run, account, seq, ts, side, price, qty, realized, fee):
    return (run, seq, ts, "BTCUSDT", side, price, qty, realized, fee, False, account, seq, seq)


def write_hand_run(path: str) -> None:
    con = duckdb.connect(path)
    ensure_schema(con)
    params = json.dumps({"starting_balance": 10000.0, "auth": "off", "symbols": ["BTCUSDT"]})
    con.execute("INSERT INTO runs VALUES (?::UUID, ?, 'test', ?::JSON, 'h')", [RUN, datetime(2025, 1, 2, 3, 4, 5), params])
    con.execute("INSERT INTO run_status VALUES (?::UUID, 'finished', 'BTCUSDT', '1h', ?, ?, 'synthetic', 6, "
                "10004.5, now()::TIMESTAMP, now()::TIMESTAMP)", [RUN, S, S + 6 * H])
    fills = [
        _fill(RUN, "default", 1, S + H, "BUY", 100.0, 1.0, 0.0, 1.0),             # long 1
        _fill(RUN, "default", 2, S + 3 * H, "SELL", 110.0, 0.5, 5.0, 0.5),        # partial close +5
        _fill(RUN, "default", 3, S + 3 * H + H // 2, "SELL", 90.0, 0.5, -5.0, 0.5),  # flat, -5
        _fill(RUN, "default", 4, S + 4 * H, "SELL", 95.0, 1.0, 0.0, 1.0),         # short 1
        _fill(RUN, "default", 5, S + 5 * H, "BUY", 85.0, 1.0, 10.0, 1.0),         # flat, +10
        _fill(RUN, "other", 6, S + 2 * H, "BUY", 100.0, 3.0, 0.0, 3.0),           # another account
    ]
    con.executemany("INSERT INTO trades_fills (run_id, seq, ts, symbol, side, price, qty, realized_pnl, fee, "
                    "is_maker, account, order_id, trade_id) VALUES (?::UUID, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    fills)
    income = [("default", S + H, "COMMISSION", -1.0), ("default", S + 2 * H, "FUNDING_FEE", -2.0),
              ("default", S + 3 * H, "REALIZED_PNL", 5.0), ("default", S + 3 * H, "COMMISSION", -0.5),
              ("default", S + 3 * H + H // 2, "REALIZED_PNL", -5.0), ("default", S + 3 * H + H // 2, "COMMISSION", -0.5),
              ("default", S + 4 * H, "COMMISSION", -1.0), ("default", S + 4 * H + H // 2, "FUNDING_FEE", 0.5),
              ("default", S + 5 * H, "REALIZED_PNL", 10.0), ("default", S + 5 * H, "COMMISSION", -1.0),
              ("other", S + 2 * H, "COMMISSION", -3.0)]
    con.executemany("INSERT INTO income (run_id, account, ts, symbol, income_type, income, tran_id, trade_id) "
                    "VALUES (?::UUID, ?, ?, 'BTCUSDT', ?, ?, ?, 0)",
                    [(RUN, a, ts, kind, amount, i) for i, (a, ts, kind, amount) in enumerate(income)])
    equity = [(S + H, 9999.0), (S + 2 * H, 10008.0), (S + 3 * H, 10012.0), (S + 3 * H + H // 2, 9998.0),
              (S + 4 * H, 9995.0), (S + 5 * H, 10012.5), (S + 6 * H, 10004.5)]
    con.executemany("INSERT INTO equity_curve VALUES (?::UUID, ?, ?, ?)",
                    [(RUN, ts, eq, "default") for ts, eq in equity] +
                    [(RUN, S + 2 * H, 9990.0, "other"), (RUN, S + 6 * H, 10300.0, "other")])
    # a second run in the same file: nothing of it may leak into the first
    con.execute("INSERT INTO runs VALUES (?::UUID, ?, 'test', ?::JSON, 'h')",
                [OTHER_RUN, datetime(2025, 1, 1), params])
    con.execute("INSERT INTO run_status VALUES (?::UUID, 'stopped', 'BTCUSDT', '1h', ?, ?, 'synthetic', 1, "
                "9000, now()::TIMESTAMP, now()::TIMESTAMP)", [OTHER_RUN, S, S + 6 * H])
    con.execute("INSERT INTO trades_fills (run_id, seq, ts, symbol, side, price, qty, realized_pnl, fee, is_maker, "
                "account, order_id, trade_id) VALUES (?::UUID, 1, ?, 'BTCUSDT', 'BUY', 1, 1, 0, 1, false, "
                "'default', 1, 1)", [OTHER_RUN, S + H])
    con.execute("INSERT INTO equity_curve VALUES (?::UUID, ?, 9000, 'default')", [OTHER_RUN, S + 2 * H])
    con.close()


@pytest.fixture
def hand_db(tmp_path) -> str:
    path = str(tmp_path / "hand.duckdb")
    write_hand_run(path)
    return path


def test_every_metric_of_the_hand_computed_run(hand_db):
    con = duckdb.connect(hand_db, read_only=True)
    try:
        m = run_metrics.run_metrics(con, RUN[:8])  # a unique prefix names the run
    finally:
        con.close()
    assert m.run_id == RUN and m.status == "finished" and m.symbols == ["BTCUSDT"] and m.interval == "1h"
    assert m.created == "2025-01-02T03:04:05Z" and m.start_ms == S and m.end_ms == S + 6 * H
    assert m.periods == 6 and m.periods_per_year == 8760 and m.run_end_ms == S + 6 * H
    assert [a.account for a in m.accounts] == ["default", "other"]
    a = m.accounts[0]
    exact = {"starting_balance": 10000.0, "fills": 5, "buys": 2, "sells": 3, "closing_trades": 3, "wins": 2,
             "losses": 1, "equity_points": 7, "exposed_periods": 4,
             "max_drawdown_peak_ts": S + 3 * H, "max_drawdown_trough_ts": S + 4 * H,
             "max_drawdown_recovered_ts": S + 5 * H, "max_drawdown_duration_ms": 2 * H}
    for key, want in exact.items():
        assert getattr(a, key) == want, key
    # periods k=1..6 are [S+(k-1)h, S+kh); positions open [1h, 3.5h) and [4h, 5h): k = 2, 3, 4, 5
    e = [10000.0, 9999.0, 10008.0, 10012.0, 9995.0, 10012.5, 10004.5]  # E_0..E_6 (3.5h replaced by 4h)
    r = [b / x - 1 for x, b in zip(e, e[1:])]
    close = {
        "realized_pnl": 5 - 5 + 10, "fees": 1 + 0.5 + 0.5 + 1 + 1, "funding_paid": 2.0, "funding_received": 0.5,
        "funding": -1.5, "net_pnl": 10 - 4 - 2 + 0.5, "final_equity": 10004.5, "unrealized_pnl": 0.0,
        "total_return": 4.5 / 10000, "max_drawdown": 10012 - 9995, "max_drawdown_pct": 17 / 10012,
        "sharpe": statistics.mean(r) / statistics.stdev(r) * math.sqrt(8760),
        "sortino": statistics.mean(r) / math.sqrt(sum(min(x, 0) ** 2 for x in r) / 6) * math.sqrt(8760),
        "win_rate": 2 / 3, "gross_profit": 15.0, "gross_loss": 5.0, "profit_factor": 3.0,
        "exposure": 4 / 6, "notional": 100 + 55 + 45 + 95 + 85, "turnover": 380 / 10000,
    }
    for key, want in close.items():
        assert getattr(a, key) == pytest.approx(want, abs=TOL, rel=0), key
    o = m.accounts[1]
    assert (o.fills, o.fees, o.net_pnl, o.final_equity, o.exposed_periods) == (1, 3.0, -3.0, 10300.0, 4)  # open from 2h: k = 3..6
    assert o.max_drawdown == pytest.approx(10, abs=TOL) and o.win_rate is None and o.profit_factor is None


def test_the_list_shows_the_default_account_with_the_same_numbers(hand_db):
    con = duckdb.connect(hand_db, read_only=True)
    try:
        runs = run_metrics.list_runs(con)
        full = {s.run_id: run_metrics.run_metrics(con, s.run_id).accounts[0] for s in runs}
        series = run_metrics.equity_series(con, RUN, "default")
        fills = run_metrics.run_fills(con, RUN, "default")
    finally:
        con.close()
    assert [s.run_id for s in runs] == [RUN, OTHER_RUN]  # newest first
    for s in runs:
        a = full[s.run_id]
        assert s.account == "default" and s.fills == a.fills
        for key in ("net_pnl", "final_equity", "total_return", "max_drawdown", "max_drawdown_pct"):
            assert getattr(s, key) == pytest.approx(getattr(a, key), abs=TOL), (s.run_id, key)
    assert runs[0].accounts == 2 and runs[1].max_drawdown == pytest.approx(1000, abs=TOL)
    assert [(p.ts, p.equity) for p in series][:2] == [(S, 10000.0), (S + H, 9999.0)]
    assert max(p.drawdown for p in series) == pytest.approx(17, abs=TOL)
    assert [f.opening for f in fills] == [True, False, False, True, False]


def test_unknown_and_ambiguous_ids_are_one_line_errors(hand_db):
    con = duckdb.connect(hand_db, read_only=True)
    try:
        for bad in ("nope'; DROP TABLE runs; --", "ffffffff-ffff", ""):
            with pytest.raises(run_metrics.UnknownRun):
                run_metrics.run_metrics(con, bad)
        if RUN[0] == OTHER_RUN[0]:
            with pytest.raises(run_metrics.UnknownRun, match="more than one"):
                run_metrics.run_metrics(con, RUN[0])
    finally:
        con.close()


MIN = 60_000


async def _post(c, path, **params):
    r = await c.post(path, data=params)
    body = await r.json()
    assert r.status == 200, body
    return body


async def test_a_real_run_matches_rest(exsim_client, db_path):
    """Through the real server: a partial close, a funding settlement, a position left open."""
    c = await exsim_client(symbol="BTCUSDT", start=T0 + 470 * MIN, end=T0 + 500 * MIN)
    await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.020")
    await c.post("/admin/step", json={"bars": 5})
    await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.008")
    await c.post("/admin/step", json={"bars": 10})
    await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.003")
    assert (await (await c.post("/admin/step", json={"bars": 100})).json())["finished"]
    run_id = (await (await c.get("/admin/status")).json())["run_id"]
    trades = await (await c.get("/fapi/v1/userTrades", params={"symbol": "BTCUSDT"})).json()
    incomes = await (await c.get("/fapi/v1/income", params={"limit": 1000})).json()
    account = await (await c.get("/fapi/v2/account")).json()
    await c.close()
    con = duckdb.connect(db_path, read_only=True)
    try:
        m = run_metrics.run_metrics(con, run_id)
    finally:
        con.close()
    a = m.accounts[0]
    assert (m.status, m.periods, a.account, a.fills, a.buys, a.sells) == ("finished", 30, "default", 3, 1, 2)
    assert a.realized_pnl == pytest.approx(sum(float(t["realizedPnl"]) for t in trades), abs=1e-9)
    assert a.fees == pytest.approx(sum(float(t["commission"]) for t in trades), abs=1e-9)
    assert a.funding == pytest.approx(sum(float(i["income"]) for i in incomes if i["incomeType"] == "FUNDING_FEE"),
                                      abs=1e-8)
    assert a.net_pnl == pytest.approx(sum(float(i["income"]) for i in incomes), abs=1e-8)
    assert a.final_equity == pytest.approx(float(account["totalMarginBalance"]), abs=1e-6)
    assert a.unrealized_pnl == pytest.approx(float(account["totalUnrealizedProfit"]), abs=1e-6)
    # bought after the first bar and never flat again: exposed in 29 of the 30 bars
    assert a.exposed_periods == 29 and a.exposure == pytest.approx(29 / 30)
    assert a.closing_trades == 2 and a.sharpe is not None and a.max_drawdown >= 0
    assert a.turnover == pytest.approx(sum(float(t["quoteQty"]) for t in trades) / 100000, abs=1e-9)

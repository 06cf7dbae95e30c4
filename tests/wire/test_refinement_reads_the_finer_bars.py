"""fill_resolution through the real feed: a 1h replay over a database of 1m bars resolves the
orders inside each hour on its 1m bars (the take-profit the minutes reached first), while
without it the assumed path of the hour bar takes the stop and the fill is flagged ambiguous in
DuckDB (and `exsim runs show` gives the PnL range across the two paths); streams and REST
keep serving hour bars."""
import duckdb

from exsim.store.run_metrics import run_metrics
from exsim.store.schema import ensure_schema, ohlc_ddl

MIN, HOUR = 60_000, 3_600_000
T0 = 1_704_067_200_000


def minutes_db(path: str) -> str:
    """Hour 0 flat at 50000; hour 1 rises to 50150 in its first minutes, then falls to 49850
    and closes at 50020 (an up bar: the assumed O-L-H-C path would visit the low first)."""
    rows = []
    for m in range(3 * 60):
        ts = T0 + m * MIN
        if 60 <= m < 70:
            o, c = 50000 + 15 * (m - 60), 50000 + 15 * (m - 59)
        elif 70 <= m < 90:
            o, c = 50150 - 15 * (m - 70), 50150 - 15 * (m - 69)
        elif 90 <= m < 120:
            o, c = 49850 + 170 * (m - 90) // 30, 49850 + 170 * (m - 89) // 30
        else:
            o = c = 50000 if m < 60 else 50020
        rows.append(("BTCUSDT", ts, o, max(o, c), min(o, c), c, 1.0, ts + MIN - 1))
    con = duckdb.connect(path)
    ensure_schema(con)
    con.execute(ohlc_ddl("ohlc_1m"))
    con.executemany("INSERT INTO ohlc_1m VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return path


async def ok(resp):
    body = await resp.json()
    assert resp.status == 200, body
    return body


async def trade_an_hour(c):
    await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                  "quantity": "0.100"}))
    await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT",
                                                  "quantity": "0.100", "price": "50100", "timeInForce": "GTC",
                                                  "reduceOnly": "true"}))
    await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
                                                  "stopPrice": "49900", "closePosition": "true"}))
    await ok(await c.post("/admin/step", json={"bars": 1}))
    return await ok(await c.get("/fapi/v1/userTrades", params={"symbol": "BTCUSDT"}))


async def test_hour_bars_are_resolved_on_their_minutes(exsim_client, tmp_path):
    db = minutes_db(str(tmp_path / "m.duckdb"))
    c = await exsim_client(duckdb_path=db, symbol="BTCUSDT", interval="1h", fill_resolution="1m")
    trades = await trade_an_hour(c)
    assert [(t["side"], t["price"], t["maker"]) for t in trades] == [
        ("BUY", "50000.00", False), ("SELL", "50100.00", True)]  # the take-profit
    kl = await ok(await c.get("/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1h"}))
    assert [k[0] for k in kl] == [T0, T0 + HOUR]  # hour bars, as replayed
    assert kl[-1][2:5] == ["50150.00", "49850.00", "50020.00"]


async def test_without_refinement_the_assumed_path_decides_and_is_flagged(exsim_client, tmp_path):
    db = minutes_db(str(tmp_path / "h.duckdb"))
    c = await exsim_client(duckdb_path=db, symbol="BTCUSDT", interval="1h")
    trades = await trade_an_hour(c)
    assert [(t["side"], t["price"]) for t in trades] == [("BUY", "50000.00"), ("SELL", "49900.00")]  # the stop
    status = await ok(await c.get("/admin/status"))
    assert status["ambiguous_fills"] == 1
    run_id = status["run_id"]
    await c.close()
    con = duckdb.connect(db, read_only=True)
    try:
        flags = con.execute("SELECT side, ambiguous, alt_price FROM trades_fills WHERE run_id = ? ORDER BY seq",
                            [run_id]).fetchall()
        assert flags == [("BUY", False, None), ("SELL", True, 50100.0)]  # the take-profit's price
        assert con.execute("SELECT bool_or(ambiguous) FROM orders WHERE run_id = ? AND orig_type = 'STOP_MARKET'",
                           [run_id]).fetchall() == [(True,)]
        # runs show: the other path would have taken the take-profit, 0.1 x (50100 - 49900) = 20 more
        acct = run_metrics(con, run_id).accounts[0]
        assert (acct.ambiguous_fills, round(acct.other_path_pnl, 9)) == (1, 20.0)
        assert (acct.net_pnl_low, round(acct.net_pnl_high - acct.net_pnl_low, 9)) == (acct.net_pnl, 20.0)
    finally:
        con.close()

"""Mark price from loaded mark-price klines (`exsim load`: Binance's markPriceKlines files, or
/fapi/v1/markPriceKlines of an API): it differs from the close and drives unrealized PnL,
positionRisk, premiumIndex, the markPrice stream, /fapi/v1/markPriceKlines and liquidation;
/admin/status says where the mark comes from."""
import asyncio
import json
import os
from decimal import Decimal

import duckdb
from aiohttp import web

from exsim.store import loader
from exsim.store.schema import ensure_schema, existing_tables, ohlc_ddl

MIN = 60_000
T0 = 1_704_067_200_000
BARS = 40


def mark_close(i: int) -> int:
    return 50000 - 20 * i  # the mark falls while the last price stays at 50000


def flat_market(path: str) -> str:
    con = duckdb.connect(path)
    ensure_schema(con)
    con.execute(ohlc_ddl("ohlc_1m"))
    con.executemany("INSERT INTO ohlc_1m VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [("BTCUSDT", T0 + i * MIN, 50000, 50000, 50000, 50000, 5.0, T0 + i * MIN + MIN - 1)
                     for i in range(BARS)])
    con.close()
    return path


def mark_row(i: int) -> list:
    c = mark_close(i)
    o = mark_close(i - 1) if i else c
    ts = T0 + i * MIN
    return [ts, f"{o}.0", f"{max(o, c) + 5}.0", f"{min(o, c) - 5}.0", f"{c}.0", "0", ts + MIN - 1, "0", 60, "0", "0", "0"]


def mark_files(root) -> str:
    """A data.binance.vision-style markPriceKlines folder with one daily file."""
    folder = os.path.join(root, "futures", "um", "daily", "markPriceKlines", "BTCUSDT", "1m")
    os.makedirs(folder)
    path = os.path.join(folder, "BTCUSDT-1m-2024-01-01.csv")
    with open(path, "w") as fh:
        fh.write("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                 "taker_buy_volume,taker_buy_quote_volume,ignore\n")
        for i in range(BARS):
            fh.write(",".join(str(x) for x in mark_row(i)) + "\n")
    return path


async def ok(resp, status=200):
    body = await resp.json()
    assert resp.status == status, body
    return body


def test_mark_files_load_into_their_own_table(tmp_path):
    db = flat_market(str(tmp_path / "m.duckdb"))
    path = mark_files(str(tmp_path))
    assert loader.is_mark_path([path]) and not loader.is_mark_path([str(tmp_path / "BTCUSDT-1m.csv")])
    con = duckdb.connect(db)
    try:
        report = loader.load_files(con, [path], "BTCUSDT", "1m", mark=True)
        assert (report.table, report.rows_new, report.funding_rows) == ("mark_ohlc_1m", BARS, 0)
        again = loader.load_files(con, [path], "BTCUSDT", "1m", mark=True)
        assert (again.rows_new, again.rows_overlap) == (0, BARS)
        assert con.execute("SELECT close FROM mark_ohlc_1m ORDER BY ts LIMIT 2").fetchall() == [(50000.0,), (49980.0,)]
        assert con.execute("SELECT count(*) FROM ohlc_1m").fetchall() == [(BARS,)]  # the bars untouched
    finally:
        con.close()


async def test_mark_klines_page_from_an_api(tmp_path, aiohttp_server):
    calls = []

    async def mark_klines(request):
        q = request.query
        calls.append(request.path)
        start, end, limit = int(q["startTime"]), int(q["endTime"]), int(q["limit"])
        rows = [mark_row(i) for i in range(BARS) if start <= T0 + i * MIN <= end][:min(limit, 15)]
        return web.json_response(rows)

    app = web.Application()
    app.router.add_get("/fapi/v1/markPriceKlines", mark_klines)
    server = await aiohttp_server(app)
    db = flat_market(str(tmp_path / "api.duckdb"))

    def load():
        con = duckdb.connect(db)
        try:
            return loader.load_api(con, "BTCUSDT", "1m", T0, T0 + BARS * MIN, f"http://127.0.0.1:{server.port}",
                                   progress=False, mark=True)
        finally:
            con.close()

    report = await asyncio.to_thread(load)
    assert report.table == "mark_ohlc_1m" and report.rows_new == BARS
    assert set(calls) == {"/fapi/v1/markPriceKlines"} and len(calls) >= 3  # pages of 15


async def test_loaded_mark_drives_pnl_streams_routes_and_liquidation(exsim_client, tmp_path):
    db = flat_market(str(tmp_path / "mark.duckdb"))
    con = duckdb.connect(db)
    loader.load_files(con, [mark_files(str(tmp_path))], "BTCUSDT", "1m", mark=True)
    con.close()
    c = await exsim_client(duckdb_path=db, symbol="BTCUSDT", starting_balance=400.0)
    market = (await ok(await c.get("/admin/status")))["markets"][0]
    assert market["mark_source"] == "mark_klines"
    await ok(await c.post("/fapi/v1/leverage", data={"symbol": "BTCUSDT", "leverage": "125"}))
    await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                  "quantity": "0.9"}))
    async with c.ws_connect("/ws/btcusdt@markPrice@1s") as ws:
        await ok(await c.post("/admin/step", json={"bars": 5}))
        frames = [json.loads((await asyncio.wait_for(ws.receive(), 5)).data) for _ in range(5)]
    assert [f["p"] for f in frames] == [f"{mark_close(i)}.00" for i in range(1, 6)]
    assert {f["i"] for f in frames} == {"50000.00"}  # the index: the contract's own price
    risk = (await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})))[0]
    assert risk["markPrice"] == "49900.00000000"
    assert Decimal(risk["unRealizedProfit"]) == Decimal("0.9") * (49900 - 50000)  # at mark, not last
    premium = (await ok(await c.get("/fapi/v1/premiumIndex", params={"symbol": "BTCUSDT"})))
    assert (premium["markPrice"], premium["indexPrice"]) == ("49900.00", "50000.00")
    rows = await ok(await c.get("/fapi/v1/markPriceKlines", params={"symbol": "BTCUSDT", "interval": "1m"}))
    assert [r[4] for r in rows[-2:]] == ["49920.00", "49900.00"] and all(r[5] == "0" for r in rows)
    # LP = (400 - 9 - 45000) / (0.9 * 0.004 - 0.9) = 49764.61...: reached by the mark's low in bar
    # 12 (49755) while every trade is at 50000
    await ok(await c.post("/admin/step", json={"bars": 10}))
    trades = await ok(await c.get("/fapi/v1/userTrades", params={"symbol": "BTCUSDT"}))
    assert [(t["side"], t["price"]) for t in trades] == [("BUY", "50000.00"), ("SELL", "49764.60")]
    assert (await ok(await c.get("/fapi/v1/ticker/price", params={"symbol": "BTCUSDT"})))["price"] == "50000.00"

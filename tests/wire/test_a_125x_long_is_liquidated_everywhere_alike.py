"""The issue's case, end to end: a 125x long through its liquidation price ends liquidated, the
wallet never below zero, and every step is in the user-data stream (MARGIN_CALL, then the
LIQUIDATION ORDER_TRADE_UPDATE x=CALCULATED, then ACCOUNT_UPDATE), the forceOrder stream,
REST (positionRisk, userTrades, income, forceOrders) and DuckDB (orders, trades_fills, income)."""
import asyncio
import json
from decimal import Decimal

import duckdb

from exsim.store.schema import ensure_schema, ohlc_ddl

MIN = 60_000
T0 = 1_704_067_200_000
FENCE = {"symbol": "BTCUSDT", "leverage": "125"}  # changes nothing, answers on the stream


def falling_market(path: str) -> str:
    """BTCUSDT 1m bars: 10 flat at 50000, then 100 lower each minute."""
    con = duckdb.connect(path)
    ensure_schema(con)
    con.execute(ohlc_ddl("ohlc_1m"))
    rows = []
    for i in range(60):
        o = 50000 if i < 11 else 50000 - 100 * (i - 10)
        c = 50000 if i < 10 else 50000 - 100 * (i - 9)
        rows.append(("BTCUSDT", T0 + i * MIN, o, max(o, c), min(o, c), c, 10.0, T0 + i * MIN + MIN - 1))
    con.executemany("INSERT INTO ohlc_1m VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return path


async def ok(resp, status=200):
    body = await resp.json()
    assert resp.status == status, body
    return body


async def frames_until_fence(c, ws) -> list[dict]:
    await ok(await c.post("/fapi/v1/leverage", data=FENCE))
    out = []
    while True:
        msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        if msg.get("e") == "ACCOUNT_CONFIG_UPDATE":
            return out
        out.append(msg)


async def test_125x_long_through_its_liquidation_price(exsim_client, tmp_path):
    db = falling_market(str(tmp_path / "falling.duckdb"))
    c = await exsim_client(duckdb_path=db, symbol="BTCUSDT", starting_balance=400.0)
    key = (await ok(await c.post("/fapi/v1/listenKey")))["listenKey"]
    async with c.ws_connect(f"/ws/{key}") as user, c.ws_connect("/ws/btcusdt@forceOrder") as force:
        await frames_until_fence(c, user)  # the fence sets 125x
        order = await ok(await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY",
                                                              "type": "MARKET", "quantity": "0.9"}))
        assert order["status"] == "NEW"
        risk = (await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})))[0]
        # (wallet 400 - fee 9 - 45000) / (0.9 * 0.004 - 0.9) = 49764.61401160...
        assert risk["liquidationPrice"] == "49764.61401160"
        assert risk["maxNotionalValue"] == "50000"
        await frames_until_fence(c, user)

        await ok(await c.post("/admin/step", json={"bars": 20}))
        got = await frames_until_fence(c, user)
        kinds = [(f["e"], f.get("o", {}).get("x"), f.get("a", {}).get("m")) for f in got]
        assert kinds == [("MARGIN_CALL", None, None), ("ORDER_TRADE_UPDATE", "CALCULATED", None),
                         ("ACCOUNT_UPDATE", None, "ORDER")]
        call, liq, acct_up = got
        assert call["p"][0]["s"] == "BTCUSDT" and call["p"][0]["pa"] == "0.900" and "cw" in call
        o = liq["o"]
        assert o["o"] == "LIQUIDATION" and o["c"].startswith("autoclose-") and o["X"] == "FILLED"
        assert o["S"] == "SELL" and o["z"] == "0.900" and o["L"] == "49764.60"  # the formula price, on the tick
        assert acct_up["a"]["P"][0]["pa"] == "0.000"
        assert Decimal(acct_up["a"]["B"][0]["wb"]) >= 0
        fo = json.loads((await asyncio.wait_for(force.receive(), 5)).data)
        assert fo["e"] == "forceOrder" and fo["o"]["s"] == "BTCUSDT" and fo["o"]["S"] == "SELL"
        assert fo["o"]["o"] == "LIMIT" and fo["o"]["X"] == "FILLED" and fo["o"]["ap"] == "49764.60"

    risk = (await ok(await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT"})))[0]
    assert risk["positionAmt"] == "0.000"
    account = await ok(await c.get("/fapi/v2/account"))
    wallet = Decimal(account["totalWalletBalance"])
    assert wallet >= 0
    trades = await ok(await c.get("/fapi/v1/userTrades", params={"symbol": "BTCUSDT"}))
    assert [t["side"] for t in trades] == ["BUY", "SELL"] and trades[-1]["price"] == "49764.60"
    incomes = await ok(await c.get("/fapi/v1/income", params={"symbol": "BTCUSDT"}))
    assert {i["incomeType"] for i in incomes} >= {"REALIZED_PNL", "COMMISSION", "INSURANCE_CLEAR"}
    assert Decimal(400) + sum(Decimal(i["income"]) for i in incomes) == wallet
    forced = await ok(await c.get("/fapi/v1/forceOrders", params={"symbol": "BTCUSDT"}))
    assert len(forced) == 1 and forced[0]["clientOrderId"] == o["c"]
    run_id = (await ok(await c.get("/admin/status")))["run_id"]
    await c.close()  # flushes to DuckDB

    con = duckdb.connect(db, read_only=True)
    try:
        (orig_type, status), = con.execute("SELECT orig_type, status FROM orders WHERE run_id = ? "
                                           "AND client_order_id LIKE 'autoclose-%'",
                                           [run_id]).fetchall()
        assert (orig_type, status) == ("LIQUIDATION", "FILLED")
        fills = con.execute("SELECT side, price, qty FROM trades_fills WHERE run_id = ? ORDER BY seq",
                            [run_id]).fetchall()
        assert fills == [("BUY", 50000.0, 0.9), ("SELL", 49764.6, 0.9)]
        clear = con.execute("SELECT count(*) FROM income WHERE run_id = ? AND income_type = 'INSURANCE_CLEAR'",
                            [run_id]).fetchall()[0][0]
        assert clear >= 1
    finally:
        con.close()

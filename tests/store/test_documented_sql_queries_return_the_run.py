"""The SQL the README and the spec document returns what the run did: a hand-checked run
(fills on both sides, a partial close, a funding settlement with the position open, a
position still open at the end) against every documented query, and against REST."""
from __future__ import annotations

import duckdb
import pytest

from tests.conftest import T0

MIN = 60_000
START, END = T0 + 470 * MIN, T0 + 500 * MIN  # 07:50-08:20: the 08:00 funding falls inside


def readme_queries() -> dict[str, str]:
    """The README's 'Useful SQL' block, one query per comment line."""
    text = open("README.md").read()
    block = text.split("## Useful SQL", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    queries, name = {}, None
    for line in block.splitlines():
        if line.startswith("--"):
            name = line[2:].strip()
            queries[name] = ""
        elif name:
            queries[name] += line + "\n"
    return queries


# The spec's "Consultas útiles en SQL" (../shared/spec/exsim.md), verbatim.
SPEC_LATEST_RUNS = "SELECT run_id, strategy, created_at FROM runs ORDER BY created_at DESC LIMIT 5;"
SPEC_PNL = """WITH f AS (
  SELECT ts, seq, side, qty, price, fee, realized_pnl,
         CASE WHEN side='BUY' THEN qty ELSE -qty END AS signed_qty
  FROM trades_fills WHERE run_id = '<RUN_ID>'
)
SELECT COUNT(*)                                   AS fills,
       SUM(CASE WHEN side='BUY'  THEN 1 ELSE 0 END) AS buys,
       SUM(CASE WHEN side='SELL' THEN 1 ELSE 0 END) AS sells,
       SUM(realized_pnl)                           AS realized_pnl,
       SUM(fee)                                    AS fees,
       SUM(realized_pnl) - SUM(fee)                AS net_pnl
FROM f;"""
SPEC_FINAL_EQUITY = """SELECT equity
FROM equity_curve
WHERE run_id = '<RUN_ID>'
ORDER BY ts DESC
LIMIT 1;"""


async def _post(c, path, **params):
    r = await c.post(path, data=params)
    body = await r.json()
    assert r.status == 200, body
    return body


async def test_readme_and_spec_queries_match_a_hand_checked_run(exsim_client, db_path):
    c = await exsim_client(symbol="BTCUSDT", start=START, end=END)
    await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.020")
    await c.post("/admin/step", json={"bars": 5})
    await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.008")
    await c.post("/admin/step", json={"bars": 10})  # 08:00 funding with 0.012 open
    await _post(c, "/fapi/v1/order", symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.003")
    done = await (await c.post("/admin/step", json={"bars": 100})).json()
    assert done["finished"]
    run_id = (await (await c.get("/admin/status")).json())["run_id"]
    trades = await (await c.get("/fapi/v1/userTrades", params={"symbol": "BTCUSDT"})).json()
    incomes = await (await c.get("/fapi/v1/income", params={"incomeType": "FUNDING_FEE"})).json()
    account = await (await c.get("/fapi/v2/account")).json()
    await c.close()  # the app flushes and lets go of the file

    realized = sum(float(t["realizedPnl"]) for t in trades)
    fees = sum(float(t["commission"]) for t in trades)
    funding = sum(float(i["income"]) for i in incomes)
    final_equity = float(account["totalMarginBalance"])  # wallet + unrealized at the last close
    assert len(trades) == 3 and realized != 0 and funding != 0 and float(account["totalUnrealizedProfit"]) != 0
    assert final_equity == pytest.approx(100000 + realized - fees + funding
                                         + float(account["totalUnrealizedProfit"]), abs=1e-6)

    con = duckdb.connect(db_path, read_only=True)
    try:
        def run(sql: str) -> list[tuple]:
            return con.execute(sql.replace("'<RUN_ID>'", "?").replace("<RUN_ID>", "?"),
                               [run_id] * sql.count("<RUN_ID>")).fetchall()

        readme = readme_queries()
        assert {"latest runs", "fills and PnL of a run", "final equity of a run", "funding paid/received"} <= set(readme)
        latest = run(readme["latest runs"])
        assert str(latest[0][0]) == run_id and latest[0][3] == "finished"
        assert latest[0][5] == pytest.approx(final_equity, abs=1e-6)
        fills, buys, sells, db_realized, db_fees, net = run(readme["fills and PnL of a run"])[0]
        assert (fills, buys, sells) == (3, 1, 2)
        assert (db_realized, db_fees, net) == pytest.approx((realized, fees, realized - fees), abs=1e-9)
        assert run(readme["final equity of a run"]) == [(pytest.approx(final_equity, abs=1e-6),)]
        assert run(readme["funding paid/received"])[0][0] == pytest.approx(funding, abs=1e-8)  # REST prints 8 decimals
        # one equity row per account and time, holding the state after everything at that time
        assert con.execute("SELECT count(*) - count(DISTINCT (account, ts)) FROM equity_curve WHERE run_id = ?",
                           [run_id]).fetchall()[0][0] == 0

        assert run(SPEC_FINAL_EQUITY) == [(pytest.approx(final_equity, abs=1e-6),)]
        assert run(SPEC_PNL)[0][:3] == (3, 1, 2)
        assert str(run(SPEC_LATEST_RUNS)[0][0]) == run_id
    finally:
        con.close()

"""`exsim verify RUN_ID`: the run's journal re-executed offline gives the same orders, fills,
income and equity as DuckDB holds; one tampered fill makes it fail naming the first differing
(bar, seq); other data or another engine hash is refused, not compared."""
from __future__ import annotations

import duckdb
import pytest

from exsim import cli

from tests.conftest import T0

MIN = 60_000


async def _ok(resp) -> dict:
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.fixture
async def run(exsim_client, db_path) -> tuple[str, str]:
    """Two symbols, market, resting limit, stop, cancel, leverage, a refused order; stepped."""
    c = await exsim_client(symbols=["BTCUSDT", "ETHUSDT"], start=T0 + 100 * MIN, end=T0 + 400 * MIN)
    post = lambda path, **data: c.post(path, data=data)  # noqa: E731
    await _ok(await post("/fapi/v1/leverage", symbol="BTCUSDT", leverage="10"))
    await _ok(await post("/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.05"))
    price = float((await _ok(await c.get("/fapi/v1/ticker/price", params={"symbol": "ETHUSDT"})))["price"])
    await _ok(await post("/fapi/v1/order", symbol="ETHUSDT", side="BUY", type="LIMIT", quantity="1",
                         price=f"{price * 0.995:.2f}", timeInForce="GTC"))
    await c.post("/admin/step", json={"bars": 30})
    btc = float((await _ok(await c.get("/fapi/v1/ticker/price", params={"symbol": "BTCUSDT"})))["price"])
    await _ok(await post("/fapi/v1/order", symbol="BTCUSDT", side="SELL", type="STOP_MARKET", quantity="0.02",
                         stopPrice=f"{btc * 0.998:.1f}", reduceOnly="true"))
    far = await _ok(await post("/fapi/v1/order", symbol="ETHUSDT", side="SELL", type="LIMIT", quantity="1",
                               price=f"{price * 1.05:.2f}", timeInForce="GTC"))
    r = await post("/fapi/v1/order", symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.05", price="1")
    assert r.status == 400  # no timeInForce: refused, journaled with its code
    await c.post("/admin/step", json={"bars": 40})
    await _ok(await c.delete("/fapi/v1/order", params={"symbol": "ETHUSDT", "orderId": far["orderId"]}))
    await _ok(await post("/fapi/v1/order", symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.03"))
    await c.post("/admin/step", json={"bars": 50})
    run_id = (await _ok(await c.get("/admin/status")))["run_id"]
    await c.close()  # the run ends ("stopped") and everything is flushed
    return db_path, run_id


def test_a_run_re_executes_identically(run, capsys):
    db, run_id = run
    con = duckdb.connect(db, read_only=True)
    kinds = dict(con.execute("SELECT kind, count(*) FROM run_journal WHERE run_id = ?::UUID GROUP BY kind",
                             [run_id]).fetchall())
    fills = con.execute("SELECT count(*) FROM trades_fills WHERE run_id = ?::UUID", [run_id]).fetchall()[0][0]
    con.close()
    assert kinds["header"] == 1 and kinds["end"] == 1 and kinds["cmd"] == 8
    assert fills >= 3
    assert cli.main(["verify", run_id[:8], "--db", db]) == 0
    out = capsys.readouterr().out
    assert "reproduced: 8 commands" in out


def test_a_tampered_fill_fails_naming_bar_and_seq(run, capsys):
    db, run_id = run
    con = duckdb.connect(db)
    seq, ts = con.execute("SELECT seq, ts FROM trades_fills WHERE run_id = ?::UUID ORDER BY seq LIMIT 1 OFFSET 1",
                          [run_id]).fetchall()[0]
    con.execute("UPDATE trades_fills SET price = price + 0.1 WHERE run_id = ?::UUID AND seq = ?", [run_id, seq])
    start = con.execute("SELECT start_ms FROM run_status WHERE run_id = ?::UUID", [run_id]).fetchall()[0][0]
    con.close()
    assert cli.main(["verify", run_id, "--db", db]) == 1
    err = capsys.readouterr().err
    assert f"trades_fills row 2 at bar {(ts - start) // MIN}, seq {seq}" in err


def test_changed_data_or_code_is_refused(run, capsys, monkeypatch):
    db, run_id = run
    monkeypatch.setattr("exsim.rerun.code_hash", lambda: "0" * 16)
    assert cli.main(["verify", run_id, "--db", db]) == 2
    assert "engine's code changed" in capsys.readouterr().err
    monkeypatch.undo()
    con = duckdb.connect(db)
    con.execute("UPDATE ohlc_1m SET close = close + 1 WHERE symbol = 'ETHUSDT' AND ts = ?", [T0 + 200 * MIN])
    con.close()
    assert cli.main(["verify", run_id, "--db", db]) == 2
    assert "market data of run" in capsys.readouterr().err

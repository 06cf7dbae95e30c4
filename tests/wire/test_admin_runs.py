"""GET /admin/runs and /admin/runs/{run_id}: the stored runs and their metrics as JSON, up to
date while the run goes on (buffered rows are flushed first), the same numbers the CLI reads
from the file afterwards."""
from __future__ import annotations

import duckdb
import msgspec

from exsim.store import run_metrics

from tests.conftest import T0

MIN = 60_000


async def _order(c, side: str, qty: str) -> None:
    r = await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": qty})
    assert r.status == 200, await r.text()


async def test_runs_and_metrics_over_http(exsim_client, db_path):
    c = await exsim_client(symbol="BTCUSDT", start=T0 + 10 * MIN, end=T0 + 40 * MIN)
    await _order(c, "BUY", "0.010")
    await c.post("/admin/step", json={"bars": 3})
    # the current run, before any periodic flush: the fill is there already
    now = await (await c.get("/admin/runs/current")).json()
    run_id = now["run_id"]
    assert now["status"] == "running" and now["accounts"][0]["account"] == "default"
    assert now["accounts"][0]["fills"] == 1 and now["symbols"] == ["BTCUSDT"] and now["interval"] == "1m"
    listed = await (await c.get("/admin/runs")).json()
    assert [r["run_id"] for r in listed] == [run_id] and listed[0]["fills"] == 1

    await _order(c, "SELL", "0.010")
    assert (await (await c.post("/admin/step", json={"bars": 100})).json())["finished"]
    by_id = await (await c.get(f"/admin/runs/{run_id}")).json()
    by_prefix = await (await c.get(f"/admin/runs/{run_id[:8]}")).json()
    assert by_id == by_prefix and by_id["status"] == "finished" and by_id["accounts"][0]["fills"] == 2
    assert by_id["accounts"][0]["closing_trades"] == 1

    r = await c.post("/admin/replay", json={"restart": True})  # a second run
    assert r.status == 200
    second = (await r.json())["run_id"]
    listed = await (await c.get("/admin/runs")).json()
    assert {r["run_id"] for r in listed} == {run_id, second}
    assert [r["run_id"] for r in await (await c.get("/admin/runs", params={"limit": "1"})).json()] == [listed[0]["run_id"]]

    missing = await c.get("/admin/runs/0000dead")
    assert missing.status == 404 and (await missing.json())["code"] == -1130
    hostile = await c.get("/admin/runs/x' OR 1=1 --")
    assert hostile.status == 404 and (await hostile.json())["code"] == -1130
    for bad in ("0", "-1", "abc", "99999999999"):
        resp = await c.get("/admin/runs", params={"limit": bad})
        assert resp.status == 400 and (await resp.json())["code"] == -1130, bad
    await c.close()

    con = duckdb.connect(db_path, read_only=True)  # what the CLI reads from the file: the same
    try:
        stored = msgspec.to_builtins(run_metrics.run_metrics(con, run_id))
    finally:
        con.close()
    assert stored == by_id


async def test_admin_runs_need_the_admin_token(exsim_client):
    c = await exsim_client(admin_token="tok-123")
    for path in ("/admin/runs", "/admin/runs/current"):
        assert (await c.get(path)).status == 401
        assert (await c.get(path, headers={"Authorization": "Bearer tok-123"})).status == 200

"""kill -9 right after acknowledged orders, then a restart: every acknowledged fill is in DuckDB
(the journal file had them before each reply; the next start rebuilds the run from it), the run
is marked 'incomplete', and `exsim verify` passes on the rebuilt run. In a loop: the kill lands
at a different point of the writer's flush cycle each time."""
from __future__ import annotations

import json
import signal
import urllib.parse

import duckdb

from exsim import cli

from tests.conftest import make_dataset
from tests.process import Gateway, http

ROUNDS = 4


def _order(port: int, side: str) -> dict:
    body = urllib.parse.urlencode({"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": "0.01"}).encode()
    status, _, data = http(port, "POST", "/fapi/v1/order", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, data
    return json.loads(data)


def test_acknowledged_fills_survive_kill_9(tmp_path):
    db = make_dataset(str(tmp_path / "exsim.duckdb"), days=1)
    acknowledged: dict[str, list[int]] = {}
    for round_ in range(ROUNDS):
        gw = Gateway(db, str(tmp_path), speed="0")
        try:
            gw.wait_ready()
            run_id = json.loads(http(gw.port, "GET", "/admin/status")[2])["run_id"]
            # a step between orders on some rounds: commands at several positions
            ids = []
            for k in range(5):
                ids.append(_order(gw.port, "BUY" if k % 2 == 0 else "SELL")["orderId"])
                if (k + round_) % 2:
                    http(gw.port, "POST", "/admin/step", body=b'{"bars": 3}', headers={"Content-Type": "application/json"})
            acknowledged[run_id] = ids
            gw.signal(signal.SIGKILL)
            gw.wait(10)
        finally:
            gw.stop()
    gw = Gateway(db, str(tmp_path), speed="0")  # the start after the last kill rebuilds it
    try:
        gw.wait_ready()
    finally:
        gw.stop()
    con = duckdb.connect(db, read_only=True)
    try:
        for run_id, ids in acknowledged.items():
            status = con.execute("SELECT status FROM run_status WHERE run_id = ?::UUID", [run_id]).fetchall()
            assert status == [("incomplete",)], run_id
            filled = con.execute("SELECT order_id FROM trades_fills WHERE run_id = ?::UUID ORDER BY order_id",
                                 [run_id]).fetchall()
            assert [r[0] for r in filled] == ids, run_id
    finally:
        con.close()
    for run_id in acknowledged:
        assert cli.main(["verify", run_id, "--db", db]) == 0

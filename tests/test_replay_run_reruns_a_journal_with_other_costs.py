"""`exsim replay-run RUN_ID --with taker_bps=5`: the same commands at the same bars under other
costs, as a new run of the same database, printed side by side with the original; the new run
has its own journal, so it verifies too. A bad --with is refused with exit 2."""
from __future__ import annotations

import duckdb
import pytest

from exsim import cli

from tests.conftest import T0

MIN = 60_000


@pytest.fixture
async def run(exsim_client, db_path) -> tuple[str, str]:
    c = await exsim_client(symbol="BTCUSDT", start=T0 + 100 * MIN, end=T0 + 300 * MIN)
    for side, bars in (("BUY", 20), ("SELL", 30), ("SELL", 10), ("BUY", 5)):
        r = await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": side, "type": "MARKET",
                                                 "quantity": "0.1"})
        assert r.status == 200, await r.text()
        await c.post("/admin/step", json={"bars": bars})
    run_id = (await (await c.get("/admin/status")).json())["run_id"]
    await c.close()
    return db_path, run_id


def test_replay_run_with_other_taker_fee(run, capsys):
    db, run_id = run
    assert cli.main(["replay-run", run_id[:8], "--with", "taker_bps=5", "--db", db]) == 0
    out = capsys.readouterr().out
    new_id = out.strip().splitlines()[-1].split()[2]
    assert run_id in out and new_id != run_id
    con = duckdb.connect(db, read_only=True)
    q = "SELECT ts, side, price, qty, fee FROM trades_fills WHERE run_id = ?::UUID ORDER BY seq"
    old, new = con.execute(q, [run_id]).fetchall(), con.execute(q, [new_id]).fetchall()
    con.close()
    assert len(old) == len(new) == 4
    for a, b in zip(old, new):
        assert a[:4] == b[:4]  # same bars, sides, prices and amounts
        assert a[4] == pytest.approx(a[2] * a[3] * 2e-4) and b[4] == pytest.approx(b[2] * b[3] * 5e-4)
    assert cli.main(["verify", new_id, "--db", db]) == 0


def test_a_bad_setting_is_refused(run, capsys):
    db, run_id = run
    assert cli.main(["replay-run", run_id, "--with", "no_such_key=1", "--db", db]) == 2
    assert "unknown setting 'no_such_key'" in capsys.readouterr().err
    assert cli.main(["replay-run", run_id, "--with", "taker_bps", "--db", db]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err

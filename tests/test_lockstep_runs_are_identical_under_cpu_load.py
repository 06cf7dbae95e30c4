"""Two lockstep runs of the example bot (tools/ema_bot.py, python-binance, REST polling) over
the same data: one beside a CPU hog in another process, one with gateway and bot pinned to one
core. Their journals (every command, at its bar and sim time) and fills are identical; `verify`
passes on both, and fails on one after a fill is tampered with. With wall pacing the same bot
lands its orders wherever its latency puts them; here the clock waits for it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import duckdb
import pytest

from exsim import cli

from tests.conftest import T0, make_dataset
from tests.lockstep_bots import status, wait_for
from tests.process import REPO, Gateway

MIN = 60_000
BARS = 120


def _run(tmp_path, name: str, hog: bool, pin: bool) -> tuple[str, str]:
    folder = tmp_path / name
    folder.mkdir()
    db = make_dataset(str(folder / "exsim.duckdb"), days=1)
    pin_argv = ["taskset", "-c", "0"] if pin else []
    hog_proc = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if hog else None
    gw = Gateway(db, str(folder), speed="max",
                 extra=["--pacing", "lockstep", "--start", str(T0 + 60 * MIN), "--end", str(T0 + 600 * MIN)])
    try:
        gw.wait_ready()
        if pin:  # every thread of the gateway, then the bot (taskset) on the same core
            for task in os.listdir(f"/proc/{gw.proc.pid}/task"):
                os.sched_setaffinity(int(task), {0})
        env = dict(os.environ, URL=gw.url, SYM="BTCUSDT", FAST="3", SLOW="8", ALLOC="2000", STOP="0.002",
                   ALLOW_SHORTS="true", MAX_BARS=str(BARS), POLL="0.001",
                   PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        bot = subprocess.run(pin_argv + [sys.executable, os.path.join(REPO, "tools", "ema_bot.py")], env=env,
                             cwd=str(folder), capture_output=True, text=True, timeout=240)
        assert bot.returncode == 0, bot.stderr[-3000:]
        assert "FILL" in bot.stdout
        # the bot has left; its stop orders still rest: replay to the end of data, so both runs
        # hold every fill the data decides, not the ones before the gateway happened to stop
        wait_for(lambda: status(gw)["finished"], "the replay to reach the end of data")
    finally:
        if hog_proc is not None:
            hog_proc.send_signal(signal.SIGKILL)
            hog_proc.wait()
        gw.stop()
    con = duckdb.connect(db, read_only=True)
    run_id = con.execute("SELECT run_id::VARCHAR FROM runs ORDER BY created_at DESC LIMIT 1").fetchall()[0][0]
    con.close()
    return db, run_id


def _journal_and_fills(db: str, run_id: str) -> tuple[list, list]:
    con = duckdb.connect(db, read_only=True)
    try:
        cmds = con.execute("SELECT bar, tick, ts, body->'$.cmd' FROM run_journal WHERE run_id = ?::UUID "
                           "AND kind = 'cmd' ORDER BY line", [run_id]).fetchall()
        fills = con.execute("SELECT seq, ts, side, price, qty, fee, order_id, trade_id FROM trades_fills "
                            "WHERE run_id = ?::UUID ORDER BY seq", [run_id]).fetchall()
    finally:
        con.close()
    # python-binance makes up a random newClientOrderId per order: the bot's randomness, not ExSim's
    return [(bar, tick, ts, _without_client_ids(body)) for bar, tick, ts, body in cmds], fills


def _without_client_ids(body: str) -> dict:
    cmd = json.loads(body)
    order = cmd.get("order", {})
    for key in ("new_client_order_id", "client_algo_id"):
        order.pop(key, None)
    return cmd


@pytest.mark.timeout(600)
def test_lockstep_runs_are_identical_under_load_and_pinned(tmp_path, capsys):
    a = _run(tmp_path, "hog", hog=True, pin=False)
    b = _run(tmp_path, "pinned", hog=False, pin=True)
    cmds_a, fills_a = _journal_and_fills(*a)
    cmds_b, fills_b = _journal_and_fills(*b)
    assert len(cmds_a) > 10 and len(fills_a) > 4
    assert cmds_a == cmds_b
    assert fills_a == fills_b
    for db, run_id in (a, b):
        assert cli.main(["verify", run_id, "--db", db]) == 0
    db, run_id = a
    con = duckdb.connect(db)
    con.execute("UPDATE trades_fills SET qty = qty * 2 WHERE run_id = ?::UUID AND seq = ?", [run_id, fills_a[-1][0]])
    con.close()
    assert cli.main(["verify", run_id, "--db", db]) == 1
    assert f"seq {fills_a[-1][0]}" in capsys.readouterr().err

"""freqtrade (live futures mode, `dry_run: false`, through ccxt) trades a replay under
`exsim run-bot` with lockstep pacing, using docs/freqtrade/ unchanged but for the port: its
DEFAULT freshness and lock settings and a strategy that overrides no freqtrade method.

What it proves: every trade freqtrade recorded (its sqlite `trades`/`orders`) is a fill in ExSim's
DuckDB (`trades_fills`) with the same side, amount and price, in the same order, and each trade's
`open_date` is the sim time of its entry fill (same bar): freqtrade's clock is the replay's clock.
The gateway and the bot are real processes on 127.0.0.1; nothing is downloaded.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import duckdb
import pytest

from tests.conftest import T0, make_dataset
from tests.process import REPO, Gateway, http

pytest.importorskip("freqtrade")
psutil = pytest.importorskip("psutil")

MIN = 60_000
WARMUP_BARS = 120  # history before the replay starts: the strategy's SMA(40) and startup candles
BARS = 600  # the replayed span (10 hours of 1m bars): a handful of SMA crosses
DOCS = os.path.join(REPO, "docs", "freqtrade")
FREQTRADE = os.path.join(os.path.dirname(sys.executable), "freqtrade")
MAX_WAIT_MS = 250
TIMEOUT = 600.0  # seconds: a bound for a hung run, not a performance expectation


def _status(gw: Gateway) -> dict:
    code, _, body = http(gw.port, "GET", "/admin/status")
    assert code == 200, body
    return json.loads(body)


def _try_status(gw: Gateway):
    try:
        return _status(gw)
    except OSError:
        return None


def _until(check, what: str, timeout: float = TIMEOUT, procs=()):
    """The first truthy check(), polled; fails early when one of `procs` died."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        for name, proc, log in procs:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited ({proc.returncode}) while waiting for {what}:\n{log()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def _config(port: int, workdir: str) -> str:
    with open(os.path.join(DOCS, "config.json")) as f:
        text = f.read()
    cfg = json.loads(text.replace("127.0.0.1:9010", f"127.0.0.1:{port}"))
    cfg["db_url"] = "sqlite:///" + os.path.join(workdir, "tradesv3.sqlite")
    path = os.path.join(workdir, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


def _ms(text: str) -> int:
    """freqtrade's sqlite dates (naive UTC, 'YYYY-MM-DD HH:MM:SS[.ffffff]') in epoch ms."""
    d = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
    return round(d.timestamp() * 1000)


def _asleep(runbot_pid: int, quiet_s: float = 1.0, cpu_s: float = 0.02):
    """A check: True once freqtrade (run-bot's child) used < cpu_s of CPU over quiet_s of wall."""
    seen: list[tuple[float, float]] = []

    def check() -> bool:
        bot = psutil.Process(runbot_pid).children(recursive=True)
        if not bot:
            return False
        t = bot[0].cpu_times()
        seen.append((time.monotonic(), t.user + t.system))
        while len(seen) > 1 and seen[-1][0] - seen[1][0] >= quiet_s:
            seen.pop(0)
        return seen[-1][0] - seen[0][0] >= quiet_s and seen[-1][1] - seen[0][1] < cpu_s
    return check


def _stop_bot(runbot: subprocess.Popen, log) -> None:
    """SIGTERM to freqtrade (by PID) once its trading loop is over, then make sure both are gone.
    freqtrade's cleanup ends in ccxt's close(), which sleeps on the replay clock: with the run
    finished that clock no longer moves, so after "Cleaning up modules" it is killed."""
    try:
        children = psutil.Process(runbot.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        child.send_signal(signal.SIGTERM)
    try:
        _until(lambda: runbot.poll() is not None or "Cleaning up rpc modules" in log(), "freqtrade's cleanup",
               timeout=60)
    finally:
        for child in children:
            if child.is_running():
                child.kill()
        if runbot.poll() is None:
            runbot.kill()
        runbot.wait(timeout=30)


@pytest.mark.slow
def test_freqtrade_trades_a_replay_and_its_trades_are_exsim_fills(tmp_path):
    work = str(tmp_path)
    db = make_dataset(os.path.join(work, "exsim.duckdb"), days=1)
    start = T0 + WARMUP_BARS * MIN
    gw = Gateway(db, work, speed="max", extra=[
        "--symbols", "BTCUSDT", "--pacing", "lockstep", "--start", str(start), "--end", str(start + BARS * MIN),
        "--on-end", "stop",
        # a bar waits at most this long for freqtrade (wall ms): the gate can miss that a bot asleep
        # on the replay clock until just after a bar cannot see that bar before it wakes
        "--max-wait-ms", str(MAX_WAIT_MS)])
    runbot = None
    bot_log_path = os.path.join(work, "freqtrade.log")
    bot_log_file = open(bot_log_path, "wb")

    def bot_log() -> str:
        if not bot_log_file.closed:
            bot_log_file.flush()
        with open(bot_log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    try:
        # ready: /admin/status answers (not /fapi/v1/ping: a process that sends it may count as a
        # lockstep bot, and the first bot starts the replay)
        _until(lambda: _try_status(gw), "the gateway to listen", timeout=60, procs=[("the gateway", gw.proc, gw.stderr)])
        userdir = os.path.join(work, "user_data")
        os.mkdir(userdir)
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        t0 = time.monotonic()
        runbot = subprocess.Popen(
            [sys.executable, "-m", "exsim", "run-bot", "--gateway", gw.url, "--",
             FREQTRADE, "trade", "-c", _config(gw.port, work), "--strategy", "ExsimSample",
             "--strategy-path", DOCS, "--userdir", userdir],
            cwd=work, env=env, stdout=bot_log_file, stderr=subprocess.STDOUT)
        procs = [("freqtrade", runbot, bot_log), ("the gateway", gw.proc, gw.stderr)]

        def finished():
            # the shim warns ("exsim run-bot: ...") when it has no bot clock: freqtrade would run
            # on wall time, see every 2024 candle as outdated and never trade
            assert "exsim run-bot:" not in bot_log(), bot_log()[-3000:]
            return (s := _status(gw)).get("finished") and s

        final = _until(finished, "the replay to finish", procs=procs)
        elapsed = time.monotonic() - t0
        # the last bar: freqtrade may still act on it. With the run finished sim time stands still,
        # so its next sleep never ends: once its CPU time stops moving, it is asleep for good.
        _until(_asleep(runbot.pid), "freqtrade asleep after the last bar", procs=procs)
        code, _, body = http(gw.port, "GET", "/fapi/v1/userTrades?symbol=BTCUSDT&limit=1000")
        assert code == 200, body
        rest_fills = json.loads(body)
        _stop_bot(runbot, bot_log)
    finally:
        if runbot is not None and runbot.poll() is None:
            runbot.kill()
            runbot.wait(timeout=30)
        bot_log_file.close()
        gw.stop()
    lockstep = final.get("lockstep") or {}
    print(f"freqtrade: {BARS} bars in {elapsed:.1f} s = {BARS / elapsed:.1f} bars/s; "
          f"lockstep timeouts {lockstep.get('timeouts')}, alarm jumps {lockstep.get('alarm_jumps')}")
    assert final["bars_done"] == BARS, final

    con = duckdb.connect(db, read_only=True)
    run_id = str(final["run_id"])
    fills = con.execute("SELECT ts, side, qty, price, order_id FROM trades_fills WHERE run_id = ? ORDER BY seq",
                        [run_id]).fetchall()
    con.close()
    assert len(fills) == len(rest_fills), (fills, rest_fills)

    ft = sqlite3.connect(os.path.join(work, "tradesv3.sqlite"))
    trades = ft.execute("SELECT id, open_date, open_rate, amount, is_open, close_rate FROM trades ORDER BY id").fetchall()
    orders = ft.execute(
        "SELECT ft_trade_id, ft_order_side, side, filled, average, order_filled_date, order_date FROM orders "
        "WHERE filled > 0 ORDER BY order_filled_date, id").fetchall()
    ft.close()
    log_tail = bot_log()[-3000:]
    assert len([t for t in trades if not t[4]]) >= 2, (trades, log_tail)

    # every filled freqtrade order is one ExSim fill, in order: same side, amount and price
    assert len(orders) == len(fills), (orders, fills, log_tail)
    for (trade_id, ft_side, side, filled, average, _, _), (ts, fside, qty, price, _) in zip(orders, fills):
        assert side.upper() == fside, (trade_id, ft_side, side, fside)
        assert filled == pytest.approx(qty, abs=1e-12), (trade_id, filled, qty)
        assert average == pytest.approx(price, abs=1e-9), (trade_id, average, price)

    # each trade: entered by the fill at its open_date (same bar: the bot's clock is sim time)
    entries = [f for f in fills if f[1] == "BUY"]
    assert len(entries) == len(trades)
    for (trade_id, open_date, open_rate, amount, _, _), (ts, _, qty, price, _) in zip(trades, entries):
        opened = _ms(open_date)
        assert opened // MIN == ts // MIN and abs(opened - ts) < MIN, (trade_id, open_date, ts)
        assert open_rate == pytest.approx(price, abs=1e-9) and amount == pytest.approx(qty, abs=1e-12)

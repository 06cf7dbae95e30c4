"""10,000 lockstep bars with python-binance under `exsim run-bot`: the bot's time.time() is sim
time, so every signed request it makes is stamped with the replay's clock, and sim time jumps a
minute at every bar. Not one of them is refused with -1021 (timestamp outside recvWindow): the
gate never moves the bar between the moment a bot reads its clock and the moment its request
arrives. The bot polls klines each bar, reads its balance (signed) at each new bar and trades
every 500 bars; it records every refusal it gets."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import T0, make_dataset
from tests.lockstep_bots import status, wait_for
from tests.process import REPO, Gateway

MIN = 60_000
BARS = 10_000

BOT = r'''
import json, os, sys, time
from binance.client import Client
from binance.exceptions import BinanceAPIException
url, bars = os.environ["URL"], int(os.environ["BARS"])
client = Client("exsim", "exsim", ping=False)
client.FUTURES_URL = url + "/fapi"
client.FUTURES_DATA_URL = url + "/futures/data"
refused, seen, orders, last = [], 0, 0, None

def call(fn, **kw):
    try:
        return fn(**kw)
    except BinanceAPIException as exc:
        refused.append([exc.code, exc.message, int(time.time() * 1000)])

while seen < bars:
    rows = client.futures_klines(symbol="BTCUSDT", interval="1m", limit=2)
    if rows[-1][0] == last:
        continue  # the same bar again: the gate holds the next poll until the next bar
    last, seen = rows[-1][0], seen + 1
    call(client.futures_account_balance)
    if seen % 500 == 0:
        call(client.futures_create_order, symbol="BTCUSDT", side="BUY" if seen % 1000 else "SELL",
             type="MARKET", quantity="0.010")
        orders += 1
print(json.dumps({"seen": seen, "orders": orders, "refused": refused, "clock": int(time.time() * 1000)}))
'''


@pytest.mark.timeout(900)
def test_10k_lockstep_bars_with_python_binance_on_the_replay_clock_never_get_1021(tmp_path):
    db = make_dataset(str(tmp_path / "exsim.duckdb"), days=8)
    script = tmp_path / "bot.py"
    script.write_text(BOT)
    end = T0 + (BARS + 200) * MIN
    gw = Gateway(db, str(tmp_path), speed="max", extra=["--pacing", "lockstep", "--symbols", "BTCUSDT",
                                                        "--start", str(T0 + 60 * MIN), "--end", str(end)])
    try:
        gw.wait_ready()
        env = dict(os.environ, URL=gw.url, BARS=str(BARS),
                   PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("EXSIM_ADMIN_TOKEN", None)
        bot = subprocess.run([sys.executable, "-m", "exsim", "run-bot", "--gateway", gw.url, "--",
                              sys.executable, str(script)], env=env, cwd=str(tmp_path),
                             capture_output=True, text=True, timeout=840)
        assert bot.returncode == 0, bot.stderr[-3000:]
        out = json.loads(bot.stdout.strip().splitlines()[-1])
        st = wait_for(lambda: status(gw), "the gateway's status")
    finally:
        gw.stop()
    assert out["seen"] == BARS and out["orders"] == BARS // 500
    assert out["refused"] == []
    assert st["lockstep"]["timeouts"] == 0
    assert st["bars_done"] >= BARS
    # the bot's clock was the replay's: it ended inside the replayed range, not at the wall date
    assert T0 + BARS * MIN <= out["clock"] <= end

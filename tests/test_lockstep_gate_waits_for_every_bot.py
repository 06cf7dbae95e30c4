"""Lockstep's gate, each rule with a real bot process on 127.0.0.1: a hung bot that never reads the next
bar hits max_wait_ms, the bar advances and the run is flagged not reproducible; a WS-only bot
(kline frames + the ping after them) advances the clock; /admin requests and browsers never
hold the gate."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import T0, make_dataset
from tests.process import REPO, Gateway, http


def wait_for(check, timeout: float) -> bool:
    """Poll `check` (a condition, not a sleep-as-synchronisation) until true or `timeout` s."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False

MIN = 60_000


@pytest.fixture
def gateway(tmp_path):
    gws = []

    def start(*extra: str) -> Gateway:
        db = make_dataset(str(tmp_path / f"g{len(gws)}.duckdb"), days=1)
        gw = Gateway(db, str(tmp_path), speed="0",
                     extra=["--pacing", "lockstep", "--symbol", "BTCUSDT", "--end", str(T0 + 400 * MIN), *extra])
        gws.append(gw)
        gw.wait_ready()
        return gw

    yield start
    for gw in gws:
        gw.stop()


def _status(gw: Gateway) -> dict:
    return json.loads(http(gw.port, "GET", "/admin/status")[2])


def _bot(gw: Gateway, code: str) -> subprocess.Popen:
    env = dict(os.environ, URL=gw.url, PYTHONPATH=REPO)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


HUNG_BOT = """
    import os, sys, time, urllib.request
    urllib.request.urlopen(os.environ["URL"] + "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1").read()
    print("read", flush=True)
    sys.stdin.read()  # hangs: never looks at the next bar
"""


def test_a_hung_bot_hits_the_timeout_and_the_run_is_flagged(gateway):
    gw = gateway("--max-wait-ms", "300")
    bot = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HUNG_BOT)], env=dict(os.environ, URL=gw.url),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert bot.stdout.readline().strip() == "read"
        assert wait_for(lambda: _status(gw)["lockstep"]["timeouts"] >= 2, timeout=30)
        status = _status(gw)
        assert status["bars_done"] >= 2
        assert status["journal"]["timeouts"] >= 2 and status["journal"]["reproducible"] is False
        assert any("has not seen bar" in w for w in status["lockstep"]["waiting_for"])
    finally:
        bot.kill()
        bot.wait()


WS_BOT = """
    import json, os, websocket
    ws = websocket.create_connection(os.environ["URL"].replace("http", "ws") + "/ws/btcusdt@kline_1m", timeout=30)
    opens = []
    while len(opens) < 20:
        msg = json.loads(ws.recv())  # websocket-client answers the gateway's pings by itself
        if msg.get("e") == "kline" and msg["k"]["x"]:
            opens.append(msg["k"]["t"])
    print(json.dumps(opens))
"""


def test_a_websocket_only_bot_advances(gateway):
    gw = gateway()
    bot = _bot(gw, WS_BOT)
    out, err = bot.communicate(timeout=120)
    assert bot.returncode == 0, err
    opens = json.loads(out)
    assert opens == [opens[0] + k * MIN for k in range(20)]  # every bar, in order, none skipped
    assert _status(gw)["lockstep"]["timeouts"] == 0


def test_admin_requests_and_browsers_never_hold_the_gate(gateway):
    gw = gateway()
    for _ in range(3):
        assert http(gw.port, "GET", "/admin/status")[0] == 200
    assert http(gw.port, "GET", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1",
                headers={"Sec-Fetch-Mode": "cors", "User-Agent": "Mozilla/5.0"})[0] == 200
    status = _status(gw)
    assert status["lockstep"]["bots"] == [] and status["lockstep"]["started"] is False
    assert status["bars_done"] == 1

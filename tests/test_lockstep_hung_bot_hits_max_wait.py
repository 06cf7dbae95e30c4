"""pacing = "lockstep", max_wait_ms = 300: a bot that reads one bar and then blocks forever
(its own process, asleep on its stdin, its connection open) never observes the next bar. The
clock still advances after max_wait_ms, each time journaling a TIMEOUT; /admin/status counts
them and marks the run not reproducible. Once the bot's process is gone it holds nothing."""
from __future__ import annotations

import subprocess
import sys

from tests.lockstep_bots import bot_env, lockstep_gateway, status, wait_for

HUNG_BOT = r'''
import os, sys, requests
s = requests.Session()
k = s.get(os.environ["URL"] + "/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1}).json()
print(k[-1][6], flush=True)
sys.stdin.read()  # hung: never reads the next bar
'''


def test_a_hung_bot_makes_the_clock_advance_after_max_wait_with_a_timeout(tmp_path):
    with lockstep_gateway(tmp_path, quiet_ms=5, max_wait_ms=300) as gw:
        bar0 = status(gw)["bars_done"]
        bot = subprocess.Popen([sys.executable, "-c", HUNG_BOT], env=bot_env(gw), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
        try:
            assert bot.stdout.readline().strip().isdigit()
            st = wait_for(lambda: (s := status(gw))["lockstep"]["timeouts"] >= 2 and s, "two TIMEOUTs")
            lock = st["lockstep"]
            assert lock["bar"] >= bar0 + 2 and st["bars_done"] >= bar0 + 2
            assert len(lock["bots"]) == 1
            assert any(lock["bots"][0] in w for w in lock["waiting_for"]), lock
            assert st["journal"]["timeouts"] >= 2 and st["journal"]["reproducible"] is False
        finally:
            bot.kill()
            bot.wait()
        # the bot's process is gone: it is forgotten and holds the gate no more
        wait_for(lambda: status(gw)["lockstep"]["bots"] == [], "the dead bot forgotten")

"""pacing = "lockstep", quiet_ms = 5: a bot that computes 50 ms (busy loop) after reading each
bar before it places its order is not taken for idle because it went quiet on the socket: its
threads are running (/proc), so the clock waits, and every order still lands on the bar the bot
read (never the next one), without the max_wait_ms backstop."""
from __future__ import annotations

from tests.lockstep_bots import REST_BOT, assert_bar_by_bar, lockstep_gateway, run_bot, status


def test_a_compute_gap_longer_than_quiet_ms_does_not_advance_the_clock(tmp_path):
    with lockstep_gateway(tmp_path, quiet_ms=5, max_wait_ms=30000) as gw:
        out = run_bot(gw, REST_BOT, BARS=8, EVERY=1, BUSY_MS=50)
        st = status(gw)
    assert_bar_by_bar(out["seen"])
    assert len(out["orders"]) == 8
    for close, reply in out["orders"]:
        assert reply["updateTime"] == close + 1, (close, reply)  # the bar it read, not a later one
    assert st["lockstep"]["timeouts"] == 0, st["lockstep"]

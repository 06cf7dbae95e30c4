"""A REST poller that never sleeps between polls (time.sleep(0)) is not "never quiet": once it
repeated a read, its next poll is held by the gateway until the next bar, so it is blocked,
hence idle, and the clock moves bar by bar without ever waiting out max_wait_ms."""
from __future__ import annotations

from tests.lockstep_bots import REST_BOT, assert_bar_by_bar, lockstep_gateway, run_bot, status


def test_a_bot_that_never_sleeps_sees_every_bar_and_never_times_out(tmp_path):
    with lockstep_gateway(tmp_path, quiet_ms=5, max_wait_ms=60000) as gw:
        out = run_bot(gw, REST_BOT, BARS=40, EVERY=4, POLL_MS=0)
        st = status(gw)
    assert_bar_by_bar(out["seen"])
    assert len(out["orders"]) == 10
    for close, reply in out["orders"]:
        assert reply["updateTime"] == close + 1, (close, reply)  # on the bar it saw
    assert st["lockstep"]["timeouts"] == 0, st["lockstep"]
    assert st["journal"]["reproducible"] is True

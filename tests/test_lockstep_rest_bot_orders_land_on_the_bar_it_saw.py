"""pacing = "lockstep" with a REST-polling bot (requests; its own process): the clock moves one
bar at a time, only once the bot has read the bar and gone quiet, so the bot sees every bar and
each of its orders is applied at the sim time of the bar it saw (the bar's close, first command
of the bar), whatever its latency. No bar needed the max_wait_ms backstop."""
from __future__ import annotations

from tests.lockstep_bots import REST_BOT, assert_bar_by_bar, lockstep_gateway, run_bot, status


def test_rest_bot_advances_bar_by_bar_and_orders_land_on_the_bar_it_saw(tmp_path):
    with lockstep_gateway(tmp_path, quiet_ms=5, max_wait_ms=30000) as gw:
        out = run_bot(gw, REST_BOT, BARS=15, EVERY=3, POLL_MS=1)
        st = status(gw)
    assert_bar_by_bar(out["seen"])
    assert len(out["orders"]) == 5
    for close, reply in out["orders"]:
        assert reply.get("status") == "FILLED", reply
        assert reply["clientOrderId"] == f"bar{close}"
        # sim time inside the bar is frozen at its close (closeTime + 1 ms), + 1 ms per command
        assert reply["updateTime"] == close + 1, (close, reply)
    lock = st["lockstep"]
    assert lock["timeouts"] == 0, lock
    assert st["journal"]["reproducible"] is True

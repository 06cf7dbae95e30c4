"""pacing = "lockstep" with a bot that only listens to a WebSocket (aiohttp client, its own
process, btcusdt@kline_1m): the gate sees it read each bar by the pong to the ping written right
after the bar's frames, so the clock advances one bar at a time for it, without the max_wait_ms
backstop, and it receives every bar's closed kline."""
from __future__ import annotations

from tests.lockstep_bots import assert_bar_by_bar, lockstep_gateway, run_bot, status

WS_BOT = r'''
import asyncio, json, os, aiohttp
async def main():
    closes = []
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(os.environ["WS_URL"] + "/ws/btcusdt@kline_1m") as ws:  # autoping: pongs
            async for msg in ws:
                k = json.loads(msg.data).get("k")
                if k and k["x"]:
                    closes.append(k["T"])
                    if len(closes) == int(os.environ["BARS"]):
                        break
    print(json.dumps({"closes": closes}), flush=True)
asyncio.run(main())
'''


def test_ws_only_bot_advances_bar_by_bar(tmp_path):
    with lockstep_gateway(tmp_path, quiet_ms=5, max_wait_ms=30000) as gw:
        out = run_bot(gw, WS_BOT, BARS=20)
        st = status(gw)
    assert_bar_by_bar(out["closes"])
    assert len(out["closes"]) == 20
    assert st["lockstep"]["timeouts"] == 0, st["lockstep"]
    assert st["journal"]["reproducible"] is True

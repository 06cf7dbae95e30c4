"""The lightest REST polling bot (http.client, one keep-alive connection): each poll asks the
server time and the last klines, and stops after MAX_BARS new closed bars. tools/bench/lockstep.py
runs it beside tools/ema_bot.py so the lockstep figure is shown with and without the cost of
python-binance's own client (requests), which is most of a bar here.

    URL=http://127.0.0.1:9010 MAX_BARS=1000 python tools/bench/lockstep_rawbot.py
"""
from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse


def main() -> int:
    url = urllib.parse.urlsplit(os.environ.get("URL", "http://127.0.0.1:9010"))
    max_bars = int(os.environ.get("MAX_BARS", "1000"))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def get(path: str):
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {resp.status} {body[:200]!r}")
        return json.loads(body)

    last, bars = None, 0
    while bars < max_bars:
        now = get("/fapi/v1/time")["serverTime"]
        rows = [r for r in get("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=30") if r[6] < now]
        if rows and rows[-1][0] != last:  # a repeat of the same bar is held by the gate until the next
            last, bars = rows[-1][0], bars + 1
    print(f"rawbot: {bars} bars")
    return 0


if __name__ == "__main__":
    sys.exit(main())

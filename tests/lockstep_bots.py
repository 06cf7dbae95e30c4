"""Shared by tests/test_lockstep_*.py: a lockstep gateway as a real process on 127.0.0.1, its
/admin/status, and small bots run as processes of their own (the gate tells bots apart by the
process behind each connection, so a bot must not be the test process)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from tests.conftest import T0, make_dataset
from tests.process import REPO, Gateway, http

MIN = 60_000
TIMEOUT = 60.0  # seconds: a bound for a hung test, not a performance expectation

# A REST-polling bot (requests): reads the last klines until a new bar shows (POLL_MS apart, 1 ms
# by default: a bot that never sleeps is never idle, see docs/engine.md), then (optionally)
# computes BUSY_MS, then every EVERY-th bar sends a MARKET order named after the bar it saw.
# Prints one JSON line: the bars' close times and the order replies.
REST_BOT = r'''
import json, os, sys, time, requests
url, bars, every = os.environ["URL"], int(os.environ["BARS"]), int(os.environ["EVERY"])
busy = float(os.environ.get("BUSY_MS", "0")) / 1000
poll = float(os.environ.get("POLL_MS", "1")) / 1000  # like tools/ema_bot.py with POLL=0.001
s = requests.Session()
seen, orders, last = [], [], None
while len(seen) < bars:
    k = s.get(url + "/fapi/v1/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 2}).json()
    close = k[-1][6]
    if close == last:
        time.sleep(poll)  # the same bar again: nothing new (the gate's repeated-poll rule)
        continue
    last = close
    seen.append(close)
    if busy:
        t = time.perf_counter()
        while time.perf_counter() - t < busy:
            pass
    if len(seen) % every == 0:
        r = s.post(url + "/fapi/v1/order", params={
            "symbol": "BTCUSDT", "side": "BUY" if len(seen) % (2 * every) else "SELL", "type": "MARKET",
            "quantity": "0.010", "newClientOrderId": "bar%d" % close, "newOrderRespType": "RESULT",
            "timestamp": int(time.time() * 1000)}).json()
        orders.append([close, r])
print(json.dumps({"seen": seen, "orders": orders}), flush=True)
'''


def status(gw: Gateway) -> dict:
    code, _, body = http(gw.port, "GET", "/admin/status")
    assert code == 200, body
    return json.loads(body)


def wait_for(check: Callable[[], object], what: str, timeout: float = TIMEOUT):
    """The first truthy value of check(), polled (a bound, never a sleep to synchronise)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.005)


@contextmanager
def lockstep_gateway(tmp_path, quiet_ms: float = 5, max_wait_ms: float = 30000, min_bots: int = 1,
                     extra: Optional[list[str]] = None) -> Iterator[Gateway]:
    folder = tmp_path / f"gw{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    db = make_dataset(str(folder / "exsim.duckdb"), days=1)
    gw = Gateway(db, str(folder), speed="max", extra=[
        "--pacing", "lockstep", "--quiet-ms", str(quiet_ms), "--max-wait-ms", str(max_wait_ms),
        "--min-bots", str(min_bots), "--start", str(T0 + 60 * MIN), "--end", str(T0 + 600 * MIN)] + (extra or []))
    try:
        assert gw.wait_ready(), gw.stderr()[-3000:]
        yield gw
    finally:
        gw.stop()


def bot_env(gw: Gateway, **values) -> dict:
    return dict(os.environ, URL=gw.url, WS_URL=gw.url.replace("http://", "ws://"),
                PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
                **{k: str(v) for k, v in values.items()})


def run_bot(gw: Gateway, script: str, timeout: float = TIMEOUT, **values) -> dict:
    out = subprocess.run([sys.executable, "-c", script], env=bot_env(gw, **values), capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:] + gw.stderr()[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def assert_bar_by_bar(closes: list[int]) -> None:
    assert closes, "the bot saw no bar"
    assert [b - a for a, b in zip(closes, closes[1:])] == [MIN] * (len(closes) - 1), closes

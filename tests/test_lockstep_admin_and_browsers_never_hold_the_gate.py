"""pacing = "lockstep": /admin requests, a browser's market-data requests (a "Mozilla/" User-Agent
with the Fetch metadata headers every browser sends) and a browser's WebSocket that never reads
or answers a ping are not bots: with them connected, a REST bot still advances bar by bar with no
TIMEOUT although max_wait_ms is a minute, and while it runs /admin/status lists that one bot only."""
from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys

from tests.lockstep_bots import REST_BOT, TIMEOUT, assert_bar_by_bar, bot_env, lockstep_gateway, status, wait_for

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
           "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "empty"}


def _browser_ws(port: int, path: str) -> socket.socket:
    """A WebSocket handshake like a browser's; the socket is then never read."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", "Origin: http://127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in BROWSER.items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def test_admin_requests_and_browsers_never_hold_the_gate(tmp_path):
    with lockstep_gateway(tmp_path, quiet_ms=5, max_wait_ms=60000) as gw:
        page = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)  # kept open, keep-alive
        page.request("GET", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5", headers=BROWSER)
        assert page.getresponse().read()
        page.request("GET", "/admin/status", headers=BROWSER)
        assert page.getresponse().read()
        sockets = [_browser_ws(gw.port, "/ws/btcusdt@kline_1m"), _browser_ws(gw.port, "/admin/live")]
        try:
            admin = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)  # the test's own, not a browser
            admin.request("GET", "/admin/status")
            assert admin.getresponse().read()
            assert status(gw)["lockstep"]["bots"] == []
            bot = subprocess.Popen([sys.executable, "-c", REST_BOT], env=bot_env(gw, BARS=12, EVERY=4),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # while it runs, the bot process is the one bot (the browser and the test are none)
                bots = wait_for(lambda: status(gw)["lockstep"]["bots"], "the bot registered")
                assert bots == [f"pid {bot.pid}"], bots
                stdout, stderr = bot.communicate(timeout=TIMEOUT)
            finally:
                bot.kill()
                bot.wait()
            assert bot.returncode == 0, stderr[-3000:]
            out = json.loads(stdout.strip().splitlines()[-1])
            st = status(gw)
        finally:
            for s in sockets:
                s.close()
            page.close()
    assert_bar_by_bar(out["seen"])
    for close, reply in out["orders"]:
        assert reply["updateTime"] == close + 1, (close, reply)
    assert st["lockstep"]["timeouts"] == 0, st["lockstep"]

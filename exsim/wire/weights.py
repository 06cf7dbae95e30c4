"""REQUEST_WEIGHT used per client IP over the current wall-clock minute (Binance's
X-MBX-USED-WEIGHT-1M). REST (app.py's middleware) and the WebSocket API (ws_api.py) each keep
one counter of this kind."""
from __future__ import annotations

import time


class RequestWeights:
    def __init__(self) -> None:
        self.minute = 0
        self.used: dict[str, int] = {}

    def add(self, ip: str, weight: int) -> int:
        minute = int(time.time() // 60)
        if minute != self.minute:
            self.minute, self.used = minute, {}
        self.used[ip] = self.used.get(ip, 0) + weight
        return self.used[ip]

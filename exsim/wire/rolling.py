"""24-hour rolling statistics for the ticker streams, O(1) amortised per bar (monotonic deques)."""
from __future__ import annotations

from collections import deque

DAY_MS = 86_400_000


class Rolling24h:
    def __init__(self) -> None:
        self.bars: deque[tuple[int, int, float, float]] = deque()  # (ts, open, volume, quote)
        self.highs: deque[tuple[int, int]] = deque()  # (ts, high) decreasing
        self.lows: deque[tuple[int, int]] = deque()  # (ts, low) increasing
        self.volume = 0.0
        self.quote = 0.0

    def add(self, ts: int, o: int, h: int, l: int, v: float, quote: float) -> None:
        self.bars.append((ts, o, v, quote))
        self.volume += v
        self.quote += quote
        while self.highs and self.highs[-1][1] <= h:
            self.highs.pop()
        self.highs.append((ts, h))
        while self.lows and self.lows[-1][1] >= l:
            self.lows.pop()
        self.lows.append((ts, l))
        cutoff = ts - DAY_MS
        while self.bars and self.bars[0][0] <= cutoff:
            _, _, ov, oq = self.bars.popleft()
            self.volume -= ov
            self.quote -= oq
        while self.highs[0][0] <= cutoff:
            self.highs.popleft()
        while self.lows[0][0] <= cutoff:
            self.lows.popleft()

    def snapshot(self, h: int, l: int, o: int) -> tuple[int, int, int, int, float, float]:
        """(open, high, low, first ts, volume, quote) including a bar still forming (h, l)."""
        if not self.bars:
            return o, h, l, 0, 0.0, 0.0
        return (self.bars[0][1], max(self.highs[0][1], h), min(self.lows[0][1], l), self.bars[0][0],
                self.volume, self.quote)

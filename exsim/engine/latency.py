"""Order latency: an accepted order reaches the matching engine `latency_ms` (plus a uniform
0..`latency_jitter_ms`, drawn from a generator seeded with `latency_seed`: the same run gives
the same delays) of sim time later. It is NEW (open, cancellable) meanwhile; at its arrival
it executes as an order arriving then would, at the price the path has reached
(engine/arrival.py `deliver`). 0 (the default) means orders reach the book on acceptance."""
from __future__ import annotations

import bisect
import random

from .orders import Order


class Latency:
    def __init__(self, base_ms: float, jitter_ms: float, seed: int) -> None:
        self.base_ms, self.jitter_ms, self.seed = base_ms, jitter_ms, seed
        self._rng = random.Random(seed)
        self.in_flight: dict[str, list[tuple[int, int, Order]]] = {}  # symbol -> (arrival, id, order)

    def __bool__(self) -> bool:
        return bool(self.base_ms or self.jitter_ms)

    def reset(self) -> None:
        self._rng = random.Random(self.seed)
        self.in_flight.clear()

    def send(self, order: Order, now: int) -> int:
        """Put `order` in flight; returns its arrival time (sim ms)."""
        delay = self.base_ms + (self._rng.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0)
        order.latency_ms = max(1, round(delay))
        arrival = now + order.latency_ms
        bisect.insort(self.in_flight.setdefault(order.symbol, []), (arrival, order.order_id, order))
        return arrival

    def due(self, symbol: str, until: int) -> list[tuple[int, Order]]:
        """Orders of `symbol` arriving at or before `until`, in arrival order (ties: accepted first)."""
        queue = self.in_flight.get(symbol)
        if not queue or queue[0][0] > until:
            return []
        k = bisect.bisect_right(queue, (until, float("inf")))
        out = [(t, o) for t, _, o in queue[:k]]
        del queue[:k]
        return out

"""Shared helpers for the real-client tests: look-ahead into the test dataset (to pick prices
that fill or trigger on a known bar), a slow-network proxy (to make a library send a stale
timestamp without touching its code) and bounded waiting."""
from __future__ import annotations

import socket
import threading
import time
from decimal import Decimal
from typing import Callable, NamedTuple, Optional

import duckdb

SYMBOL = "BTCUSDT"
TICK = Decimal("0.10")  # BTCUSDT tickSize (exsim.config.DEFAULT_SYMBOLS)
STARTING_BALANCE = Decimal("100000")
TAKER = Decimal("0.0002")  # Config.taker_bps = 2
MAKER = Decimal("0.0001")  # Config.maker_bps = 1
WS_WAIT = 10.0  # seconds: upper bound for any WebSocket wait


class Bar(NamedTuple):
    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def upcoming_bars(db_path: str, n: int = 60, symbol: str = SYMBOL) -> list[Bar]:
    """The first `n` 1m bars of the dataset, read before the server opens the file. Bar 0 is
    the one a fresh (paused) server has revealed; bar k is revealed by `server.step(k)`."""
    con = duckdb.connect(db_path, read_only=True)
    try:
        # DuckDB holds doubles: snap them to the tick grid exactly as the replay does
        t = float(TICK)
        rows = con.execute(f"SELECT ts, CAST(round(open / {t}) AS BIGINT), CAST(round(high / {t}) AS BIGINT), "
                           f"CAST(round(low / {t}) AS BIGINT), CAST(round(close / {t}) AS BIGINT) "
                           "FROM ohlc_1m WHERE symbol = ? ORDER BY ts LIMIT ?", [symbol, n]).fetchall()
    finally:
        con.close()
    return [Bar(ts, *(x * TICK for x in (o, h, l, c))) for ts, o, h, l, c in rows]


def price_falling_through(bars: list[Bar], start: int = 0) -> tuple[Decimal, int]:
    """A price strictly between bar j's low and everything the price path touched before bar j
    (after bar `start`, whose close is the current price), with bar j opening above it: a
    SELL STOP_MARKET there triggers on bar j at exactly that price, and a resting BUY LIMIT
    there fills on bar j at exactly that price. Returns (price, j)."""
    floor = bars[start].close
    for j in range(start + 1, len(bars)):
        ceiling = min(floor, bars[j].open)
        if ceiling - bars[j].low >= 3 * TICK:
            ticks = (ceiling + bars[j].low) / 2 // TICK  # on the grid, >= 1 tick from both ends
            return ticks * TICK, j
        floor = min(floor, bars[j].low)
    raise AssertionError("no bar in the look-ahead window falls far enough")


def fee(notional: Decimal, rate: Decimal) -> Decimal:
    return notional * rate


def wait_for(predicate: Callable[[], object], timeout: float = WS_WAIT, interval: float = 0.02):
    """Poll until predicate() is truthy (returns it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


class DelayProxy:
    """A TCP proxy to 127.0.0.1:`port` that holds every client->server chunk for `delay`
    seconds: a slow network. Pointing a library's base URL at it makes every signed request
    arrive `delay` seconds after the library stamped it, i.e. with a stale timestamp."""

    def __init__(self, port: int, delay: float) -> None:
        self.target = port
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="delay-proxy").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, self.delay), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, 0.0), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


def find(items: list[dict], **match) -> Optional[dict]:
    return next((i for i in items if all(i.get(k) == v for k, v in match.items())), None)


def subscribed(server, stream: str) -> bool:
    """ExSim's side of a WebSocket subscription (stream names compare case-insensitively)."""
    from exsim.wire.keys import FANOUT
    subs = server.app[FANOUT].subs
    return any(name.lower() == stream.lower() and clients for name, clients in list(subs.items()))


async def await_subscribed(server, stream: str, timeout: float = WS_WAIT) -> None:
    """For clients that subscribe without waiting for the reply: wait until ExSim has it."""
    import asyncio
    deadline = time.monotonic() + timeout
    while not subscribed(server, stream):
        assert time.monotonic() < deadline, f"{stream} never subscribed"
        await asyncio.sleep(0.01)

"""What the user-data stream tests share: the scripted trading sequence, a raw reference socket
on the same listenKey (what ExSim sent, as sent and in order), the events the sequence must
produce, and the checks of those events against REST userTrades.

Each test_user_stream_*.py drives the sequence through one library's own REST and user-data
APIs, with auth="verify" and two accounts (alice listens and trades, bob trades in between and
must not show up in alice's stream):

1. MARKET BUY 0.010 at the last close      -> ORDER_TRADE_UPDATE NEW, TRADE_LITE,
                                              ORDER_TRADE_UPDATE TRADE/FILLED, ACCOUNT_UPDATE
2. LIMIT SELL 0.010 above the price        -> ORDER_TRADE_UPDATE NEW
3. LIMIT BUY 0.010 3% below, then cancel   -> ORDER_TRADE_UPDATE NEW, then CANCELED
4. step the clock to the bar that reaches the SELL: it fills as maker at its price
                                           -> TRADE_LITE, ORDER_TRADE_UPDATE TRADE/FILLED,
                                              ACCOUNT_UPDATE (position 0)
5. change leverage (the sentinel)          -> ACCOUNT_CONFIG_UPDATE: everything before it has
                                              been delivered, on the one socket, in order
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from decimal import Decimal
from typing import Iterable, NamedTuple

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from exsim.config import ApiKey

from .helpers import MAKER, STARTING_BALANCE, SYMBOL, TAKER, TICK, WS_WAIT, Bar, wait_for

QTY = Decimal("0.010")
D8 = Decimal("0.00000001")
SENTINEL_LEVERAGE = 7
KEYS = [ApiKey(key="alice-key", secret="alice-secret"), ApiKey(key="bob-key", secret="bob-secret")]
ALICE = ("alice-key", "alice-secret")
BOB = ("bob-key", "bob-secret")


def price_rising_through(bars: list[Bar], start: int = 0) -> tuple[Decimal, int]:
    """The mirror of helpers.price_falling_through: a price strictly between bar j's high and
    everything the price path touched after bar `start` closed, with bar j opening below it. A
    resting SELL LIMIT there fills on bar j at exactly that price. Returns (price, j)."""
    ceiling = bars[start].close
    for j in range(start + 1, len(bars)):
        floor = max(ceiling, bars[j].open)
        if bars[j].high - floor >= 3 * TICK:
            ticks = (floor + bars[j].high) / 2 // TICK  # on the grid, >= 1 tick from both ends
            return ticks * TICK, j
        ceiling = max(ceiling, bars[j].high)
    raise AssertionError("no bar in the look-ahead window rises far enough")


class Plan(NamedTuple):
    last: Decimal  # the MARKET order's fill price: the revealed bar's close
    sell: Decimal  # the resting SELL LIMIT, filled on bar `j` at exactly this price
    j: int
    low: Decimal  # a BUY LIMIT that never fills: it is canceled

    @property
    def market_fee(self) -> Decimal:
        return (self.last * QTY * TAKER).quantize(D8)

    @property
    def sell_fee(self) -> Decimal:
        return (self.sell * QTY * MAKER).quantize(D8)

    @property
    def pnl(self) -> Decimal:
        return (self.sell - self.last) * QTY


def plan(bars: list[Bar]) -> Plan:
    sell, j = price_rising_through(bars)
    return Plan(bars[0].close, sell, j, (bars[0].close * Decimal("0.97") // TICK) * TICK)


def listeners(server, key: str) -> int:
    """How many sockets ExSim has on the listenKey."""
    from exsim.wire.keys import FANOUT
    return len(server.app[FANOUT].subs.get(key, ()))


class RawListener:
    """A plain WebSocket on /ws/<listenKey> (no client library): the reference for what ExSim
    wrote to every socket of the key. Reads in its own thread."""

    def __init__(self, server, key: str) -> None:
        before = listeners(server, key)
        self.ws = connect(f"{server.ws_url}/ws/{key}", open_timeout=WS_WAIT, close_timeout=1)
        self.lock = threading.Lock()
        self.texts: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True, name="raw-user-stream")
        self.thread.start()
        wait_for(lambda: listeners(server, key) > before)  # subscribed: nothing can be missed

    def _read(self) -> None:
        try:
            for text in self.ws:
                with self.lock:
                    self.texts.append(text)
        except ConnectionClosed:
            pass

    def frames(self) -> list[str]:
        with self.lock:
            return list(self.texts)

    @property
    def events(self) -> list[dict]:
        return [json.loads(t) for t in self.frames()]

    def until_sentinel(self, leverage: int = SENTINEL_LEVERAGE) -> list[dict]:
        """Every event up to and including the ACCOUNT_CONFIG_UPDATE for `leverage`."""
        def done():
            events = self.events
            for n, ev in enumerate(events):
                if is_sentinel(ev, leverage):
                    return events[:n + 1]
            return None
        return wait_for(done)

    def close(self) -> None:
        self.ws.close()
        self.thread.join(timeout=WS_WAIT)


def is_sentinel(event: dict, leverage: int = SENTINEL_LEVERAGE) -> bool:
    return event.get("e") == "ACCOUNT_CONFIG_UPDATE" and event.get("ac", {}).get("l") == leverage


# --- the events, summarised ----------------------------------------------------------------

def summary(event: dict) -> tuple:
    """An event reduced to what identifies it in the sequence."""
    e = event["e"]
    if e == "ORDER_TRADE_UPDATE":
        o = event["o"]
        return e, o["i"], o["x"], o["X"]
    if e == "TRADE_LITE":
        return e, event["i"]
    if e == "ACCOUNT_UPDATE":
        return e, event["a"]["m"], tuple((p["s"], Decimal(p["pa"])) for p in event["a"]["P"])
    if e == "ACCOUNT_CONFIG_UPDATE":
        return e, event["ac"]["s"], event["ac"]["l"]
    if e == "ALGO_UPDATE":
        return e, event["o"]["aid"], event["o"]["X"]
    return (e,)


def new(oid: int) -> tuple:
    return "ORDER_TRADE_UPDATE", oid, "NEW", "NEW"


def canceled(oid: int) -> tuple:
    return "ORDER_TRADE_UPDATE", oid, "CANCELED", "CANCELED"


def fill(oid: int, position: Decimal) -> list[tuple]:
    """A complete fill: TRADE_LITE, ORDER_TRADE_UPDATE TRADE/FILLED, ACCOUNT_UPDATE (ORDER)."""
    return [("TRADE_LITE", oid), ("ORDER_TRADE_UPDATE", oid, "TRADE", "FILLED"),
            ("ACCOUNT_UPDATE", "ORDER", ((SYMBOL, position),))]


def algo(aid: int, status: str) -> tuple:
    return "ALGO_UPDATE", aid, status


def sentinel(leverage: int = SENTINEL_LEVERAGE) -> tuple:
    return "ACCOUNT_CONFIG_UPDATE", SYMBOL, leverage


def scripted(market: int, sell: int, low: int) -> list[tuple]:
    """The events of the module docstring's sequence, given the three orderIds."""
    return [new(market), *fill(market, QTY), new(sell), new(low), canceled(low), *fill(sell, Decimal(0)),
            sentinel()]


# --- checks against REST --------------------------------------------------------------------

def check_fills(events: list[dict], rest_trades: Iterable[dict]) -> None:
    """Every fill of the stream against REST userTrades, in order: trade id, order id, price,
    qty, commission (and its asset), realized PnL, maker flag, side and time. `rest_trades`
    are userTrades rows (Binance's field names, strings as sent)."""
    rest = [(t["id"], t["orderId"], Decimal(t["price"]), Decimal(t["qty"]), Decimal(t["commission"]),
             t["commissionAsset"], Decimal(t["realizedPnl"]), t["maker"], t["side"], t["time"])
            for t in rest_trades]
    trades = [ev["o"] for ev in events if ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["x"] == "TRADE"]
    assert [(o["t"], o["i"], Decimal(o["L"]), Decimal(o["l"]), Decimal(o["n"]), o["N"], Decimal(o["rp"]),
             o["m"], o["S"], o["T"]) for o in trades] == rest
    lites = [ev for ev in events if ev["e"] == "TRADE_LITE"]
    assert [(t["t"], t["i"], Decimal(t["L"]), Decimal(t["l"]), t["m"], t["S"], t["T"]) for t in lites] \
        == [r[:4] + r[7:] for r in rest]
    # the commission is the same decimal string in both places, not just the same number
    assert [o["n"] for o in trades] == [t["commission"] for t in rest_trades]


def check_scripted(events: list[dict], p: Plan, rest_trades: list[dict], wallet: Decimal) -> None:
    """The scripted sequence's own numbers: fill prices, fees, PnL, the wallet after each fill."""
    check_fills(events, rest_trades)
    market, sell = rest_trades
    assert (Decimal(market["price"]), market["maker"], Decimal(market["commission"])) == (p.last, False, p.market_fee)
    assert (Decimal(sell["price"]), sell["maker"], Decimal(sell["commission"])) == (p.sell, True, p.sell_fee)
    assert Decimal(sell["realizedPnl"]) == p.pnl
    wallets = [Decimal(ev["a"]["B"][0]["wb"]) for ev in events if ev["e"] == "ACCOUNT_UPDATE"]
    after_market = STARTING_BALANCE - p.market_fee
    assert wallets == [after_market, after_market - p.sell_fee + p.pnl] and wallets[-1] == wallet  # REST balance
    flat = [ev for ev in events if ev["e"] == "ACCOUNT_UPDATE"][-1]["a"]["P"][0]
    assert Decimal(flat["pa"]) == 0 and Decimal(flat["cr"]) == p.pnl


async def until(predicate, timeout: float = WS_WAIT, interval: float = 0.01):
    """The async wait_for: poll until predicate() is truthy (returns it), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"condition not met within {timeout} s"
        await asyncio.sleep(interval)

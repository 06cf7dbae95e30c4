"""A small EMA-cross bot for ExSim (or Binance USD-M futures) using python-binance's `Client`.

Every new closed bar it recomputes a fast and a slow EMA of the closes. When the fast EMA
crosses above the slow one it goes long; when it crosses below it goes short if ALLOW_SHORTS,
else flat. Each position gets a STOP_MARKET closePosition stop STOP (a fraction) away from the
entry; python-binance sends that to /fapi/v1/algoOrder. Every fill (its own orders and the
stop's) is printed.

    URL=http://localhost:9010 SYM=BTCUSDT TF=1m FAST=3 SLOW=9 ALLOC=1000 STOP=0.01 \
    ALLOW_SHORTS=false MAX_BARS=500 python tools/ema_bot.py

Environment (defaults in brackets): URL [http://localhost:9010, else $BINANCE_BASE_URL],
SYM [BTCUSDT], TF [1m], FAST [3], SLOW [9], ALLOC [1000, USDT per position], STOP [0.01],
ALLOW_SHORTS [false], MAX_BARS [unbounded: stop after this many bars], POLL [0.05 s between
kline polls], BINANCE_API_KEY / BINANCE_API_SECRET [exsim / exsim; any pair works when ExSim
runs with auth = "off"].
"""
from __future__ import annotations

import os
import threading
import time
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Callable, Mapping, Optional

from binance.client import Client
from binance.exceptions import BinanceAPIException

INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000,
               "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000}


def config_from_env(env: Mapping[str, str] = os.environ) -> dict:
    """The bot's settings from environment variables (spec defaults)."""
    return {
        "url": env.get("URL") or env.get("BINANCE_BASE_URL") or "http://localhost:9010",
        "sym": env.get("SYM", "BTCUSDT").upper(),
        "tf": env.get("TF", "1m"),
        "fast": int(env.get("FAST", "3")),
        "slow": int(env.get("SLOW", "9")),
        "alloc": Decimal(env.get("ALLOC", "1000")),
        "stop": Decimal(env.get("STOP", "0.01")),
        "allow_shorts": env.get("ALLOW_SHORTS", "false").strip().lower() in ("1", "true", "yes", "on"),
        "max_bars": int(env["MAX_BARS"]) if env.get("MAX_BARS") else None,
        "poll": float(env.get("POLL", "0.05")),
        "api_key": env.get("BINANCE_API_KEY", "exsim"),
        "api_secret": env.get("BINANCE_API_SECRET", "exsim"),
    }


def make_client(url: str, api_key: str, api_secret: str) -> Client:
    """python-binance pointed at `url`: its URL class attributes, on a subclass."""
    url = url.rstrip("/")
    cls = type("ExSimClient", (Client,), {"API_URL": url + "/api", "FUTURES_URL": url + "/fapi"})
    return cls(api_key, api_secret)


def ema(values: list[Decimal], n: int) -> Decimal:
    """Exponential moving average, seeded with the simple average of the first n values."""
    k = Decimal(2) / (n + 1)
    e = sum(values[:n]) / n
    for v in values[n:]:
        e = v * k + e * (1 - k)
    return e


def _step(x: Decimal, step: Decimal, rounding) -> Decimal:
    return (x / step).quantize(Decimal(1), rounding=rounding) * step


class EmaBot:
    def __init__(self, client: Client, sym: str, tf: str, fast: int, slow: int, alloc: Decimal,
                 stop: Decimal, allow_shorts: bool, log: Callable[[str], None] = print) -> None:
        if not 1 <= fast < slow:
            raise ValueError("need 1 <= FAST < SLOW")
        if tf not in INTERVAL_MS:
            raise ValueError(f"TF must be one of {', '.join(INTERVAL_MS)}")
        self.client, self.sym, self.tf = client, sym, tf
        self.fast, self.slow, self.alloc, self.stop_frac = fast, slow, Decimal(alloc), Decimal(stop)
        self.allow_shorts = allow_shorts
        self.log = log
        info = next(s for s in client.futures_exchange_info()["symbols"] if s["symbol"] == sym)
        filters = {f["filterType"]: f for f in info["filters"]}
        self.tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
        self.step = Decimal(filters["MARKET_LOT_SIZE"]["stepSize"])
        self.min_qty = Decimal(filters["MARKET_LOT_SIZE"]["minQty"])
        self.min_notional = Decimal(filters.get("MIN_NOTIONAL", {}).get("notional", "0"))
        self.last_bar: Optional[int] = None  # open time of the last closed bar acted on
        self.bars = 0
        self.side: Optional[int] = None  # +1 long, -1 short, 0 flat: what the EMAs last said
        self.orders: list[dict] = []
        self.fills: list[dict] = []
        self._last_trade_id = max((t["id"] for t in client.futures_account_trades(symbol=sym)), default=0)

    # --- exchange state -------------------------------------------------------------------

    def position(self) -> Decimal:
        rows = self.client.futures_position_information(symbol=self.sym)  # /fapi/v3: open ones only
        return sum((Decimal(r["positionAmt"]) for r in rows if r["symbol"] == self.sym), Decimal(0))

    def closed_bars(self) -> list[list]:
        """Closed klines only: the last row is still forming while its close time is ahead."""
        now = self.client.futures_time()["serverTime"]
        rows = self.client.futures_klines(symbol=self.sym, interval=self.tf, limit=min(1500, self.slow * 4 + 2))
        return [r for r in rows if r[6] < now]

    def report_fills(self) -> None:
        # fromId: only the trades after the last one seen (without it every call returns up to
        # 500 old trades for the client to parse and drop)
        for t in self.client.futures_account_trades(symbol=self.sym, fromId=self._last_trade_id + 1):
            if t["id"] > self._last_trade_id:
                self._last_trade_id = t["id"]
                self.fills.append(t)
                self.log(f"FILL {t['side']} {t['qty']} {self.sym} @ {t['price']}  realizedPnl={t['realizedPnl']} "
                         f"fee={t['commission']} {t['commissionAsset']}  order={t['orderId']} time={t['time']}")

    # --- actions --------------------------------------------------------------------------

    def _order(self, **params) -> Optional[dict]:
        try:
            order = self.client.futures_create_order(symbol=self.sym, **params)
        except BinanceAPIException as exc:
            self.log(f"REJECTED {params.get('type')} {params.get('side')}: {exc.code} {exc.message}")
            return None
        self.orders.append(order)
        return order

    def cancel_stops(self) -> None:
        if self.client.futures_get_open_orders(symbol=self.sym, conditional=True):
            self.client.futures_cancel_all_open_orders(symbol=self.sym, conditional=True)  # algoOpenOrders

    def flatten(self, amt: Decimal) -> None:
        if amt:
            self._order(side="SELL" if amt > 0 else "BUY", type="MARKET", quantity=str(abs(amt)),
                        reduceOnly="true", newOrderRespType="RESULT")

    def enter(self, side: int, price: Decimal) -> None:
        qty = _step(self.alloc / price, self.step, ROUND_DOWN)
        if qty < self.min_qty or qty * price < self.min_notional:
            self.log(f"SKIP: ALLOC {self.alloc} buys {qty}, below the exchange minimum")
            return
        order = self._order(side="BUY" if side > 0 else "SELL", type="MARKET", quantity=str(qty),
                            newOrderRespType="RESULT")
        if order is None:
            return
        entry = Decimal(order["avgPrice"]) or price
        if side > 0:
            stop = _step(entry * (1 - self.stop_frac), self.tick, ROUND_DOWN)
        else:
            stop = _step(entry * (1 + self.stop_frac), self.tick, ROUND_UP)
        placed = self._order(side="SELL" if side > 0 else "BUY", type="STOP_MARKET", stopPrice=str(stop),
                             closePosition="true", workingType="CONTRACT_PRICE")
        if placed is None:  # e.g. -2021: the price already went through the stop
            self.flatten(self.position())
        else:
            self.log(f"STOP {'SELL' if side > 0 else 'BUY'} closePosition @ {stop} (algoId {placed.get('algoId')})")

    def on_bar(self, rows: list[list]) -> None:
        closes = [Decimal(r[4]) for r in rows]
        if len(closes) < self.slow + 1:
            return
        fast, slow = ema(closes, self.fast), ema(closes, self.slow)
        if fast == slow:
            return
        want = 1 if fast > slow else (-1 if self.allow_shorts else 0)
        if self.side is None:  # first look: trade crosses only, not the state we start in
            self.side = want
            self.log(f"WAIT for a cross: ema{self.fast}={fast:.2f} ema{self.slow}={slow:.2f}")
            return
        if want == self.side:
            return
        self.side = want
        self.log(f"SIGNAL bar={rows[-1][0]} close={closes[-1]} ema{self.fast}={fast:.2f} ema{self.slow}={slow:.2f} "
                 f"-> {('LONG', 'FLAT', 'SHORT')[1 - want]}")
        amt = self.position()
        if (amt > 0 and want > 0) or (amt < 0 and want < 0):
            return  # already there (e.g. the stop has not fired)
        self.cancel_stops()
        self.flatten(amt)
        if want:
            self.enter(want, closes[-1])

    def poll(self) -> bool:
        """Act on a new closed bar if there is one; returns True when there was."""
        rows = self.closed_bars()
        if not rows or rows[-1][0] == self.last_bar:
            return False
        if self.last_bar is not None:
            self.bars += max(1, (rows[-1][0] - self.last_bar) // INTERVAL_MS[self.tf])
        self.last_bar = rows[-1][0]
        self.on_bar(rows)
        self.report_fills()
        return True


def run(url: str = "http://localhost:9010", sym: str = "BTCUSDT", tf: str = "1m", fast: int = 3, slow: int = 9,
        alloc: Decimal = Decimal(1000), stop: Decimal = Decimal("0.01"), allow_shorts: bool = False,
        max_bars: Optional[int] = None, poll: float = 0.05, api_key: str = "exsim", api_secret: str = "exsim",
        log: Callable[[str], None] = print, stop_event: Optional[threading.Event] = None) -> EmaBot:
    """Run until MAX_BARS bars have passed (or `stop_event` is set); returns the bot (its
    `orders`, `fills`, `bars`)."""
    client = make_client(url, api_key, api_secret)
    try:
        bot = EmaBot(client, sym, tf, fast, slow, alloc, stop, allow_shorts, log)
        log(f"ema_bot: {sym} {tf} EMA{fast}/EMA{slow} alloc={alloc} stop={stop} shorts={allow_shorts} at {url}")
        while not (stop_event is not None and stop_event.is_set()):
            if max_bars is not None and bot.bars >= max_bars:
                break
            if not bot.poll():
                time.sleep(poll)
        bot.report_fills()
        log(f"ema_bot: done after {bot.bars} bars, {len(bot.orders)} orders, {len(bot.fills)} fills, "
            f"position {bot.position()}")
        return bot
    finally:
        client.close_connection()


def main() -> None:
    try:
        run(**config_from_env())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

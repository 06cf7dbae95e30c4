"""Market stream payloads, Binance style: the JSON text of each stream for one replayed tick.

`Payloads` holds every stream's builder for one replayed symbol and the state they share
(cached price texts, the synthetic trade id, the rolling 24 h window). A builder is called once
per tick per subscribed stream and returns bytes that the fan-out (ws.py) sends, unchanged, to
every subscriber: encode once, same bytes to every transport. Kline payloads are defined in
klines.py; everything else here is a %-template or f-string filled in with cached price texts.
"""
from __future__ import annotations

from typing import Optional

from ..config import Config
from ..engine.market import Market
from ..engine.sim import Sim
from ..timeutil import INTERVAL_MS
from .klines import Builder, ClosedKlines, KlineStreams, PriceText, interval_names
from .rest_market import book
from .rolling import Rolling24h

# Streams that list every symbol: each symbol's tick adds that symbol's item (an array of the
# symbols that changed, as !miniTicker@arr does on Binance).
ALL_SYMBOL_STREAMS = ("!markPrice@arr", "!markPrice@arr@1s", "!bookTicker", "!miniTicker@arr")


def stream_key(name: str) -> str:
    """A stream name as looked up: case-insensitive (Binance takes `BTCUSDT@kline_1m` too), but
    for a kline interval, where `1m` (minute) and `1M` (month) differ."""
    name = name.strip()
    head, sep, tail = name.rpartition("_")
    if sep and tail in INTERVAL_MS and "kline" in head.lower():
        return head.lower() + "_" + tail
    return name.lower()


class Payloads:
    """The payload builders of one replayed symbol's streams."""

    def __init__(self, cfg: Config, sim: Sim, market: Market, ready: ClosedKlines) -> None:
        self.cfg = cfg
        self.sim = sim
        self.m = market
        self.symbol = market.inst.symbol
        self.rolling: Optional[Rolling24h] = None  # made on the first ticker subscription
        self._price = PriceText(market.inst.price)
        self.klines = KlineStreams(cfg, market, ready, self._price)

    def stream_table(self) -> dict[str, tuple[str, object]]:
        """lower-case name -> (Binance's spelling, builder or a (kind, interval) to make one).
        Payloads carry Binance's spelling in `stream`, which clients like the modular SDK match
        against what they sent. Coarser intervals get a builder of their own per subscription
        (it keeps state): ("kline", "1h") / ("continuous", "1h")."""
        sym = self.symbol.lower()
        base = self.cfg.interval
        names: dict[str, object] = {
            f"{sym}@markPrice": self._mark_price, f"{sym}@markPrice@1s": self._mark_price,
            f"{sym}@markPrice@3s": self._mark_price, "!markPrice@arr": self._mark_price_arr,
            "!markPrice@arr@1s": self._mark_price_arr, f"{sym}@bookTicker": self._book_ticker,
            "!bookTicker": self._book_ticker, f"{sym}@aggTrade": self._agg_trade,
            f"{sym}@miniTicker": self._mini_ticker, "!miniTicker@arr": self._mini_ticker_arr,
            f"{sym}@ticker": self._ticker,
        }
        for iv in interval_names(base):
            names[f"{sym}@kline_{iv}"] = self.klines.kline if iv == base else ("kline", iv)
            names[f"{sym}_perpetual@continuousKline_{iv}"] = (self.klines.continuous if iv == base
                                                              else ("continuous", iv))
        return {stream_key(name): (name, build) for name, build in names.items()}

    def _mark_item(self, c: int, now: int) -> str:
        m = self.m
        p = m.inst.price.fmt(c)
        return (f'{{"e":"markPriceUpdate","E":{now},"s":"{self.symbol}","p":"{p}","i":"{p}",'
                f'"P":"{p}","r":"{float(m.last_funding_rate):.8f}","T":{m.next_funding_time}}}')

    def _mark_price(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._mark_item(c, now).encode()

    def _mark_price_arr(self, ts, o, h, l, c, v, final, now) -> bytes:
        return f"[{self._mark_item(c, now)}]".encode()

    def _book_ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        inst = self.m.inst
        bid, ask = book(self.m, self.cfg.spread_bps)
        qty = inst.qty.fmt(inst.min_qty * 100)
        return (f'{{"e":"bookTicker","u":{self.sim.bars_done},"E":{now},"T":{now},"s":"{self.symbol}",'
                f'"b":"{inst.price.fmt(bid)}","B":"{qty}","a":"{inst.price.fmt(ask)}","A":"{qty}"}}').encode()

    def _agg_trade(self, ts, o, h, l, c, v, final, now) -> bytes:
        """One synthetic trade per tick: the tick's close, the volume it added."""
        inst = self.m.inst
        self.klines.trade_id += 1
        tid = self.klines.trade_id
        q = v / self.cfg.ticks_per_bar
        return (f'{{"e":"aggTrade","E":{now},"s":"{self.symbol}","a":{tid},'
                f'"p":"{inst.price.fmt(c)}","q":"{q:.{inst.qty.decimals}f}","nq":"{q:.{inst.qty.decimals}f}",'
                f'"f":{tid},"l":{tid},"T":{now},"m":{"true" if c < o else "false"}}}').encode()

    def _mini_item(self, o, h, l, c, now) -> str:
        f = self.m.inst.price.fmt
        ro, rh, rl, _, vol, quote = self.rolling.snapshot(h, l, o)
        qd = self.m.inst.qty.decimals
        return (f'{{"e":"24hrMiniTicker","E":{now},"s":"{self.symbol}","c":"{f(c)}","o":"{f(ro)}",'
                f'"h":"{f(rh)}","l":"{f(rl)}","v":"{vol:.{qd}f}","q":"{quote:.2f}"}}')

    def _mini_ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._mini_item(o, h, l, c, now).encode()

    def _mini_ticker_arr(self, ts, o, h, l, c, v, final, now) -> bytes:
        return f"[{self._mini_item(o, h, l, c, now)}]".encode()

    def _ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        inst = self.m.inst
        f = inst.price.fmt
        ro, rh, rl, first, vol, quote = self.rolling.snapshot(h, l, o)
        change = inst.price.to_float(c - ro)
        pct = 100 * (c - ro) / ro if ro else 0.0
        qd = inst.qty.decimals
        return (f'{{"e":"24hrTicker","E":{now},"s":"{self.symbol}","p":"{change:.{inst.price.decimals}f}",'
                f'"P":"{pct:.3f}","w":"{(quote / vol if vol else 0):.{inst.price.decimals}f}","c":"{f(c)}",'
                f'"Q":"{inst.qty.fmt(inst.min_qty)}","o":"{f(ro)}","h":"{f(rh)}","l":"{f(rl)}",'
                f'"v":"{vol:.{qd}f}","q":"{quote:.2f}","O":{first or ts},"C":{now - 1},"F":1,'
                f'"L":{self.klines.trade_id},"n":{max(1, self.klines.trade_id)}}}').encode()

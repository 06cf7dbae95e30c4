"""Market stream payloads, Binance style: the JSON text of each stream for one replayed tick.

`Payloads` holds every stream's builder for one replay and the state they share (cached price
texts, the synthetic trade id, the rolling 24 h window). A builder is called once per tick per
subscribed stream and returns bytes that the fan-out (ws.py) sends, unchanged, to every
subscriber: encode once, same bytes to every transport.

Hot path (one kline subscriber is the common case): payloads are bytes %-templates filled in
with cached price texts.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..config import Config
from ..engine.sim import Sim
from .rest_market import book
from .rolling import Rolling24h

Builder = Callable[[int, int, int, int, int, float, bool, int], Optional[bytes]]


class PriceText:
    """Grid.fmt as bytes, cached: a replay keeps revisiting the same ticks. A miss is put
    together from the integer part (cached too: it changes slowly) and a table of the
    fraction texts, which costs a third of formatting the number."""

    def __init__(self, grid) -> None:
        self.fmt = grid.fmt
        self.units, self.decimals, self.scale = grid.units, grid.decimals, 10 ** grid.decimals
        self.cache: dict[int, bytes] = {}
        self.heads: dict[int, bytes] = {}  # integer part -> b"42008."
        d = self.decimals
        self.tails = [b"%0*d" % (d, r) for r in range(self.scale)] if 0 < d <= 4 else None

    def miss(self, n: int) -> bytes:
        if len(self.cache) >= 1 << 16:
            self.cache.clear()
        v = n * self.units
        if self.tails is not None and v >= 0:
            q, r = divmod(v, self.scale)
            head = self.heads.get(q)
            if head is None:
                if len(self.heads) >= 1 << 16:
                    self.heads.clear()
                head = self.heads[q] = b"%d." % q
            text = head + self.tails[r]
        else:
            text = self.fmt(n).encode()
        self.cache[n] = text
        return text


class Payloads:
    """The payload builders of one replay's streams (all of one symbol and interval)."""

    def __init__(self, sim: Sim, cfg: Config) -> None:
        self.sim = sim
        self.cfg = cfg
        self.rolling: Optional[Rolling24h] = None  # made on the first ticker subscription
        self._trade_id = 0
        inst = sim.market.inst
        self._price = PriceText(inst.price)
        self._p_units, self._p_scale = inst.price.units, 10 ** inst.price.decimals  # Grid.to_float
        sym, qd = cfg.symbol, inst.qty.decimals
        body = (f'"t":%d,"T":%d,"i":"{cfg.interval}","f":%d,"L":%d,"o":"%s","c":"%s","h":"%s","l":"%s",'
                f'"v":"%.{qd}f","n":{cfg.ticks_per_bar},"x":%s,"q":"%.4f","V":"%.{qd}f","Q":"%.4f","B":"0"')
        self._kline_tpl = (f'{{"e":"kline","E":%d,"s":"{sym}","k":{{"s":"{sym}",' + body + "}}").encode()
        self._ckline_tpl = (f'{{"e":"continuous_kline","E":%d,"ps":"{sym}","ct":"PERPETUAL","k":{{'
                            + body + "}}").encode()
        self._kline = self._kline_builder()  # shadows the method below with a faster closure

    def stream_table(self) -> dict[str, tuple[str, Builder]]:
        """lower-case name -> (Binance's spelling, payload builder). Payloads carry Binance's
        spelling in `stream`, which clients like the modular SDK match against what they sent."""
        sym = self.cfg.symbol.lower()
        iv = self.cfg.interval
        names = {
            f"{sym}@kline_{iv}": self._kline, f"{sym}_perpetual@continuousKline_{iv}": self._continuous_kline,
            f"{sym}@markPrice": self._mark_price, f"{sym}@markPrice@1s": self._mark_price,
            f"{sym}@markPrice@3s": self._mark_price, "!markPrice@arr": self._mark_price_arr,
            "!markPrice@arr@1s": self._mark_price_arr, f"{sym}@bookTicker": self._book_ticker,
            "!bookTicker": self._book_ticker, f"{sym}@aggTrade": self._agg_trade,
            f"{sym}@miniTicker": self._mini_ticker, "!miniTicker@arr": self._mini_ticker_arr,
            f"{sym}@ticker": self._ticker,
        }
        return {name.lower(): (name, build) for name, build in names.items()}

    def _k(self, ts: int, o: int, h: int, l: int, c: int, v: float, final: bool, now: int) -> tuple:
        """The values of a kline payload's template (`_kline_tpl`, `_ckline_tpl`)."""
        cache, miss = self._price.cache, self._price.miss
        quote = v * (float(c * self._p_units) / self._p_scale)  # v * Grid.to_float(c), exactly
        tid = self._trade_id
        return (now, ts, ts + self.sim.market.interval_ms - 1, tid - self.cfg.ticks_per_bar + 1, tid,
                cache.get(o) or miss(o), cache.get(c) or miss(c), cache.get(h) or miss(h),
                cache.get(l) or miss(l), v, b"true" if final else b"false", quote, v / 2, quote / 2)

    def _kline(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._kline_tpl % self._k(ts, o, h, l, c, v, final, now)

    def _kline_builder(self) -> Builder:
        """`_kline` as a closure over its constants (`_k` inlined): the hot path of a replay with
        kline subscribers, where attribute lookups were a fifth of the cost."""
        miss, get = self._price.miss, self._price.cache.get  # miss() clears that dict in place
        tpl, units, scale = self._kline_tpl, self._p_units, self._p_scale
        last_ms, n = self.sim.market.interval_ms - 1, self.cfg.ticks_per_bar

        def kline(ts, o, h, l, c, v, final, now) -> bytes:
            quote = v * (float(c * units) / scale)
            tid = self._trade_id
            return tpl % (now, ts, ts + last_ms, tid - n + 1, tid, get(o) or miss(o), get(c) or miss(c),
                          get(h) or miss(h), get(l) or miss(l), v, b"true" if final else b"false",
                          quote, v / 2, quote / 2)

        return kline

    def _continuous_kline(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._ckline_tpl % self._k(ts, o, h, l, c, v, final, now)

    def _mark_item(self, c: int, now: int) -> str:
        m = self.sim.market
        p = m.inst.price.fmt(c)
        return (f'{{"e":"markPriceUpdate","E":{now},"s":"{self.cfg.symbol}","p":"{p}","i":"{p}",'
                f'"P":"{p}","r":"{float(m.last_funding_rate):.8f}","T":{m.next_funding_time}}}')

    def _mark_price(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._mark_item(c, now).encode()

    def _mark_price_arr(self, ts, o, h, l, c, v, final, now) -> bytes:
        return f"[{self._mark_item(c, now)}]".encode()

    def _book_ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        inst = self.sim.market.inst
        bid, ask = book(self.sim, self.cfg.symbol, self.cfg.spread_bps)
        qty = inst.qty.fmt(inst.min_qty * 100)
        return (f'{{"e":"bookTicker","u":{self.sim.bars_done},"E":{now},"T":{now},"s":"{self.cfg.symbol}",'
                f'"b":"{inst.price.fmt(bid)}","B":"{qty}","a":"{inst.price.fmt(ask)}","A":"{qty}"}}').encode()

    def _agg_trade(self, ts, o, h, l, c, v, final, now) -> bytes:
        """One synthetic trade per tick: the tick's close, the volume it added."""
        inst = self.sim.market.inst
        self._trade_id += 1
        q = v / self.cfg.ticks_per_bar
        return (f'{{"e":"aggTrade","E":{now},"s":"{self.cfg.symbol}","a":{self._trade_id},'
                f'"p":"{inst.price.fmt(c)}","q":"{q:.{inst.qty.decimals}f}","nq":"{q:.{inst.qty.decimals}f}",'
                f'"f":{self._trade_id},"l":{self._trade_id},"T":{now},"m":{"true" if c < o else "false"}}}').encode()

    def _mini_item(self, o, h, l, c, now) -> str:
        f = self.sim.market.inst.price.fmt
        ro, rh, rl, _, vol, quote = self.rolling.snapshot(h, l, o)
        qd = self.sim.market.inst.qty.decimals
        return (f'{{"e":"24hrMiniTicker","E":{now},"s":"{self.cfg.symbol}","c":"{f(c)}","o":"{f(ro)}",'
                f'"h":"{f(rh)}","l":"{f(rl)}","v":"{vol:.{qd}f}","q":"{quote:.2f}"}}')

    def _mini_ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._mini_item(o, h, l, c, now).encode()

    def _mini_ticker_arr(self, ts, o, h, l, c, v, final, now) -> bytes:
        return f"[{self._mini_item(o, h, l, c, now)}]".encode()

    def _ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        inst = self.sim.market.inst
        f = inst.price.fmt
        ro, rh, rl, first, vol, quote = self.rolling.snapshot(h, l, o)
        change = inst.price.to_float(c - ro)
        pct = 100 * (c - ro) / ro if ro else 0.0
        qd = inst.qty.decimals
        return (f'{{"e":"24hrTicker","E":{now},"s":"{self.cfg.symbol}","p":"{change:.{inst.price.decimals}f}",'
                f'"P":"{pct:.3f}","w":"{(quote / vol if vol else 0):.{inst.price.decimals}f}","c":"{f(c)}",'
                f'"Q":"{inst.qty.fmt(inst.min_qty)}","o":"{f(ro)}","h":"{f(rh)}","l":"{f(rl)}",'
                f'"v":"{vol:.{qd}f}","q":"{quote:.2f}","O":{first or ts},"C":{now - 1},"F":1,'
                f'"L":{self._trade_id},"n":{max(1, self._trade_id)}}}').encode()

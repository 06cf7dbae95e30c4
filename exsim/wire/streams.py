"""Market stream payloads, Binance style: the JSON text of each stream for one replayed tick.

`Payloads` holds every stream's builder for one replayed symbol and the state they share
(cached price texts, the synthetic trade id, the rolling 24 h window, the synthetic order
book). A builder is called once per tick per subscribed stream and returns bytes that the
fan-out (ws.py) sends, unchanged, to every subscriber: encode once, same bytes to every
transport (the depth streams of one symbol, whatever their speed suffix, return the very same
bytes object for a tick). Kline payloads are defined in klines.py; the trades behind `@trade`
and `@aggTrade` in store/trades_reader.py, the book behind `@depth*` in depth_book.py;
everything else here is a %-template or f-string filled in with cached price texts.

Every replayed tick is one event of each stream: a depth diff whose book did not move carries
empty `b`/`a` (the ids still advance), and a tick whose trade share rounds to zero steps sends
no trade.
"""
from __future__ import annotations

from typing import Optional

from ..config import Config
from ..engine.market import Market
from ..engine.sim import Sim
from ..timeutil import INTERVAL_MS
from ..store.trades_reader import Tape, qty_steps, tick_index, trade_id
from .depth_book import DepthBook, Level, Update, market_tick
from .klines import Builder, ClosedKlines, KlineStreams, PriceText, interval_names
from .rest_market import book
from .rolling import Rolling24h

# Streams that list every symbol: each symbol's tick adds that symbol's item (an array of the
# symbols that changed, as !miniTicker@arr does on Binance).
ALL_SYMBOL_STREAMS = ("!markPrice@arr", "!markPrice@arr@1s", "!bookTicker", "!miniTicker@arr", "!ticker@arr")
DEPTH_SPEEDS = ("", "@100ms", "@500ms")  # one event per replayed tick whichever is asked
PARTIAL_LEVELS = (5, 10, 20)


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
        inst = market.inst
        self.tape = Tape(cfg.interval_ms, cfg.ticks_per_bar, inst.spec.tick_size, inst.qty.units, inst.qty.decimals)
        self.depth = DepthBook(inst)
        self._qty_text: dict[int, bytes] = {}
        self._diff: tuple[Optional[Update], bytes] = (None, b"")  # the last diff payload made
        self._partial: dict[int, tuple[Optional[Update], bytes]] = {}  # levels -> the last (update, payload)

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
            f"{sym}@ticker": self._ticker, "!ticker@arr": self._ticker_arr, f"{sym}@trade": self._trade,
        }
        for speed in DEPTH_SPEEDS:
            names[f"{sym}@depth{speed}"] = self._depth_diff
            for n in PARTIAL_LEVELS:
                names[f"{sym}@depth{n}{speed}"] = self._partial_builder(n)
        for iv in interval_names(base):
            names[f"{sym}@kline_{iv}"] = self.klines.kline if iv == base else ("kline", iv)
            names[f"{sym}_perpetual@continuousKline_{iv}"] = (self.klines.continuous if iv == base
                                                              else ("continuous", iv))
        return {stream_key(name): (name, build) for name, build in names.items()}

    def _mark_item(self, c: int, now: int) -> str:
        """`p` the engine's mark price (loaded mark klines, else the close `c`); `i` the index, here
        the contract's own price."""
        m = self.m
        i = m.inst.price.fmt(c)
        p = m.inst.price.fmt(m.mark) if m.has_mark_data and m.mark else i
        return (f'{{"e":"markPriceUpdate","E":{now},"s":"{self.symbol}","p":"{p}","i":"{i}",'
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

    # --- trades (store/trades_reader.py defines them) -------------------------------------------

    def _tick_trade(self, ts: int, o: int, c: int, v: float, now: int) -> Optional[tuple[int, bytes, bytes, str]]:
        """(id, price text, qty text, m) of this tick's synthetic trade; None when it has none."""
        tape = self.tape
        j = tick_index(ts, now, tape.interval_ms, tape.ticks_per_bar)
        q = qty_steps(v, j, tape)
        if q <= 0:
            return None
        tid = trade_id(ts, j, tape.interval_ms, tape.ticks_per_bar)
        self.klines.trade_id = tid  # klines carry it as f/L
        get, miss = self._price.cache.get, self._price.miss
        return tid, get(c) or miss(c), self._qty(q), "true" if c < o else "false"

    def _trade(self, ts, o, h, l, c, v, final, now) -> Optional[bytes]:
        t = self._tick_trade(ts, o, c, v, now)
        if t is None:
            return None
        tid, p, q, m = t
        return (b'{"e":"trade","E":%d,"T":%d,"s":"%s","t":%d,"p":"%s","q":"%s","X":"MARKET","m":%s}'
                % (now, now - 1, self.symbol.encode(), tid, p, q, m.encode()))

    def _agg_trade(self, ts, o, h, l, c, v, final, now) -> Optional[bytes]:
        """One aggregate trade per synthetic trade: a = f = l = the trade's id."""
        t = self._tick_trade(ts, o, c, v, now)
        if t is None:
            return None
        tid, p, q, m = t
        return (b'{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%s","q":"%s","nq":"%s","f":%d,"l":%d,"T":%d,"m":%s}'
                % (now, self.symbol.encode(), tid, p, q, q, tid, tid, now - 1, m.encode()))

    def _qty(self, steps: int) -> bytes:
        text = self._qty_text.get(steps)
        if text is None:
            if len(self._qty_text) >= 1 << 16:
                self._qty_text.clear()
            text = self._qty_text[steps] = self.m.inst.qty.fmt(steps).encode()
        return text

    # --- depth (depth_book.py defines the book) ------------------------------------------------

    def book_now(self) -> Update:
        """The book as of sim time (what REST depth serves): publishes it if it moved since."""
        tape, m = self.tape, self.m
        bid, ask = book(m, self.cfg.spread_bps) if m.last else (0, 0)
        return self.depth.at(market_tick(m, self.sim.sim_time, tape.interval_ms, tape.ticks_per_bar), bid, ask)

    def _book_at(self, ts: int, now: int) -> Update:
        tape = self.tape
        n, ims = tape.ticks_per_bar, tape.interval_ms
        bid, ask = book(self.m, self.cfg.spread_bps)
        return self.depth.at(trade_id(ts, tick_index(ts, now, ims, n), ims, n), bid, ask)

    def _levels(self, levels: list[Level]) -> bytes:
        get, miss, qty = self._price.cache.get, self._price.miss, self._qty
        return b",".join(b'["%s","%s"]' % (get(p) or miss(p), qty(q)) for p, q in levels)

    def _depth_payload(self, upd: Update, now: int, bids: list[Level], asks: list[Level]) -> bytes:
        return (b'{"e":"depthUpdate","E":%d,"T":%d,"s":"%s","U":%d,"u":%d,"pu":%d,"b":[%s],"a":[%s]}'
                % (now, now, self.symbol.encode(), upd.U, upd.u, upd.pu, self._levels(bids), self._levels(asks)))

    def _depth_diff(self, ts, o, h, l, c, v, final, now) -> bytes:
        """The levels this tick changed (quantity "0": removed), chained by U/u/pu."""
        upd = self._book_at(ts, now)
        made, payload = self._diff
        if made is not upd:
            payload = self._depth_payload(upd, now, upd.bids, upd.asks)
            self._diff = (upd, payload)
        return payload

    def _partial_builder(self, n: int) -> Builder:
        def partial(ts, o, h, l, c, v, final, now) -> bytes:
            """The best n levels each side, with the ids of the update that made them."""
            upd = self._book_at(ts, now)
            made, payload = self._partial.get(n, (None, b""))
            if made is not upd:  # one update per tick: the same bytes for @depthN, @100ms, @500ms
                bids, asks = self.depth.levels(n)
                payload = self._depth_payload(upd, now, bids, asks)
                self._partial[n] = (upd, payload)
            return payload

        return partial

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

    def _ticker_item(self, ts, o, h, l, c, now) -> str:
        inst = self.m.inst
        f = inst.price.fmt
        ro, rh, rl, first, vol, quote = self.rolling.snapshot(h, l, o)
        change = inst.price.to_float(c - ro)
        pct = 100 * (c - ro) / ro if ro else 0.0
        qd = inst.qty.decimals
        # the synthetic trade ids of the window: the first tick of its first bar to this tick
        tape = self.tape
        ims, n = tape.interval_ms, tape.ticks_per_bar
        first_id = trade_id(first or ts, 1, ims, n)
        last_id = trade_id(ts, tick_index(ts, now, ims, n), ims, n)
        return (f'{{"e":"24hrTicker","E":{now},"s":"{self.symbol}","p":"{change:.{inst.price.decimals}f}",'
                f'"P":"{pct:.3f}","w":"{(quote / vol if vol else 0):.{inst.price.decimals}f}","c":"{f(c)}",'
                f'"Q":"{inst.qty.fmt(inst.min_qty)}","o":"{f(ro)}","h":"{f(rh)}","l":"{f(rl)}",'
                f'"v":"{vol:.{qd}f}","q":"{quote:.2f}","O":{first or ts},"C":{now - 1},"F":{first_id},'
                f'"L":{last_id},"n":{max(1, last_id - first_id + 1)}}}')

    def _ticker(self, ts, o, h, l, c, v, final, now) -> bytes:
        return self._ticker_item(ts, o, h, l, c, now).encode()

    def _ticker_arr(self, ts, o, h, l, c, v, final, now) -> bytes:
        return f"[{self._ticker_item(ts, o, h, l, c, now)}]".encode()

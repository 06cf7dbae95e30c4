"""Market stream payloads, Binance style: the JSON text of each stream for one replayed tick.

`Payloads` holds every stream's builder for one replay and the state they share (cached price
texts, the synthetic trade id, the rolling 24 h window). A builder is called once per tick per
subscribed stream and returns bytes that the fan-out (ws.py) sends, unchanged, to every
subscriber: encode once, same bytes to every transport.

Hot path (one kline subscriber is the common case): a bar replayed as one closed tick takes
the kline payload DuckDB made for it in the reader's chunk query (`kline_sql`, formatted in C
on the feed thread, byte for byte the template below); everything else (partial bars, the
other streams, bars DuckDB leaves out) is a bytes %-template filled in with cached price texts.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from typing import Callable, Optional

from ..config import Config
from ..engine.bars import BarChunk
from ..engine.instrument import Instrument
from ..engine.sim import Sim
from .rest_market import book
from .rolling import Rolling24h

Builder = Callable[[int, int, int, int, int, float, bool, int], Optional[bytes]]


def _kline_body(interval: str, qty_decimals: int, ticks_per_bar: int, ids: str = '"f":%d,"L":%d',
                final: str = "%s") -> str:
    """The `k` object of a kline payload as a %-template (Python's and DuckDB's printf alike):
    t, T, [f, L,] o, c, h, l, v, [x,] q, V, Q. `ids` and `final` may be given as fixed text."""
    return (f'"t":%d,"T":%d,"i":"{interval}",{ids},"o":"%s","c":"%s","h":"%s","l":"%s",'
            f'"v":"%.{qty_decimals}f","n":{ticks_per_bar},"x":{final},"q":"%.4f","V":"%.{qty_decimals}f",'
            f'"Q":"%.4f","B":"0"')


def _kline_template(symbol: str, body: str) -> str:
    return f'{{"e":"kline","E":%d,"s":"{symbol}","k":{{"s":"{symbol}",' + body + "}}"


# --- closed klines made by the reader --------------------------------------------------------

ZERO_IDS = b'"f":0,"L":0,'  # the trade ids in reader-made payloads (see kline_sql)
_SPEC = re.compile(r"%(d|s|\.(\d+)f)")


def kline_sql(cfg: Config, inst: Instrument) -> Optional[str]:
    """A DuckDB expression over the reader's bar columns (ts, o, h, l, c: integer ticks, v:
    double) whose value is the bar's kline payload as a closed bar (BLOB), byte for byte what
    the Python builder makes for it with trade id 0: the same template, filled in with SQL
    that formats each value as Python does. The reader evaluates it in the chunk query (C, off
    the event loop); the builder then only picks the text (`ClosedKlines`).

    None when no bar is replayed as one closed tick (ticks_per_bar > 1). NULL, so the Python
    builder does that bar, outside the exact range of `_fixed_sql` and `_price_sql`: negative
    or NaN amounts, amounts below 2**-20 (but 0) or of 2**52 units of their last digit or more,
    prices of 2**53 units or more."""
    if cfg.ticks_per_bar != 1:
        return None
    price, qd = inst.price, inst.qty.decimals
    ims = cfg.interval_ms
    tpl = _kline_template(cfg.symbol, _kline_body(cfg.interval, qd, 1, ZERO_IDS[:-1].decode(), "true"))
    quote = f"(v * (CAST(c * {price.units} AS DOUBLE) / {float(10 ** price.decimals)!r}))"  # v * Grid.to_float(c)
    text = _sql_format(tpl, [
        ("%d", f"CAST(ts + {ims} AS VARCHAR)"), ("%d", "CAST(ts AS VARCHAR)"),
        ("%d", f"CAST(ts + {ims - 1} AS VARCHAR)"),
        ("%s", _price_sql("o", price)), ("%s", _price_sql("c", price)), ("%s", _price_sql("h", price)),
        ("%s", _price_sql("l", price)), (f"%.{qd}f", _fixed_sql("v", qd)), ("%.4f", _fixed_sql(quote, 4)),
        (f"%.{qd}f", _fixed_sql("v", qd, halve=True)), ("%.4f", _fixed_sql(quote, 4, halve=True))])
    top = 2 ** 53 // price.units  # |ticks| below it: ticks * units is exact in a BIGINT and a DOUBLE
    # The test must not overflow where it fails (the text is only evaluated where it holds), so
    # it bounds the quote computed without the integer product, a few ulps off: with slack.
    rough_quote = f"(v * CAST(c AS DOUBLE) * {price.units / 10 ** price.decimals!r})"
    return (f"CASE WHEN greatest(o, h, l, c) < {top} AND least(o, h, l, c) > -{top} AND {_fixed_ok('v', qd)} "
            f"AND {_fixed_ok(rough_quote, 4, slack=1.001)} THEN encode({text}) END")


def _sql_format(template: str, args: list[tuple[str, str]]) -> str:
    """`template % values` as a DuckDB concat(): `args` are (spec, SQL text of the value) in the
    template's order, each spec checked against the template's."""
    specs = [m[0] for m in _SPEC.finditer(template)]
    if specs != [spec for spec, _ in args] or "%" in _SPEC.sub("", template):
        raise ValueError(f"the template wants {specs}, and no other %")
    literals = _SPEC.split(template)[::3]  # split() also returns the spec's two groups
    pieces = [_sql_text(literals[0])]
    for (_, value), literal in zip(args, literals[1:]):
        pieces += [value, _sql_text(literal)]
    return "concat(" + ", ".join(p for p in pieces if p != "''") + ")"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fixed_sql(x: str, d: int, halve: bool = False) -> str:
    """`'%.{d}f' % x` in SQL (or of x / 2, exact in binary), for x where `_fixed_ok`.

    Python prints the exact binary value of x rounded half-even. Here x * 2**72 is an integer
    (x >= 2**-20 has no bits below 2**-72) and exact in a HUGEINT, so is P = x * 2**72 * 10**d
    (< 2**124 for x * 10**d < 2**52), and round-half-even(P / 2**s) is integer arithmetic:
    (P + 2**(s-1) - 1 + the parity of P >> s) >> s. That integer is printed as a DECIMAL
    with d places."""
    s = 73 if halve else 72
    p = f"(CAST({x} * {float(2 ** 72)!r} AS HUGEINT) * {10 ** d})"
    n = f"CAST(({p} + {2 ** (s - 1) - 1} + (({p} >> {s}) & 1)) >> {s} AS BIGINT)"
    return _decimal_text(n, d)


def _fixed_ok(x: str, d: int, slack: float = 1.0) -> str:
    """Where `_fixed_sql(x, d)` is exact: 0, or 2**-20 <= x < 2**52 / 10**d (not -0.0, NaN);
    `slack` > 1 narrows the range, for an x a little off the value that will be printed (zero
    and its sign stay exact: they are those of a product)."""
    return (f"(({x} >= {2.0 ** -20 * slack!r} OR ({x} = 0 AND NOT signbit({x}))) "
            f"AND {x} < {2.0 ** 52 / 10 ** d / slack!r})")


def _decimal_text(n: str, d: int) -> str:
    """The text of the integer n / 10**d with d decimals (Grid.fmt's digits, sign included)."""
    text = f"CAST({n} AS DECIMAL(18, 0))"
    if d:
        text = f"({text} * CAST('{1 / 10 ** d:.{d}f}' AS DECIMAL({d + 1}, {d})))"
    return f"CAST({text} AS VARCHAR)"


def _price_sql(col: str, grid) -> str:
    """Grid.fmt(col) in SQL, for |col * units| < 2**53 (see kline_sql)."""
    return _decimal_text(f"({col} * {grid.units})", grid.decimals)


class ClosedKlines:
    """The kline payloads the reader made (`kline_sql`) for the clock's current chunk, and how
    far the replay is into it: a bar replayed whole takes its payload from here."""

    __slots__ = ("ts", "texts", "row")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.texts: list[Optional[bytes]] = []  # empty: this chunk has none
        self.row = 0  # the next bar's row, most likely

    def load(self, chunk: BarChunk) -> None:
        texts = chunk.payload
        self.ts, self.texts, self.row = (chunk.ts, texts, 0) if texts is not None else ([], [], 0)

    def seek(self, ts: int) -> int:
        """Row of the bar opened at `ts`, or -1 (after bars skipped while nobody subscribed)."""
        i = bisect_left(self.ts, ts)
        return i if i < len(self.ts) and self.ts[i] == ts else -1


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
        self.closed_klines = ClosedKlines()
        self._p_units, self._p_scale = inst.price.units, 10 ** inst.price.decimals  # Grid.to_float
        sym = cfg.symbol
        body = _kline_body(cfg.interval, inst.qty.decimals, cfg.ticks_per_bar)
        self._kline_tpl = _kline_template(sym, body).encode()
        self._ckline_tpl = (f'{{"e":"continuous_kline","E":%d,"ps":"{sym}","ct":"PERPETUAL","k":{{'
                            + body + "}}").encode()
        self.kline = self._kline_builder()  # the kline stream's builder: `_kline`, faster

    def stream_table(self) -> dict[str, tuple[str, Builder]]:
        """lower-case name -> (Binance's spelling, payload builder). Payloads carry Binance's
        spelling in `stream`, which clients like the modular SDK match against what they sent."""
        sym = self.cfg.symbol.lower()
        iv = self.cfg.interval
        names = {
            f"{sym}@kline_{iv}": self.kline, f"{sym}_perpetual@continuousKline_{iv}": self._continuous_kline,
            f"{sym}@markPrice": self._mark_price, f"{sym}@markPrice@1s": self._mark_price,
            f"{sym}@markPrice@3s": self._mark_price, "!markPrice@arr": self._mark_price_arr,
            "!markPrice@arr@1s": self._mark_price_arr, f"{sym}@bookTicker": self._book_ticker,
            "!bookTicker": self._book_ticker, f"{sym}@aggTrade": self._agg_trade,
            f"{sym}@miniTicker": self._mini_ticker, "!miniTicker@arr": self._mini_ticker_arr,
            f"{sym}@ticker": self._ticker,
        }
        return {name.lower(): (name, build) for name, build in names.items()}

    def on_chunk(self, chunk: BarChunk) -> None:
        self.closed_klines.load(chunk)

    def ready_klines(self, chunk: BarChunk, i: int, j: int) -> Optional[list[bytes]]:
        """The ready-made kline payloads of rows i..j-1 of the current chunk, each replayed as
        one closed bar, exactly what `_kline` returns for them one by one; None when some
        would not come from there (no text made, or trade ids to patch in)."""
        ready = self.closed_klines
        if self._trade_id or not ready.texts or ready.ts is not chunk.ts:
            return None
        texts = ready.texts[i:j]
        if None in texts:
            return None
        ready.row = j
        return texts

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
        kline subscribers, where attribute lookups were a fifth of the cost.

        A bar replayed as one closed tick takes the payload the reader made for it, if any
        (`kline_sql`: texts are only made when ticks_per_bar is 1, where such a tick carries
        exactly the chunk's row): the same bytes, formatted in DuckDB instead of here."""
        miss, get = self._price.miss, self._price.cache.get  # miss() clears that dict in place
        tpl, units, scale = self._kline_tpl, self._p_units, self._p_scale
        last_ms, n = self.sim.market.interval_ms - 1, self.cfg.ticks_per_bar
        ready = self.closed_klines

        def kline(ts, o, h, l, c, v, final, now) -> bytes:
            if final and ready.texts and now == ts + last_ms + 1:
                row, tss = ready.row, ready.ts
                if row >= len(tss) or tss[row] != ts:
                    row = ready.seek(ts)
                if row >= 0:
                    ready.row = row + 1
                    text = ready.texts[row]
                    if text is not None:
                        tid = self._trade_id  # made with 0 (n == 1: f == L == tid)
                        return text.replace(ZERO_IDS, b'"f":%d,"L":%d,' % (tid, tid), 1) if tid else text
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

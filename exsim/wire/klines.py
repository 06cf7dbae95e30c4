"""How a kline frame is encoded: every byte of the `<symbol>@kline_<interval>` and
`<pair>_perpetual@continuousKline_<interval>` payloads is defined in this file.

- `_kline_body` / `_kline_template`: the payload as a %-template, filled in by Python.
- `kline_sql`: the same template as a DuckDB expression, which the bar feed evaluates per bar
  on its thread (the store runs it without knowing what it is), so a closed base bar's payload
  is made in C, off the event loop; `ClosedKlines` hands those bytes to the builder.
- `KlineStreams`: one symbol's builders: the base interval (taking the DuckDB bytes where
  there are some), and coarser intervals aggregated from the base bars (engine/periods.py).

A test keeps the two encodings byte-identical (tests/wire/
test_closed_kline_payloads_from_duckdb_are_byte_identical.py).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from typing import Callable, Optional, Union

from ..config import Config
from ..engine.bars import BarChunk
from ..engine.instrument import Instrument
from ..engine.market import Market
from ..engine.periods import PeriodBar
from ..timeutil import INTERVAL_MS

Payload = Union[bytes, list, None]  # a builder's result: a payload, several (in order), or none
Builder = Callable[[int, int, int, int, int, float, bool, int], Payload]


def _kline_body(interval: str, qty_decimals: int, trades: str, ids: str = '"f":%d,"L":%d',
                final: str = "%s") -> str:
    """The `k` object of a kline payload as a %-template (Python's and DuckDB's printf alike):
    t, T, [f, L,] o, c, h, l, v, [n,] [x,] q, V, Q. `trades` (n), `ids` and `final` may be
    given as fixed text."""
    return (f'"t":%d,"T":%d,"i":"{interval}",{ids},"o":"%s","c":"%s","h":"%s","l":"%s",'
            f'"v":"%.{qty_decimals}f","n":{trades},"x":{final},"q":"%.4f","V":"%.{qty_decimals}f",'
            f'"Q":"%.4f","B":"0"')


def _kline_template(symbol: str, body: str) -> str:
    return f'{{"e":"kline","E":%d,"s":"{symbol}","k":{{"s":"{symbol}",' + body + "}}"


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
    tpl = _kline_template(inst.symbol, _kline_body(cfg.interval, qd, "1", ZERO_IDS[:-1].decode(), "true"))
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


def union_kline_sql(exprs: dict[int, str]) -> Optional[str]:
    """One expression over a multi-symbol chunk (its `sym` column): each symbol's kline_sql
    where it has one, NULL elsewhere."""
    if not exprs:
        return None
    return "CASE sym " + " ".join(f"WHEN {i} THEN {e}" for i, e in sorted(exprs.items())) + " END"


class ClosedKlines:
    """The kline payloads the reader made (`kline_sql`) for the clock's current chunk: a bar
    replayed whole takes its payload from here (found by symbol and open time)."""

    __slots__ = ("ts", "sym", "texts")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.sym: Optional[list[int]] = None
        self.texts: list[Optional[bytes]] = []  # empty: this chunk has none

    def load(self, chunk: BarChunk, texts: Optional[list]) -> None:
        self.ts, self.sym, self.texts = (chunk.ts, chunk.sym, texts) if texts is not None else ([], None, [])

    def row(self, sym: int, ts: int, hint: int) -> int:
        """Row of symbol `sym`'s bar opened at `ts` (`hint`: where it most likely is), or -1."""
        tss, syms = self.ts, self.sym
        if hint < len(tss) and tss[hint] == ts and (syms is None or syms[hint] == sym):
            return hint
        i = bisect_left(tss, ts)
        while i < len(tss) and tss[i] == ts:
            if syms is None or syms[i] == sym:
                return i
            i += 1
        return -1


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




class KlineStreams:
    """The kline and continuous-kline builders of one symbol. `trade_id` is the symbol's last
    synthetic trade id (the aggTrade stream's), which klines carry as f/L."""

    def __init__(self, cfg: Config, market: Market, ready: ClosedKlines, price: PriceText) -> None:
        self.cfg = cfg
        self.m = market
        self.ready = ready
        self.trade_id = 0
        self._price = price
        inst = market.inst
        self._p_units, self._p_scale = inst.price.units, 10 ** inst.price.decimals  # Grid.to_float
        self._qd = inst.qty.decimals
        sym = inst.symbol
        self._kline_tpl = _kline_template(sym, _kline_body(cfg.interval, self._qd, str(cfg.ticks_per_bar))).encode()
        self._ckline_tpl = self._continuous_template(cfg.interval, str(cfg.ticks_per_bar))
        self.kline = self._base_builder()  # the base interval's kline stream: the hot path
        self.periods: dict[str, PeriodBar] = {}  # the coarser intervals' bars being built

    def _continuous_template(self, interval: str, trades: str) -> bytes:
        sym = self.m.inst.symbol
        return (f'{{"e":"continuous_kline","E":%d,"ps":"{sym}","ct":"PERPETUAL","k":{{'
                + _kline_body(interval, self._qd, trades) + "}}").encode()

    def _base_builder(self) -> Builder:
        """The base kline as a closure over its constants: the hot path of a replay with kline
        subscribers, where attribute lookups were a fifth of the cost.

        A bar replayed as one closed tick takes the payload the reader made for it, if any
        (`kline_sql`: texts are only made when ticks_per_bar is 1, where such a tick carries
        exactly the chunk's row): the same bytes, formatted in DuckDB instead of here."""
        miss, get = self._price.miss, self._price.cache.get  # miss() clears that dict in place
        tpl, units, scale = self._kline_tpl, self._p_units, self._p_scale
        last_ms, n = self.m.interval_ms - 1, self.cfg.ticks_per_bar
        ready, sym = self.ready, self.m.index
        hint = [0]
        streams = self

        def kline(ts, o, h, l, c, v, final, now) -> bytes:
            if final and ready.texts and now == ts + last_ms + 1:
                row = ready.row(sym, ts, hint[0])
                if row >= 0:
                    hint[0] = row + 1
                    text = ready.texts[row]
                    if text is not None:
                        tid = streams.trade_id  # made with 0 (n == 1: f == L == tid)
                        return text.replace(ZERO_IDS, b'"f":%d,"L":%d,' % (tid, tid), 1) if tid else text
            quote = v * (float(c * units) / scale)
            tid = streams.trade_id
            return tpl % (now, ts, ts + last_ms, tid - n + 1, tid, get(o) or miss(o), get(c) or miss(c),
                          get(h) or miss(h), get(l) or miss(l), v, b"true" if final else b"false",
                          quote, v / 2, quote / 2)

        return kline

    def ready_texts(self, i: int, j: int) -> Optional[list[bytes]]:
        """The reader-made payloads of rows i..j-1 of a one-symbol chunk, exactly what `kline`
        returns for them one by one; None when some would not come from there."""
        ready = self.ready
        if self.trade_id or not ready.texts or ready.sym is not None:
            return None
        texts = ready.texts[i:j]
        return None if None in texts else texts

    def _values(self, open_ts: int, close_ts: int, o, h, l, c, v, final: bool, now: int, trades: int) -> tuple:
        miss, get = self._price.miss, self._price.cache.get
        quote = v * (float(c * self._p_units) / self._p_scale)  # v * Grid.to_float(c), exactly
        tid = self.trade_id
        return (now, open_ts, close_ts, tid - trades + 1, tid, get(o) or miss(o), get(c) or miss(c),
                get(h) or miss(h), get(l) or miss(l), v, b"true" if final else b"false", quote, v / 2, quote / 2)

    def reference(self, ts, o, h, l, c, v, final, now) -> bytes:
        """The base kline in plain Python (what the fast closure `kline` inlines): the
        reference the DuckDB bytes are tested against."""
        n = self.cfg.ticks_per_bar
        return self._kline_tpl % self._values(ts, ts + self.m.interval_ms - 1, o, h, l, c, v, final, now, n)

    def continuous(self, ts, o, h, l, c, v, final, now) -> bytes:
        n = self.cfg.ticks_per_bar
        return self._ckline_tpl % self._values(ts, ts + self.m.interval_ms - 1, o, h, l, c, v, final, now, n)

    def coarser(self, interval: str, continuous: bool = False) -> tuple[Builder, PeriodBar]:
        """A builder for `interval` (coarser than the base) fed by base ticks, and its period bar
        (seeded by the fan-out when subscribed mid-period)."""
        period = PeriodBar(interval, self.m.interval_ms)
        base_ms, per_bar = self.m.interval_ms, self.cfg.ticks_per_bar
        sym = self.m.inst.symbol
        trades = "%d"
        tpl = (self._continuous_template(interval, trades) if continuous
               else _kline_template(sym, _kline_body(interval, self._qd, trades)).encode())

        def build(ts, o, h, l, c, v, final, now) -> Payload:
            out = []
            for open_ts, close_ts, po, ph, pl, pc, pv, done in period.update(ts, o, h, l, c, v, final):
                n = (close_ts + 1 - open_ts) // base_ms * per_bar  # what a full period holds
                vals = self._values(open_ts, close_ts, po, ph, pl, pc, pv, done, now, n)
                out.append(tpl % (vals[:10] + (n,) + vals[10:]))  # n after v
            return out[0] if len(out) == 1 else out

        return build, period


def interval_names(base: str) -> list[str]:
    """Every Binance interval a base-interval replay can serve (engine/periods.py builds them)."""
    from ..timeutil import aggregates
    return [iv for iv in INTERVAL_MS if aggregates(iv, base)]

"""A tradable symbol: its tick/step grid and filters as integers, and exact conversions.

Inside the engine a price is an int count of ticks and a quantity an int count of steps;
money is integer units of 1e-18 USDT (engine/money.py), derived from them exactly. Strings for
the wire are made here, exactly.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from fractions import Fraction

import msgspec

from . import brackets as B
from . import money


# Decimal arithmetic of the engine runs under this context, never the thread's: a library in the
# same process may change decimal's defaults (ccxt turns on the Underflow trap, and a request's
# '1e-999999999' then raised instead of being refused). Wide enough for every exact operation.
EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN, Emin=-999999, Emax=999999, traps=[InvalidOperation])


def _decimals(text: str) -> int:
    return max(0, -Decimal(text).as_tuple().exponent)


class Grid(msgspec.Struct, frozen=True):
    """Multiples of one increment (a tick or a step) printed with a fixed number of decimals."""

    size: Fraction
    decimals: int
    units: int  # increment expressed in 10**-decimals

    @classmethod
    def of(cls, text: str) -> "Grid":
        dec = _decimals(text)
        return cls(size=Fraction(Decimal(text)), decimals=dec, units=int(Decimal(text) * 10 ** dec))

    def fmt(self, n: int) -> str:
        """Exact decimal string of n increments, e.g. 420082 ticks of 0.10 -> '42008.20'."""
        return money.fixed(n * self.units, self.decimals)

    def value(self, n: int) -> Fraction:
        return n * self.size

    def to_float(self, n: int) -> float:
        return float(n * self.units) / 10 ** self.decimals

    def from_text(self, text: str, rounding: str) -> tuple[int, bool]:
        """(increments, exact) for a decimal string; rounding 'down', 'up' or 'nearest'."""
        return self.from_decimal(Decimal(text), rounding)

    def from_decimal(self, d: Decimal, rounding: str) -> tuple[int, bool]:
        with localcontext(EXACT):
            scaled = d.scaleb(self.decimals)  # exact; an integer when d has no finer digits
            whole = scaled == scaled.to_integral_value()
        if whole:
            n, r = divmod(int(scaled), self.units)
            if not r:
                return n, True  # on the grid: the usual case, no Fraction needed
        q = Fraction(d) / self.size
        if q.denominator == 1:
            return int(q), True
        if rounding == "down":
            return q.numerator // q.denominator, False
        if rounding == "up":
            return -((-q.numerator) // q.denominator), False
        return round(q), False


class Instrument(msgspec.Struct, frozen=True):
    symbol: str
    base: str
    quote: str
    price: Grid
    qty: Grid
    min_price: int  # ticks
    max_price: int
    min_qty: int  # steps
    max_qty: int
    market_max_qty: int
    min_notional: int  # money units
    max_num_orders: int
    percent_up: Fraction
    percent_down: Fraction
    spec: object  # the config SymbolSpec it came from (strings for exchangeInfo)
    unit_notional: int  # money units of one tick x one step
    brackets: tuple = ()  # engine/brackets.py Bracket tiers, ascending notional
    liquidation_fee: Fraction = Fraction(0)

    @classmethod
    def from_spec(cls, symbol: str, spec) -> "Instrument":
        price, qty = Grid.of(spec.tick_size), Grid.of(spec.step_size)
        one = price.size * qty.size * money.SCALE
        if one.denominator != 1:
            raise ValueError(f"{symbol}: tickSize x stepSize below 1e-18 USDT cannot be priced exactly")
        quote = "USDT" if symbol.endswith("USDT") else ("USDC" if symbol.endswith("USDC") else symbol[-4:])
        return cls(
            symbol=symbol, base=symbol[: -len(quote)], quote=quote, price=price, qty=qty,
            min_price=price.from_text(spec.min_price, "up")[0],
            max_price=price.from_text(spec.max_price, "down")[0],
            min_qty=qty.from_text(spec.min_qty, "up")[0], max_qty=qty.from_text(spec.max_qty, "down")[0],
            market_max_qty=qty.from_text(spec.market_max_qty, "down")[0],
            min_notional=money.of(spec.min_notional), max_num_orders=spec.max_num_orders,
            percent_up=Fraction(Decimal(spec.percent_price_up)),
            percent_down=Fraction(Decimal(spec.percent_price_down)), spec=spec,
            unit_notional=int(one), brackets=B.for_symbol(symbol, spec.brackets),
            liquidation_fee=Fraction(Decimal(spec.liquidation_fee)))

    def notional(self, price_ticks: int, qty_steps: int) -> int:
        """price x qty in money units, exact."""
        return price_ticks * qty_steps * self.unit_notional

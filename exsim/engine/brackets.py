"""Leverage brackets (notional tiers) as Binance publishes them in /fapi/v1/leverageBracket.

A bracket caps the leverage of a position by its notional and sets its maintenance margin:
  maintenance margin = |notional| x maintMarginRatio - cum
where `cum` makes the margin continuous across tiers (cum_n = cum_{n-1} + floor_n x (mmr_n -
mmr_{n-1})), which is how Binance derives its published `cum` column. Tiers are configured as
(initialLeverage, notionalCap, maintMarginRatio) per symbol; floors and cum follow.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Iterable, Sequence

import msgspec

from . import money

# (initialLeverage, notionalCap USDT, maintMarginRatio), modelled on Binance's tiers for the
# demo symbols (late 2024); any other symbol gets GENERIC_TIERS. Configurable per symbol:
# [[symbol_specs.BTCUSDT.brackets]] initial_leverage = 125, notional_cap = "50000", ...
BTCUSDT_TIERS = ((125, "50000", "0.004"), (100, "600000", "0.005"), (75, "3000000", "0.0065"),
                 (50, "12000000", "0.01"), (25, "70000000", "0.02"), (20, "100000000", "0.025"),
                 (10, "230000000", "0.05"), (5, "480000000", "0.1"), (4, "600000000", "0.125"),
                 (3, "800000000", "0.15"), (2, "1200000000", "0.25"), (1, "1800000000", "0.5"))
ETHUSDT_TIERS = ((125, "50000", "0.004"), (100, "500000", "0.005"), (75, "1000000", "0.0065"),
                 (50, "5000000", "0.01"), (25, "20000000", "0.02"), (20, "50000000", "0.025"),
                 (10, "100000000", "0.05"), (5, "200000000", "0.1"), (4, "300000000", "0.125"),
                 (3, "500000000", "0.15"), (2, "800000000", "0.25"), (1, "1200000000", "0.5"))
GENERIC_TIERS = ((75, "5000", "0.0065"), (50, "25000", "0.01"), (25, "100000", "0.02"),
                 (20, "250000", "0.025"), (10, "1000000", "0.05"), (5, "2000000", "0.1"),
                 (4, "5000000", "0.125"), (3, "10000000", "0.15"), (2, "20000000", "0.25"),
                 (1, "50000000", "0.5"))
DEFAULT_TIERS = {"BTCUSDT": BTCUSDT_TIERS, "ETHUSDT": ETHUSDT_TIERS}


class Bracket(msgspec.Struct, frozen=True):
    bracket: int  # 1-based, as Binance numbers them
    initial_leverage: int
    floor: int  # money units (notionalFloor)
    cap: int  # money units (notionalCap)
    mmr: Fraction
    cum: int  # money units


def build(tiers: Iterable[tuple[int, str, str]]) -> tuple[Bracket, ...]:
    """Brackets from (initialLeverage, notionalCap, maintMarginRatio) tiers in ascending cap."""
    out: list[Bracket] = []
    floor, cum, prev_mmr = 0, 0, Fraction(0)
    for n, (lev, cap, mmr) in enumerate(tiers, 1):
        rate = Fraction(Decimal(str(mmr)))
        cap_units = money.of(str(cap))
        if cap_units <= floor or not 1 <= int(lev) <= 125 or not 0 < rate < 1:
            raise ValueError(f"bracket {n}: caps must rise, leverage 1..125, 0 < maintMarginRatio < 1")
        cum += money.scale(rate - prev_mmr, floor)
        out.append(Bracket(bracket=n, initial_leverage=int(lev), floor=floor, cap=cap_units, mmr=rate, cum=cum))
        floor, prev_mmr = cap_units, rate
    if not out:
        raise ValueError("at least one bracket is needed")
    return tuple(out)


def for_symbol(symbol: str, configured: Sequence) -> tuple[Bracket, ...]:
    """The symbol's configured tiers (config.BracketSpec), else its default ones."""
    if configured:
        return build((b.initial_leverage, b.notional_cap, b.maint_margin_ratio) for b in configured)
    return build(DEFAULT_TIERS.get(symbol, GENERIC_TIERS))


def of_notional(brackets: Sequence[Bracket], notional: int) -> Bracket:
    """The bracket an absolute notional (money units) falls in (the last one beyond its cap)."""
    for b in brackets:
        if notional < b.cap:
            return b
    return brackets[-1]


def maintenance(brackets: Sequence[Bracket], notional: int) -> int:
    """Maintenance margin of a position of absolute notional `notional`, in money units."""
    if not notional:
        return 0
    b = of_notional(brackets, notional)
    return money.scale(b.mmr, notional) - b.cum


def max_notional(brackets: Sequence[Bracket], leverage: int) -> int:
    """The largest position notional this leverage allows (Binance's maxNotionalValue)."""
    allowed = [b.cap for b in brackets if b.initial_leverage >= leverage]
    return max(allowed) if allowed else 0


def max_leverage(brackets: Sequence[Bracket]) -> int:
    return brackets[0].initial_leverage

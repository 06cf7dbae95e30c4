"""Fee and slippage models: one question each, picked by config."""
from __future__ import annotations

from fractions import Fraction

import msgspec

from . import money


class MakerTakerFee(msgspec.Struct, frozen=True):
    maker_rate: Fraction
    taker_rate: Fraction

    @classmethod
    def from_bps(cls, maker_bps: float, taker_bps: float) -> "MakerTakerFee":
        return cls(Fraction(str(maker_bps)) / 10_000, Fraction(str(taker_bps)) / 10_000)

    def fee(self, notional: int, is_maker: bool) -> int:
        """Fee in money units on a notional in money units (rounded half-even to 1e-18)."""
        return money.scale(self.maker_rate if is_maker else self.taker_rate, notional)


class BpsSlippage(msgspec.Struct, frozen=True):
    """Moves a taker's price against it by `rate`, then onto the tick grid away from the taker
    (a BUY pays at least the slipped price, a SELL receives at most it)."""

    rate: Fraction

    @classmethod
    def from_bps(cls, bps: float) -> "BpsSlippage":
        return cls(Fraction(str(bps)) / 10_000)

    def price(self, ticks: int, is_buy: bool) -> int:
        if not self.rate:
            return ticks
        if is_buy:
            q = ticks * (1 + self.rate)
            return -((-q.numerator) // q.denominator)
        q = ticks * (1 - self.rate)
        return max(1, q.numerator // q.denominator)

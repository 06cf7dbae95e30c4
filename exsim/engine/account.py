"""One trader's wallet, positions (one-way mode: one signed position per symbol), margin and PnL.

Money is exact (`Fraction` USDT); quantities are integer steps of the instrument.
Cross margin, as Binance computes it for one asset:
  unrealized PnL = amt * (mark - entry)
  margin balance = wallet + sum(unrealized PnL)
  initial margin = |amt| * mark / leverage  (+ open orders that would add exposure)
  available      = max(0, margin balance - initial margins)
"""
from __future__ import annotations

from fractions import Fraction

import msgspec

from .instrument import Instrument
from .orders import Order


class Position(msgspec.Struct, kw_only=True):
    symbol: str
    amt: int = 0  # signed steps: > 0 long, < 0 short
    entry: Fraction = Fraction(0)  # average entry price, USDT
    leverage: int = 20
    margin_type: str = "CROSSED"
    realized: Fraction = Fraction(0)  # accumulated, before fees (ACCOUNT_UPDATE "cr")
    update_time: int = 0


class Trade(msgspec.Struct, frozen=True):
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: int  # ticks
    qty: int  # steps
    realized_pnl: Fraction
    fee: Fraction
    is_maker: bool
    time: int


class Income(msgspec.Struct, frozen=True):
    tran_id: int
    symbol: str
    income_type: str  # REALIZED_PNL | COMMISSION | FUNDING_FEE
    income: Fraction
    time: int
    trade_id: int = 0


class Account:
    """State only; the rules that change it live in Sim (orders) and here (PnL)."""

    def __init__(self, name: str, balance: Fraction, default_leverage: int) -> None:
        self.name = name
        self.wallet = balance
        self.starting_balance = balance
        self.default_leverage = default_leverage
        self.positions: dict[str, Position] = {}
        self.open_orders: dict[int, Order] = {}
        self.orders: dict[int, Order] = {}  # every order ever accepted, by id
        self.by_client_id: dict[tuple[str, str], Order] = {}  # open orders only
        self.algo_orders: dict[int, Order] = {}  # conditional orders placed via the algo API
        self.trades: list[Trade] = []
        self.incomes: list[Income] = []
        self.update_time = 0
        self.dual_side = False
        self.multi_assets = False

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol=symbol, leverage=self.default_leverage)
        return pos

    # --- PnL ------------------------------------------------------------------------------

    def apply_fill(self, inst: Instrument, side_sign: int, price: int, qty: int, fee: Fraction,
                   now: int) -> Fraction:
        """Move the position by side_sign*qty at `price`; returns the realized PnL (before fee).
        Reducing realizes against the average entry; a flip closes all, then opens the rest."""
        pos = self.position(inst.symbol)
        px = inst.price.value(price)
        step = inst.qty.size
        realized = Fraction(0)
        delta = side_sign * qty
        if pos.amt == 0 or (pos.amt > 0) == (delta > 0):
            new_amt = pos.amt + delta
            pos.entry = (pos.entry * abs(pos.amt) + px * abs(delta)) / abs(new_amt)
            pos.amt = new_amt
        else:
            closing = min(abs(delta), abs(pos.amt))
            direction = 1 if pos.amt > 0 else -1
            realized = closing * step * (px - pos.entry) * direction
            pos.amt += delta
            if pos.amt == 0:
                pos.entry = Fraction(0)
            elif (pos.amt > 0) != (direction > 0):  # flipped: the rest opened at this price
                pos.entry = px
        pos.realized += realized
        pos.update_time = now
        self.wallet += realized - fee
        self.update_time = now
        return realized

    def unrealized(self, inst: Instrument, mark: int) -> Fraction:
        pos = self.positions.get(inst.symbol)
        if pos is None or pos.amt == 0:
            return Fraction(0)
        return pos.amt * inst.qty.size * (inst.price.value(mark) - pos.entry)

    def position_margin(self, inst: Instrument, mark: int) -> Fraction:
        pos = self.positions.get(inst.symbol)
        if pos is None or pos.amt == 0:
            return Fraction(0)
        return abs(pos.amt) * inst.qty.size * inst.price.value(mark) / pos.leverage

    def order_margin(self, inst: Instrument, mark: int) -> Fraction:
        """Initial margin held by open orders that would add exposure (not reduce-only)."""
        pos = self.positions.get(inst.symbol)
        lev = pos.leverage if pos else self.default_leverage
        total = Fraction(0)
        for order in self.open_orders.values():
            if order.symbol != inst.symbol or order.reduce_only or order.close_position:
                continue
            px = order.price or order.stop_price or order.activation_price or mark
            total += inst.notional(px, order.remaining) / lev
        return total

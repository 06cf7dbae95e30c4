"""One trader's wallet, positions (one-way mode: one signed position per symbol), margin and PnL.

Money is integer units of 1e-18 USDT (engine/money.py); quantities are integer steps and prices
integer ticks of the instrument. Cross margin, as Binance computes it for one asset:
  unrealized PnL = amt * (mark - entry)
  margin balance = wallet + sum(unrealized PnL)
  initial margin = |amt| * mark / leverage  (+ open orders that would add exposure)
  available      = max(0, margin balance - initial margins)
"""
from __future__ import annotations

from fractions import Fraction

import msgspec

from . import money
from .instrument import Instrument
from .orders import Order


class Position(msgspec.Struct, kw_only=True):
    symbol: str
    amt: int = 0  # signed steps: > 0 long, < 0 short
    # What the open |amt| cost at entry, in money units: the average entry price is kept as
    # this total so adding to a position is exact; a partial close takes its share (rounded).
    cost: int = 0
    leverage: int = 20
    margin_type: str = "CROSSED"
    realized: int = 0  # money units, accumulated, before fees (ACCOUNT_UPDATE "cr")
    update_time: int = 0

    def entry(self, inst: Instrument) -> Fraction:
        """Average entry price in USDT, exact (0 when flat)."""
        if not self.amt:
            return Fraction(0)
        return money.usdt(self.cost) / (abs(self.amt) * inst.qty.size)


# gc=False: the history keeps one Trade and one or two Incomes per fill, and they hold only
# ints and strs, so they can never be part of a reference cycle; untracked, a full GC does
# not walk them (with ~10k orders that walk took ~25 ms of loop time).
class Trade(msgspec.Struct, frozen=True, gc=False):
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: int  # ticks
    qty: int  # steps
    realized_pnl: int  # money units
    fee: int  # money units
    is_maker: bool
    time: int


class Income(msgspec.Struct, frozen=True, gc=False):
    tran_id: int
    symbol: str
    income_type: str  # REALIZED_PNL | COMMISSION | FUNDING_FEE
    income: int  # money units
    time: int
    trade_id: int = 0


class Account:
    """State only; the rules that change it live in Sim (orders) and here (PnL)."""

    def __init__(self, name: str, balance: int, default_leverage: int) -> None:
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

    def apply_fill(self, inst: Instrument, side_sign: int, price: int, qty: int, fee: int,
                   now: int) -> int:
        """Move the position by side_sign*qty at `price`; returns the realized PnL (before fee).
        Reducing realizes against the average entry; a flip closes all, then opens the rest."""
        pos = self.position(inst.symbol)
        realized = 0
        delta = side_sign * qty
        if pos.amt == 0 or (pos.amt > 0) == (delta > 0):
            pos.cost += price * qty * inst.unit_notional
            pos.amt += delta
        else:
            held = abs(pos.amt)
            closing = min(qty, held)
            closed_cost = pos.cost if closing == held else money.div_round(pos.cost * closing, held)
            value = price * closing * inst.unit_notional
            realized = value - closed_cost if pos.amt > 0 else closed_cost - value
            pos.cost -= closed_cost
            pos.amt += delta
            if qty > held:  # flipped: the rest opened at this price
                pos.cost = price * (qty - held) * inst.unit_notional
        pos.realized += realized
        pos.update_time = now
        self.wallet += realized - fee
        self.update_time = now
        return realized

    def unrealized(self, inst: Instrument, mark: int) -> int:
        pos = self.positions.get(inst.symbol)
        if pos is None or pos.amt == 0:
            return 0
        value = abs(pos.amt) * mark * inst.unit_notional
        return value - pos.cost if pos.amt > 0 else pos.cost - value

    def position_margin(self, inst: Instrument, mark: int) -> int:
        pos = self.positions.get(inst.symbol)
        if pos is None or pos.amt == 0:
            return 0
        return money.div_round(abs(pos.amt) * mark * inst.unit_notional, pos.leverage)

    def order_margin(self, inst: Instrument, mark: int) -> int:
        """Initial margin held by open orders that would add exposure (not reduce-only)."""
        pos = self.positions.get(inst.symbol)
        lev = pos.leverage if pos else self.default_leverage
        total = 0
        for order in self.open_orders.values():
            if order.symbol != inst.symbol or order.reduce_only or order.close_position:
                continue
            px = order.price or order.stop_price or order.activation_price or mark
            total += inst.notional(px, order.remaining)
        return money.div_round(total, lev)

"""One trader's wallet, positions, margin and PnL.

Positions are keyed by (symbol, positionSide): one-way mode holds one signed BOTH position per
symbol, hedge mode (dualSidePosition) a LONG (amt >= 0) and a SHORT (amt <= 0) one. Leverage
and margin type are per symbol; every position of a symbol carries the same values.

Money is integer units of 1e-18 USDT (engine/money.py); quantities are integer steps and prices
integer ticks of the instrument. As Binance computes it for one asset:
  unrealized PnL   = amt * (mark - entry)
  isolated wallet  = margin moved into an ISOLATED position + its realized PnL - its fees
  cross wallet     = wallet - sum(isolated wallets)
  initial margin   = |amt| * mark / leverage  (+ open orders that would add exposure)
  available        = max(0, cross wallet + cross unrealized PnL - cross initial margins)
"""
from __future__ import annotations

from fractions import Fraction

import msgspec

from . import money
from .instrument import Instrument
from .orders import Order


class Position(msgspec.Struct, kw_only=True):
    symbol: str
    side: str = "BOTH"  # positionSide: BOTH (one-way mode), LONG or SHORT (hedge mode)
    amt: int = 0  # signed steps: > 0 long, < 0 short
    # What the open |amt| cost at entry, in money units: the average entry price is kept as
    # this total so adding to a position is exact; a partial close takes its share (rounded).
    cost: int = 0
    leverage: int = 20
    margin_type: str = "CROSSED"
    realized: int = 0  # money units, accumulated, before fees (ACCOUNT_UPDATE "cr")
    isolated_wallet: int = 0  # money units; only an ISOLATED position has one
    update_time: int = 0

    @property
    def isolated(self) -> bool:
        return self.margin_type == "ISOLATED"

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
    position_side: str = "BOTH"
    ambiguous: bool = False  # its segment reached orders of the account on both sides of the path
    # ambiguous: the price (ticks) the first order on the other side of the path would have
    # filled at; (price - alt) x qty x side is what the other path would have changed
    alt_price: int = 0


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
        self.positions: dict[tuple[str, str], Position] = {}
        self.open_orders: dict[int, Order] = {}
        self.orders: dict[int, Order] = {}  # every order ever accepted, by id
        self.by_client_id: dict[tuple[str, str], Order] = {}  # open orders only
        self.algo_orders: dict[int, Order] = {}  # conditional orders placed via the algo API
        self.trades: list[Trade] = []
        self.incomes: list[Income] = []
        self.update_time = 0
        self.dual_side = False
        self.multi_assets = False
        # bumped by every change a liquidation price depends on (engine/risk.py caches by it)
        self.version = 0
        self.margin_call = False  # a MARGIN_CALL was sent and the margin ratio has not recovered
        # positionMargin changes, oldest first: (time, symbol, position side, kind 1 add / 2 reduce, amount)
        self.margin_transfers: list[tuple[int, str, str, int, int]] = []

    def position(self, symbol: str, side: str = "BOTH") -> Position:
        pos = self.positions.get((symbol, side))
        if pos is None:
            # a symbol's first position holds its settings; other sides copy them
            first = self.positions.get((symbol, "BOTH"))
            pos = self.positions[(symbol, side)] = Position(
                symbol=symbol, side=side, leverage=first.leverage if first else self.default_leverage,
                margin_type=first.margin_type if first else "CROSSED")
        return pos

    def sides(self, symbol: str) -> list[Position]:
        """The symbol's positions of the current mode: [BOTH], or [LONG, SHORT] in hedge mode."""
        if self.dual_side:
            return [self.position(symbol, "LONG"), self.position(symbol, "SHORT")]
        return [self.position(symbol)]

    def settings(self, symbol: str) -> Position:
        """The position that carries the symbol's leverage and margin type."""
        return self.position(symbol)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.amt]

    def isolated_wallets(self) -> int:
        return sum(p.isolated_wallet for p in self.positions.values() if p.isolated_wallet)

    # --- PnL ------------------------------------------------------------------------------

    def apply_fill(self, inst: Instrument, pos: Position, side_sign: int, price: int, qty: int, fee: int,
                   now: int) -> int:
        """Move the position by side_sign*qty at `price`; returns the realized PnL (before fee).
        Reducing realizes against the average entry; a flip closes all, then opens the rest."""
        realized = closing = 0
        held = abs(pos.amt)
        delta = side_sign * qty
        if pos.amt == 0 or (pos.amt > 0) == (delta > 0):
            pos.cost += price * qty * inst.unit_notional
            pos.amt += delta
        else:
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
        self.version += 1
        if pos.isolated:
            self._isolated_fill(inst, pos, held, closing, qty - closing, price, realized - fee)
        return realized

    @staticmethod
    def _isolated_fill(inst: Instrument, pos: Position, held: int, closing: int, opening: int,
                       price: int, change: int) -> None:
        """An ISOLATED position's wallet takes its fills' PnL and fees, gives back to the cross
        wallet the share of what a fill closes, and takes (from it) the initial margin of what
        a fill opens."""
        pos.isolated_wallet += change
        if closing:
            if closing == held:
                pos.isolated_wallet = 0  # flat, or flipped: the rest returns to cross
            else:
                pos.isolated_wallet -= money.div_round(pos.isolated_wallet * closing, held)
        if opening:
            pos.isolated_wallet += money.div_round(price * opening * inst.unit_notional, pos.leverage)

    @staticmethod
    def unrealized(inst: Instrument, pos: Position, mark: int) -> int:
        if not pos.amt:
            return 0
        value = abs(pos.amt) * mark * inst.unit_notional
        return value - pos.cost if pos.amt > 0 else pos.cost - value

    @staticmethod
    def position_margin(inst: Instrument, pos: Position, mark: int) -> int:
        if not pos.amt:
            return 0
        return money.div_round(abs(pos.amt) * mark * inst.unit_notional, pos.leverage)

    def order_margin(self, inst: Instrument, mark: int, position_side: str | None = None) -> int:
        """Initial margin held by open orders that would add exposure (not reduce-only), of one
        positionSide or all."""
        lev = self.settings(inst.symbol).leverage
        total = 0
        for order in self.open_orders.values():
            if order.symbol != inst.symbol or order.closes:
                continue
            if position_side is not None and order.position_side != position_side:
                continue
            px = order.price or order.stop_price or order.activation_price or mark
            total += inst.notional(px, order.remaining)
        return money.div_round(total, lev)

"""Orders as the engine keeps them. Prices in ticks, quantities in steps."""
from __future__ import annotations

from fractions import Fraction

import msgspec

BUY, SELL = "BUY", "SELL"
MARKET, LIMIT = "MARKET", "LIMIT"
STOP, STOP_MARKET = "STOP", "STOP_MARKET"
TAKE_PROFIT, TAKE_PROFIT_MARKET = "TAKE_PROFIT", "TAKE_PROFIT_MARKET"
TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"
LIQUIDATION = "LIQUIDATION"  # the exchange closing a position (engine/liquidation.py)

ORDER_TYPES = (LIMIT, MARKET, STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET, TRAILING_STOP_MARKET)
CONDITIONAL = frozenset({STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET, TRAILING_STOP_MARKET})
# What a conditional order becomes when it triggers.
EXECUTES_AS = {STOP: LIMIT, TAKE_PROFIT: LIMIT, STOP_MARKET: MARKET,
               TAKE_PROFIT_MARKET: MARKET, TRAILING_STOP_MARKET: MARKET}
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTX", "GTD")

NEW, PARTIALLY_FILLED, FILLED = "NEW", "PARTIALLY_FILLED", "FILLED"
CANCELED, EXPIRED, REJECTED = "CANCELED", "EXPIRED", "REJECTED"
OPEN_STATUSES = frozenset({NEW, PARTIALLY_FILLED})


# gc=False: every order ever accepted stays in the account's history and holds only ints, strs,
# bools and a Fraction, never a container that could lead back to it, so it cannot be part of a
# cycle; untracked, the history does not lengthen full GC walks (loop stalls).
class Order(msgspec.Struct, kw_only=True, gc=False):
    order_id: int
    client_order_id: str
    account: str
    symbol: str
    side: str
    type: str  # what it executes as now (a triggered STOP_MARKET is a MARKET)
    orig_type: str
    time_in_force: str = "GTC"
    qty: int = 0  # steps; 0 with close_position
    price: int = 0  # ticks; 0 = none
    stop_price: int = 0
    reduce_only: bool = False
    close_position: bool = False
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    activation_price: int = 0  # trailing: ticks, 0 = active at once
    callback_rate: Fraction = Fraction(0)  # trailing: percent
    trail_extreme: int = 0  # best price since activation (ticks), 0 = not yet active
    triggered: bool = False
    status: str = NEW
    executed: int = 0  # steps
    cum_quote_units: int = 0  # sum(price_ticks * qty_steps) of fills
    time: int = 0
    update_time: int = 0
    algo_id: int = 0  # set when placed through the algo-order API
    client_algo_id: str = ""
    trigger_time: int = 0
    good_till_date: int = 0
    position_side: str = "BOTH"  # LONG / SHORT in hedge mode
    ambiguous: bool = False  # a fill of it depended on the assumed intra-bar path (matching.py)
    latency_ms: int = 0  # sim time between acceptance and reaching the book (config latency_ms)
    queue_ahead: float = 0.0  # queue = "volume": base quantity resting ahead of it at its price

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> int:
        return self.qty - self.executed

    @property
    def closes(self) -> bool:
        """It can only reduce a position: reduce-only, close-all, or in hedge mode the side
        that closes its positionSide (SELL LONG, BUY SHORT)."""
        if self.reduce_only or self.close_position:
            return True
        return self.position_side != "BOTH" and (self.position_side == "LONG") != (self.side == BUY)

    @property
    def sign(self) -> int:
        return 1 if self.side == BUY else -1

"""Amending a resting order, as Binance's Modify Order does (PUT /fapi/v1/order, PUT
/fapi/v1/batchOrders, WebSocket order.modify), and the amendment history kept for
GET /fapi/v1/orderAmendment.

The rules, checked in this order (nothing changes until all pass):
- `side` must be BUY or SELL (-1117); `priceMatch` one of Binance's modes (-5037) and never
  together with `price` (-1106); `quantity` and `price` (or a priceMatch) are both mandatory on
  USDⓈ-M (-1102), unlike COIN-M where either is enough;
- the order (by orderId, else origClientOrderId) must exist and be open (-2013), be a LIMIT order
  (-5025) of the same side (-1130 'side'), its symbol trading (-5024), amended fewer than 10000
  times (-5026);
- the new values sit on the grid like a new order's; the same price and quantity is -5027;
- then PRICE_FILTER / LOT_SIZE / PERCENT_PRICE as for a new order, MIN_NOTIONAL as -5029 and the
  margin the larger order needs (-2019) and its leverage bracket (-2027);
- two cases cancel the order instead (Binance: "the order will be cancelled by the amendment"):
  a new quantity <= the executed quantity of a partially filled order, and a GTX order whose new
  price would take. The result is then the order, CANCELED (event CANCELED, reason
  "amendment").

Accepted, the order keeps its id and its place in the book (liquidity is unlimited, so queue
position changes nothing here; Binance keeps it only when the quantity decreases), an AMENDMENT
event is logged and the amendment recorded. A new price that is marketable at the last price
fills the order at once as taker, like a marketable LIMIT on arrival (engine/matching.py).

priceMatch has no order book to look at here: the book is taken as one tick wide around the last
price, so the opponent's best (OPPONENT) is the last price itself and the own side's best
(QUEUE) one tick away from it, each further level (_5/_10/_20) one tick further.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Optional

import msgspec

from . import errors as E
from . import matching, money, validation
from .account import Account
from .commands import ModifyOrder
from .errors import ExchangeError, missing_param, reject
from .orders import BUY, CANCELED, LIMIT, SELL, Order

if TYPE_CHECKING:  # pragma: no cover
    from .instrument import Instrument
    from .market import Market
    from .sim import Sim

MAX_AMENDMENTS = 10000  # per order: "One order can only be modified for less than 10000 times"
# priceMatch mode -> (prices the opposite side, book level)
PRICE_MATCH = {"OPPONENT": (True, 1), "OPPONENT_5": (True, 5), "OPPONENT_10": (True, 10),
               "OPPONENT_20": (True, 20), "QUEUE": (False, 1), "QUEUE_5": (False, 5),
               "QUEUE_10": (False, 10), "QUEUE_20": (False, 20)}
SAME_ORDER = (-5027, "No need to modify the order.")
LIMIT_ORDER_ONLY = (-5025, "Only limit order is supported.")
TOO_MANY_AMENDMENTS = (-5026, "Exceed maximum modify order limit.")
NOT_TRADING = (-5024, "Symbol is not in trading status. Order amendment is not permitted.")
INVALID_PRICE_MATCH = (-5037, "Invalid price match")


class Amendment(msgspec.Struct, frozen=True, gc=False):
    """One accepted amendment (prices in ticks, quantities in steps)."""

    amendment_id: int
    symbol: str
    order_id: int
    client_order_id: str
    time: int
    price_before: int
    price_after: int
    qty_before: int
    qty_after: int
    count: int  # this order's n-th amendment


class Amendments:
    """The amendment history of one run, per account (a new run starts a new one)."""

    def __init__(self) -> None:
        self.by_account: dict[str, list[Amendment]] = {}
        self.counts: dict[int, int] = {}  # amendments per order id (ids are unique in a run)
        self._next_id = 1

    def count(self, order_id: int) -> int:
        return self.counts.get(order_id, 0)

    def record(self, account: str, order: Order, price_before: int, qty_before: int, now: int) -> Amendment:
        n = self.counts[order.order_id] = self.counts.get(order.order_id, 0) + 1
        rec = Amendment(amendment_id=self._next_id, symbol=order.symbol, order_id=order.order_id,
                        client_order_id=order.client_order_id, time=now, price_before=price_before,
                        price_after=order.price, qty_before=qty_before, qty_after=order.qty, count=n)
        self._next_id += 1
        self.by_account.setdefault(account, []).append(rec)
        return rec

    def history(self, account: str, symbol: str, order_id: Optional[int], start: Optional[int],
                end: Optional[int], limit: int) -> list[Amendment]:
        """Newest first (as Binance lists them), at most `limit`; times inclusive."""
        out = []
        for rec in reversed(self.by_account.get(account, ())):
            if rec.symbol == symbol and (order_id is None or rec.order_id == order_id) and (
                    start is None or rec.time >= start) and (end is None or rec.time <= end):
                out.append(rec)
                if len(out) == limit:
                    break
        return out


def match_price(side: str, mode: str, last: int) -> int:
    """The price a priceMatch mode gives at the last price (ticks); see the module docstring."""
    opponent, level = PRICE_MATCH[mode]
    away = 1 if side == BUY else -1  # away from the other side: down for a BUY
    return last + away * (level - 1) if opponent else last - away * level


def modify(sim: "Sim", acct: Account, cmd: ModifyOrder) -> Order:
    """Apply an amendment (engine entry: Sim.apply); the order as it is afterwards."""
    inst = sim.instrument(cmd.symbol)
    m = sim.markets[inst.symbol]
    order, qty, price, outcome = check(sim, acct, inst, m, cmd)
    if outcome == "cancel":
        sim._close(acct, order, CANCELED, reason="amendment")
        return order
    now = sim.sim_time
    price_before, qty_before = order.price, order.qty
    order.price, order.qty = price, qty
    order.update_time = now
    sim.amendments.record(acct.name, order, price_before, qty_before, now)
    sim._order_event(acct, order, "AMENDMENT")
    if matching.limit_marketable(order.side, order.price, m.last):
        sim._fill(acct, m, order, matching.taker_price(order.side, m.last, order.price, sim.slippage.price), False)
    return order


def check(sim: "Sim", acct: Account, inst: "Instrument", m: "Market",
          cmd: ModifyOrder) -> tuple[Order, int, int, str]:
    """Binance's checks of an amendment, reading state only: (order, new qty, new price,
    "amend" | "cancel"), or the ExchangeError of the first that fails."""
    if cmd.side not in (BUY, SELL):
        raise ExchangeError(-1117, "Invalid side.")
    mode = cmd.price_match or "NONE"
    if mode != "NONE" and mode not in PRICE_MATCH:
        raise reject(INVALID_PRICE_MATCH)
    if mode != "NONE" and cmd.price:
        raise ExchangeError(-1106, "Parameter 'price' sent when not required.")
    if not cmd.quantity:
        raise missing_param("quantity")
    if mode == "NONE" and not cmd.price:
        raise missing_param("price")
    order = sim.find_order(acct, inst.symbol, cmd.order_id, cmd.client_order_id)
    if order is None or not order.is_open or (order.algo_id and not order.triggered):
        raise reject(E.ORDER_NOT_FOUND)
    if order.orig_type != LIMIT:
        raise reject(LIMIT_ORDER_ONLY)
    if cmd.side != order.side:
        raise ExchangeError(-1130, "Data sent for parameter 'side' is not valid.")
    if not m.trading(sim.sim_time):
        raise reject(NOT_TRADING)
    if sim.amendments.count(order.order_id) >= MAX_AMENDMENTS - 1:
        raise reject(TOO_MANY_AMENDMENTS)

    strict = sim.cfg.strict_filters
    qty = validation.to_grid(strict, inst.qty, cmd.quantity, "quantity", "down")
    if qty <= 0:
        positive = validation.decimal_param(cmd.quantity, "quantity") > 0
        raise reject(E.PRECISION if positive else E.QTY_NOT_POSITIVE)
    if mode == "NONE":
        price = validation.to_grid(strict, inst.price, cmd.price, "price", "nearest")
    else:
        price = match_price(order.side, mode, m.last)
    if qty == order.qty and price == order.price:
        raise reject(SAME_ORDER)
    if order.executed and qty <= order.executed:
        return order, qty, price, "cancel"
    _check_filters(inst, m, order, qty, price)
    if order.time_in_force == "GTX" and matching.limit_marketable(order.side, price, m.last):
        return order, qty, price, "cancel"
    _check_margin(sim, acct, inst, m, order, qty, price)
    return order, qty, price, "amend"


def _check_filters(inst: "Instrument", m: "Market", order: Order, qty: int, price: int) -> None:
    """The filters of a new LIMIT order, on the amended values (validation.check_placement's)."""
    if qty < inst.min_qty:
        raise reject(E.QTY_BELOW_MIN)
    if qty > inst.max_qty:
        raise reject(E.QTY_ABOVE_MAX)
    if price < inst.min_price:
        raise reject(E.PRICE_BELOW_MIN)
    if price > inst.max_price:
        raise ExchangeError(-1013, "Filter failure: PRICE_FILTER")
    up, down = inst.percent_up, inst.percent_down
    if price * up.denominator > m.last * up.numerator:
        raise reject(E.PRICE_ABOVE_CAP)
    if price * down.denominator < m.last * down.numerator:
        raise reject(E.PRICE_BELOW_FLOOR)
    if not order.reduce_only and inst.notional(price, qty) < inst.min_notional:  # as check_placement
        raise ExchangeError(-5029, f"Order's notional must be no smaller than {inst.spec.min_notional}")


def _check_margin(sim: "Sim", acct: Account, inst: "Instrument", m: "Market", order: Order, qty: int,
                  price: int) -> None:
    """-2019 when the open notional the amendment adds needs more initial margin than is
    available (the order's current margin is already held; an order that only closes needs
    none), then the leverage bracket on the added quantity (validation.check_bracket, -2027)."""
    if order.closes:
        return
    added = inst.notional(price, qty - order.executed) - inst.notional(order.price, order.remaining)
    if added > 0 and money.div_round(added, acct.settings(inst.symbol).leverage) > sim.available(acct):
        raise reject(E.MARGIN_INSUFFICIENT)
    if qty > order.qty:  # the order itself is among the open orders the bracket counts: add the rest
        probe = copy.copy(order)
        probe.qty, probe.executed, probe.price = qty - order.qty, 0, price
        validation.check_bracket(acct, inst, m, probe, acct.position(inst.symbol, order.position_side).amt)

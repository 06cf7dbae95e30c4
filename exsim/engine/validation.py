"""Accepting an order as Binance does: parse the request onto the instrument's grid
(`build_order`), then check filters, account rules and margin (`check_placement`). Each
failure is the Binance error a bot would get; nothing here changes state.
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING

from . import errors as E
from . import brackets, matching, money
from .account import Account
from .errors import ExchangeError, bad_param, missing_param, reject
from .instrument import EXACT, Instrument
from .orders import (BUY, CONDITIONAL, EXECUTES_AS, LIMIT, MARKET, ORDER_TYPES, SELL, TIME_IN_FORCE,
                     TRAILING_STOP_MARKET, Order)
from .commands import NewOrder

if TYPE_CHECKING:
    from .market import Market
    from .sim import Sim

CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
PRICE_NEEDED = {"LIMIT", "STOP", "TAKE_PROFIT"}
STOP_NEEDED = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"}
NO_CALLBACK = Fraction(0)


def build_order(sim: "Sim", acct: Account, inst: Instrument, m: "Market", req: NewOrder) -> Order:
    """The order a request describes, on the instrument's grid; raises Binance's error for a
    malformed request (what a request says, before any account or market state is consulted)."""
    side, otype = req.side, req.type
    if side not in (BUY, SELL):
        raise ExchangeError(-1117, "Invalid side.")
    if otype not in ORDER_TYPES:
        raise ExchangeError(-1116, "Invalid orderType.")
    if otype in CONDITIONAL and not req.algo and not sim.cfg.conditional_on_order_endpoint:
        raise reject(E.CONDITIONAL_ON_ORDER)
    if req.position_side not in ("BOTH", "LONG", "SHORT"):
        raise bad_param("positionSide")
    if (req.position_side == "BOTH") == acct.dual_side:
        raise ExchangeError(-4061, "Order's position side does not match user's setting.")
    if acct.dual_side and req.reduce_only:
        raise ExchangeError(-1106, "Parameter 'reduceOnly' sent when not required.")
    tif = req.time_in_force or "GTC"
    if tif not in TIME_IN_FORCE:
        raise ExchangeError(-1115, "Invalid timeInForce.")
    if otype == LIMIT and not req.time_in_force:
        raise missing_param("timeInForce")
    if req.working_type not in ("MARK_PRICE", "CONTRACT_PRICE"):
        raise bad_param("workingType")
    if req.close_position and otype not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
        raise bad_param("closePosition")
    if req.close_position and req.quantity:
        raise ExchangeError(-1106, "Parameter 'quantity' sent when not required.")
    if req.close_position and req.reduce_only:
        raise ExchangeError(-1106, "Parameter 'reduceOnly' sent when not required.")
    if not req.close_position and not req.quantity:
        raise missing_param("quantity")
    if otype in PRICE_NEEDED and not req.price:
        raise missing_param("price")
    if otype == MARKET and req.price:
        raise ExchangeError(-1106, "Parameter 'price' sent when not required.")
    if otype in STOP_NEEDED and not req.stop_price:
        raise missing_param("triggerPrice" if req.algo else "stopPrice")  # each route's own name
    if otype == TRAILING_STOP_MARKET and not req.callback_rate:
        raise missing_param("callbackRate")
    cid = req.new_client_order_id or req.client_algo_id
    if cid is not None and not CLIENT_ID_RE.match(cid):
        raise reject(E.CLIENT_ID_INVALID)

    strict = sim.cfg.strict_filters
    qty = 0
    if req.quantity:
        qty = to_grid(strict, inst.qty, req.quantity, "quantity", "down")
        if qty <= 0:
            # a positive quantity finer than the step is a precision error on Binance (-1111);
            # only zero itself is "less than or equal to zero"
            raise reject(E.PRECISION if decimal_param(req.quantity, "quantity") > 0 else E.QTY_NOT_POSITIVE)
    price = to_grid(strict, inst.price, req.price, "price", "nearest") if req.price else 0
    stop = to_grid(strict, inst.price, req.stop_price, "stopPrice", "nearest") if req.stop_price else 0
    act = to_grid(strict, inst.price, req.activation_price, "activationPrice", "nearest") if req.activation_price else 0
    cb = NO_CALLBACK
    if otype == TRAILING_STOP_MARKET:
        cb = Fraction(decimal_param(req.callback_rate, "callbackRate"))
        if not Fraction(1, 10) <= cb <= 10:
            raise ExchangeError(-1130, "Data sent for parameter 'callbackRate' is not valid.")
    now = sim.sim_time
    # ids are drawn by the Sim once the order is accepted (a rejected one consumes none)
    order = Order(order_id=0, client_order_id=cid or "", account=acct.name,
                  symbol=inst.symbol, side=side,
                  type=EXECUTES_AS.get(otype, otype), orig_type=otype, time_in_force=tif,
                  qty=qty, price=price if otype in PRICE_NEEDED else 0, stop_price=stop,
                  reduce_only=req.reduce_only, close_position=req.close_position,
                  working_type=req.working_type, price_protect=req.price_protect,
                  activation_price=act, callback_rate=cb, time=now, update_time=now,
                  good_till_date=req.good_till_date, client_algo_id=req.client_algo_id or "",
                  position_side=req.position_side)
    if otype == TRAILING_STOP_MARKET and not act:
        order.trail_extreme = m.last  # active at once, from the current price
    return order

def check_placement(sim: "Sim", acct: Account, inst: Instrument, m: "Market", order: Order) -> None:
    """Binance's filters and account rules for accepting `order` now; raises the first that fails."""
    qty, price = order.qty, order.price
    if qty:
        max_qty = inst.market_max_qty if order.type == MARKET else inst.max_qty
        if qty < inst.min_qty:
            raise reject(E.QTY_BELOW_MIN)
        if qty > max_qty:
            raise reject(E.QTY_ABOVE_MAX)
    for ticks in (order.price, order.stop_price, order.activation_price):
        if ticks and ticks < inst.min_price:
            raise reject(E.PRICE_BELOW_MIN)
        if ticks and ticks > inst.max_price:
            raise ExchangeError(-1013, "Filter failure: PRICE_FILTER")
    if price and order.orig_type == LIMIT:
        up, down = inst.percent_up, inst.percent_down
        if price * up.denominator > m.last * up.numerator:
            raise reject(E.PRICE_ABOVE_CAP)
        if price * down.denominator < m.last * down.numerator:
            raise reject(E.PRICE_BELOW_FLOOR)
    ref = price or order.stop_price or m.last
    if qty and not order.reduce_only and inst.notional(ref, qty) < inst.min_notional:
        raise ExchangeError(-4164, f"Order's notional must be no smaller than "
                                   f"{inst.spec.min_notional} (unless you choose reduce only).")
    if order.client_order_id and (order.symbol, order.client_order_id) in acct.by_client_id:
        raise reject(E.CLIENT_ID_DUPLICATE)
    if sum(1 for o in acct.open_orders.values() if o.symbol == order.symbol) >= inst.max_num_orders:
        raise reject(E.MAX_ORDERS)
    pos = acct.position(inst.symbol, order.position_side)
    if order.reduce_only and (pos.amt == 0 or (pos.amt > 0) == (order.side == BUY)):
        raise reject(E.REDUCE_ONLY_REJECTED)
    if order.position_side != "BOTH" and order.closes and not order.close_position and order.qty > abs(pos.amt):
        raise reject(E.REDUCE_ONLY_REJECTED)  # hedge mode: closing more than the side holds
    if order.orig_type in CONDITIONAL and matching.would_trigger(order, m.last):
        raise reject(E.WOULD_TRIGGER)
    if order.orig_type == LIMIT and matching.limit_marketable(order.side, price, m.last):
        if order.time_in_force == "GTX":
            raise reject(E.GTX_REJECTED)
        if (order.time_in_force == "FOK" and sim.liquidity is not None
                and sim.liquidity.available(inst) < order.qty):
            raise reject(E.FOK_REJECTED)  # the last bar's volume cannot fill it all
    elif order.orig_type == LIMIT and order.time_in_force == "FOK":
        raise reject(E.FOK_REJECTED)
    check_margin(sim, acct, inst, m, order, pos.amt)
    check_bracket(acct, inst, m, order, pos.amt)


def check_bracket(acct: Account, inst: Instrument, m: "Market", order: Order, amt: int) -> None:
    """Refuse (-2027) an order that would take the position (with the same side's open orders)
    past the notional its leverage bracket allows (Binance's maxNotionalValue)."""
    if order.closes:
        return
    signed = order.qty if order.side == BUY else -order.qty
    pending = sum(o.remaining if o.side == BUY else -o.remaining for o in acct.open_orders.values()
                  if o.symbol == order.symbol and not o.closes and o.position_side == order.position_side
                  and (o.side == BUY) == (signed > 0))
    after = abs(amt + signed + pending)
    if after <= abs(amt):
        return
    px = max(order.price or order.stop_price or m.mark, m.mark)
    cap = brackets.max_notional(inst.brackets, acct.settings(inst.symbol).leverage)
    if inst.notional(px, after) > cap:
        raise ExchangeError(-2027, "Exceeded the maximum allowable position at current leverage.")


def check_margin(sim: "Sim", acct: Account, inst: Instrument, m: "Market", order: Order, amt: int) -> None:
    """Reject (-2019) when the exposure this order adds needs more initial margin than
    is available; the part that only reduces the position needs none."""
    if order.closes:
        return
    signed = order.qty if order.side == BUY else -order.qty
    adds = abs(amt + signed) - abs(amt) if (amt > 0) != (signed > 0) and amt else order.qty
    if adds <= 0:
        return
    px = order.price or order.stop_price or m.last
    need = money.div_round(inst.notional(max(px, m.last) if order.side == BUY else px, adds),
                           acct.settings(inst.symbol).leverage)
    if need > sim.available(acct):
        raise reject(E.MARGIN_INSUFFICIENT)

def to_grid(strict: bool, grid, text: str, name: str, rounding: str) -> int:
    n, exact = _on_grid(grid, text, name, rounding) if type(text) is str else _parse_on_grid(grid, text, name, rounding)
    if not exact and strict:
        raise reject(E.PRECISION)
    return n


def _parse_on_grid(grid, text: str, name: str, rounding: str) -> tuple[int, bool]:
    d = decimal_param(text, name)
    try:
        return grid.from_decimal(d, rounding)
    except (InvalidOperation, ValueError, ZeroDivisionError, OverflowError):
        raise bad_param(name) from None


# A bot sends the same few quantities and prices again and again, and parsing one (two Decimal
# contexts, a Decimal, its checks) was ~5 us of every order: the parse is a pure function of its
# arguments (a Grid is frozen), so its results are memoised; refusals raise and are not kept.
_on_grid = functools.lru_cache(maxsize=4096)(_parse_on_grid)


def decimal_param(text: str, name: str) -> Decimal:
    if not isinstance(text, str) or len(text) > 40:
        raise bad_param(name)
    with localcontext(EXACT):  # not the thread's context (see instrument.EXACT)
        try:
            d = Decimal(text)
        except (InvalidOperation, ValueError, TypeError):
            raise bad_param(name) from None
        # the exponent first, on the digits alone: '1e-999999999' must not reach arithmetic
        if not d.is_finite() or not -40 <= d.as_tuple().exponent <= 40:
            raise bad_param(name)
        if abs(d) > Decimal(10) ** 15:
            raise bad_param(name)
        if d < 0 and name in ("quantity",):
            raise reject(E.QTY_NOT_POSITIVE)
        if d < 0:
            raise bad_param(name)
    return d

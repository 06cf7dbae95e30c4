"""An order reaching the matching engine: what executes at once (a MARKET; a LIMIT marketable at
the price then, as taker) does, what the bar's volume cannot fill rests if GTC or expires, the
rest rests in the symbol's book. On acceptance, or later with latency (engine/latency.py): an
order in flight arrives during a price segment at the price the path has reached then."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import matching
from .account import Account
from .bars import path_points, point_at
from .market import Market
from .orders import BUY, CONDITIONAL, EXPIRED, LIMIT, MARKET, Order

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Sim


def arrive(sim: "Sim", acct: Account, m: Market, order: Order, last: int, announce: bool) -> None:
    """The order reaches the matching engine with the price at `last`: what executes at
    once does (a remainder the bar's volume cannot fill rests if GTC, else expires), the
    rest rests. `announce`: send its NEW first (it was not sent at acceptance)."""
    listed = not announce  # an order in flight is listed already
    if announce and not (order.type == MARKET or order.time_in_force in ("IOC", "FOK")
                         or matching.limit_marketable(order.side, order.price, last)):
        sim._list(acct, order)  # listed first, so its NEW counts it among the open orders
        listed = True
    if announce:
        sim._order_event(acct, order, "NEW")
    conditional = order.orig_type in CONDITIONAL
    if order.type == MARKET and not conditional:
        sim._fill(acct, m, order, sim.slippage.price(last, order.side == BUY), False)
        if order.is_open:
            sim._close(acct, order, EXPIRED, reason="not enough volume")
        return
    if order.orig_type == LIMIT and matching.limit_marketable(order.side, order.price, last):
        short = (order.time_in_force == "FOK" and sim.liquidity is not None
                 and sim.liquidity.available(m.inst) < order.remaining)
        if order.time_in_force == "GTX" or short:  # only possible for an order that arrived late
            sim._close(acct, order, EXPIRED, reason="would take" if not short else "not enough volume")
            return
        sim._fill(acct, m, order, matching.taker_price(order.side, last, order.price, sim.slippage.price),
                   False)
        if order.is_open and order.time_in_force in ("IOC", "FOK"):
            sim._close(acct, order, EXPIRED, reason="not enough volume")
        elif order.is_open and not listed:
            sim._list(acct, order)
        if order.is_open:
            m.book.add(order)
        return
    if order.time_in_force in ("IOC", "FOK"):
        sim._close(acct, order, EXPIRED)
        return
    if not listed:
        sim._list(acct, order)
    if sim.cfg.queue == "volume" and order.type == LIMIT and m.bar is not None:
        # the queue ahead: what the last bar traded per price level (matching.py)
        order.queue_ahead = m.bar[5] / (m.bar[2] - m.bar[3] + 1)
    m.book.add(order)

def deliver(sim: "Sim", m: Market, so: int, sh: int, sl: int, sc: int, now: int) -> None:
    """Orders in flight that arrive during this segment execute at the price the path has
    reached then (the three legs taking equal time), before the segment's matching; from
    the next segment on they are in the book like any other."""
    start = sim.sim_time
    points = path_points(so, sh, sl, sc)
    for arrival, order in sim.latency.due(m.inst.symbol, now):
        if not order.is_open:
            continue  # cancelled in flight
        frac = (arrival - start) / (now - start) if now > start else 1.0
        sim.sim_time = max(start, arrival)
        arrive(sim, sim.accounts[order.account], m, order, point_at(points, min(1.0, max(0.0, frac))), False)
        if order.order_id in m.book.orders:
            m.book.remove(order)  # matched from the next segment on, not on prices before it arrived
            m.arrived.append(order)
    sim.sim_time = start

"""How orders fill: every rule of the simulated matching engine is in this file.

Prices move along *segments*: a whole bar (ticks_per_bar = 1) or one of its intra-bar ticks.
A segment's path is O-L-H-C when it closes at or above its open and O-H-L-C when it closes
below (engine/bars.py: `path_points`), the three legs taking equal time. An order only ever
sees segments that start after it was accepted: the bar (or tick) whose close the bot reacted
to is already in the past, so nothing fills on prices the bot has already seen (no look-ahead).

| order                           | condition (on a later segment)  | fill price                          | side  |
|---------------------------------|---------------------------------|-------------------------------------|-------|
| MARKET                          | on arrival                      | last price, slipped against taker   | taker |
| LIMIT marketable on arrival     | BUY price >= last, SELL <= last | last price slipped, capped by limit | taker |
|   ... with GTX                  | rejected -5022                  |                                     |       |
|   ... IOC / FOK not marketable  | IOC -> EXPIRED, FOK -> -5021    |                                     |       |
| LIMIT resting                   | BUY low <= price, SELL high >= price | its own price (also on a gap)  | maker |
| STOP_MARKET BUY, TP_MARKET SELL | path rises to >= stopPrice      | stopPrice, or the open on a gap; slipped | taker |
| STOP_MARKET SELL, TP_MARKET BUY | path falls to <= stopPrice      | stopPrice, or the open on a gap; slipped | taker |
| STOP / TAKE_PROFIT (limit)      | same triggers, then a LIMIT at `price`: taker at the trigger price if marketable there, else rests and fills as above | | |
| TRAILING_STOP_MARKET SELL       | active once path >= activationPrice (or at once); triggers when it falls callbackRate % below the highest price since | trigger price, or the open on a gap; slipped | taker |
| TRAILING_STOP_MARKET BUY        | mirror: lowest price since activation, rise of callbackRate % | same | taker |

A conditional order whose trigger is already met on arrival is rejected with -2021.
Liquidity is unlimited (an order that fills, fills completely) unless `max_participation` caps
what the orders of a symbol may take of a bar's volume (engine/liquidity.py): the rest of a LIMIT
then rests PARTIALLY_FILLED and fills over later bars; a MARKET or IOC remainder expires.
`limit_fill = "through"`: a resting LIMIT fills only when the path trades one tick beyond its
price (BUY: low < price), still at its own price.
`queue = "volume"`: a LIMIT that starts resting has a queue ahead of it, estimated as the volume
the last bar traded per price level (its volume over the ticks of its range); each later segment
that reaches its price without trading through it trades its own volume per level there, and
the order fills once that has cleared the queue (a trade-through always fills: the level is gone).
When one segment could fill several orders they fill in path order (the fraction of the path
at which each condition is first met); ties go to the older order. When one segment reaches
orders of one account on both sides of the path (say a take-profit above and a stop below), the
assumed path decides which comes first: those fills are flagged `ambiguous`. With
`fill_resolution` (e.g. 1m under a 1h replay) the segments are the finer bars themselves, so the
path is data down to that resolution (the clock, engine/clock.py).
workingType MARK_PRICE and CONTRACT_PRICE both watch the replayed price: the bar close is
used as mark price.

Known limitations: the intra-bar path is an assumption (real paths can visit high and low in
either order and more than once); a bar that gaps over a resting LIMIT fills it at its own
price; with ticks_per_bar > 1 a segment that contains both the bar's high and low applies the
same O-H-L-C / O-L-H-C rule to that segment.
"""
from __future__ import annotations

import heapq
from fractions import Fraction
from typing import Callable, Iterable, NamedTuple, Optional

from .bars import path_points
from .orders import (BUY, LIMIT, MARKET, STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET,
                     TRAILING_STOP_MARKET, Order)

Points = tuple[int, int, int, int]


class Event(NamedTuple):
    frac: float  # position along the segment's path, 0..1
    kind: str  # "fill" (resting limit reached) or "trigger" (conditional order fires)
    price: int  # ticks: limit price for fills, execution price for triggers


# --- pure price-path geometry -------------------------------------------------------------

def touch(points: Points, level: Fraction | int, rising: bool, start: float = 0.0) -> Optional[tuple[float, Fraction | int]]:
    """First (fraction, price) at or after `start` where the path reaches `level`
    (from below when rising, from above when falling). The price is the level itself, or
    the path's price at `start` when it is already beyond the level (a gap)."""
    leg0 = min(int(start * 3), 2)
    for k in range(leg0, 3):
        a, b = points[k], points[k + 1]
        if k == leg0 and start > k / 3:
            t0 = start * 3 - k
            a = a + (b - a) * t0
        else:
            t0 = 0.0
        beyond_a = a >= level if rising else a <= level
        if beyond_a:
            return (k + t0) / 3, a
        beyond_b = b >= level if rising else b <= level
        if beyond_b:
            t = t0 + (1 - t0) * float((level - a) / (b - a))
            return (k + t) / 3, level
    return None


def stop_rises(order: Order) -> bool:
    """True when the order's trigger waits for the price to rise to stopPrice."""
    if order.orig_type in (STOP, STOP_MARKET):
        return order.side == BUY
    return order.side != BUY  # TAKE_PROFIT(_MARKET)


def would_trigger(order: Order, last: int) -> bool:
    """Trigger already met at the current price (placement is rejected with -2021)."""
    if order.orig_type == TRAILING_STOP_MARKET:
        return False
    return last >= order.stop_price if stop_rises(order) else last <= order.stop_price


def limit_marketable(side: str, limit: int, last: int) -> bool:
    return limit >= last if side == BUY else limit <= last


def taker_price(side: str, last: int, limit: int, slip: Callable[[int, bool], int]) -> int:
    """Price a taker gets at `last`: slipped against it, never beyond its limit (0 = none)."""
    price = slip(last, side == BUY)
    if limit:
        price = min(price, limit) if side == BUY else max(price, limit)
    return price


def trailing_event(order: Order, points: Points, start: float = 0.0) -> Optional[Event]:
    """Walk the path leg by leg keeping the best price since activation; updates
    `order.trail_extreme` as it goes (a trailing stop's only state)."""
    sell = order.side != BUY
    rate = order.callback_rate / 100
    ext = order.trail_extreme
    act = order.activation_price
    leg0 = min(int(start * 3), 2)
    for k in range(leg0, 3):
        a, b = points[k], points[k + 1]
        if not ext:  # not active yet
            if (a >= act) if sell else (a <= act):
                ext = a
            elif (b >= act) if sell else (b <= act):
                ext = act
            else:
                continue
        favourable = b > a if sell else b < a
        if favourable:
            ext = max(ext, b) if sell else min(ext, b)
            continue
        threshold = ext * (1 - rate) if sell else ext * (1 + rate)
        if (a <= threshold) if sell else (a >= threshold):
            order.trail_extreme = ext
            return Event(k / 3, "trigger", a)
        if (b <= threshold) if sell else (b >= threshold):
            order.trail_extreme = ext
            t = float((threshold - a) / (b - a))
            # the execution price sits on the tick grid, on the far side of the threshold
            price = int(threshold) if sell else -int(-threshold)
            return Event((k + t) / 3, "trigger", price)
    order.trail_extreme = ext
    return None


def next_event(order: Order, points: Points, start: float = 0.0, through: bool = False) -> Optional[Event]:
    """When (if at all) this segment fills or triggers the order (`through`: a LIMIT needs the
    price one tick beyond its own)."""
    if not order.triggered and order.orig_type == TRAILING_STOP_MARKET:
        return trailing_event(order, points, start)
    if not order.triggered and order.orig_type in (STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET):
        hit = touch(points, order.stop_price, stop_rises(order), start)
        return None if hit is None else Event(hit[0], "trigger", int(hit[1]))
    if order.type == LIMIT:
        level = order.price + (0 if not through else (-1 if order.side == BUY else 1))
        hit = touch(points, level, rising=order.side != BUY, start=start)
        return None if hit is None else Event(hit[0], "fill", order.price)
    return None


def rises(order: Order, ev: Event) -> bool:
    """Whether the path had to rise to reach this event (else fall)."""
    if ev.kind == "fill":
        return order.side != BUY  # a resting SELL is reached from below
    if order.orig_type == TRAILING_STOP_MARKET:
        return order.side == BUY
    return stop_rises(order)


# --- one segment --------------------------------------------------------------------------

class Executor:
    """What matching needs from the account side (implemented by Sim)."""

    through = False  # limit_fill = "through"
    level_volume = 0.0  # queue = "volume": base quantity this segment traded per price level
    queue = False

    def fill(self, order: Order, price: int, is_maker: bool, alt_price: int = 0) -> None:
        """`alt_price` (ticks, 0 = none): the fill is ambiguous; the other side's price."""
    def trigger(self, order: Order) -> None: ...
    def slip(self, ticks: int, is_buy: bool) -> int: ...


def match_segment(orders: Iterable[Order], o: int, h: int, l: int, c: int, ex: Executor) -> None:
    """Fill/trigger the open orders that this segment reaches, in path order."""
    points = path_points(o, h, l, c)
    through = ex.through
    heap: list[tuple[float, int, Event, Order]] = []
    for order in orders:
        ev = next_event(order, points, 0.0, through)
        if ev is not None:
            heap.append((ev.frac, order.order_id, ev, order))
    other_side = _both_sides(heap) if len(heap) > 1 else {}
    heapq.heapify(heap)
    while heap:
        frac, oid, ev, order = heapq.heappop(heap)
        if not order.is_open:  # cancelled/expired by an earlier fill in this segment
            continue
        # ambiguous: the price the account's first event on the other side of the path is at
        alt = other_side.get((order.account, not rises(order, ev)), 0)
        if ev.kind == "fill":
            if ex.queue and order.queue_ahead > 0 and not _trades_through(order, points, frac):
                order.queue_ahead -= ex.level_volume  # the level traded, the queue ahead shrinks
                if order.queue_ahead > 0:
                    continue
            ex.fill(order, order.price, True, alt)
            continue
        ex.trigger(order)
        if not order.is_open:
            continue
        if order.type == MARKET:
            ex.fill(order, ex.slip(ev.price, order.side == BUY), False, alt)
        elif limit_marketable(order.side, order.price, ev.price):
            ex.fill(order, taker_price(order.side, ev.price, order.price, ex.slip), False, alt)
        else:
            nxt = next_event(order, points, frac, through)
            if nxt is not None:
                heapq.heappush(heap, (nxt.frac, oid, nxt, order))


def _trades_through(order: Order, points: Points, start: float) -> bool:
    """The path goes one tick beyond the order's price after `start`."""
    level = order.price + (-1 if order.side == BUY else 1)
    return touch(points, level, rising=order.side != BUY, start=start) is not None


def _both_sides(events: list[tuple[float, int, Event, Order]]) -> dict[tuple[str, bool], int]:
    """For accounts with events in this segment that need the price to rise and others that need
    it to fall (the assumed path decided which came first): (account, rising) -> the price of
    that side's first event."""
    first: dict[tuple[str, bool], tuple[float, int]] = {}
    for frac, _, ev, order in events:
        key = (order.account, rises(order, ev))
        if key not in first or frac < first[key][0]:
            first[key] = (frac, ev.price)
    return {key: price for key, (_, price) in first.items() if (key[0], not key[1]) in first}

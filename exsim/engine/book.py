"""The order book of one symbol: every account's resting and conditional orders, matched
together in path order, ties going to the order accepted first.

Order ids are drawn in acceptance order across all accounts, so the book keyed by order id
is in acceptance order, and matching (engine/matching.py: path fraction, then order id)
resolves a tie by acceptance, never by account or hash order: the same requests give the same
fills in every run.
"""
from __future__ import annotations

from . import matching
from .orders import Order


class Book:
    __slots__ = ("orders",)

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}  # open orders by id (= acceptance order)

    def __bool__(self) -> bool:
        return bool(self.orders)

    def __len__(self) -> int:
        return len(self.orders)

    def add(self, order: Order) -> None:
        self.orders[order.order_id] = order

    def remove(self, order: Order) -> None:
        self.orders.pop(order.order_id, None)

    def clear(self) -> None:
        self.orders.clear()

    def match(self, o: int, h: int, l: int, c: int, ex: matching.Executor) -> None:
        """Fill and trigger what this price segment reaches (the executor books each fill)."""
        matching.match_segment(list(self.orders.values()), o, h, l, c, ex)

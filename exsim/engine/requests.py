"""Typed requests the engine accepts. The wire layer fills them from Binance parameters;
numbers stay decimal strings so the engine can place them on the tick/step grid exactly."""
from __future__ import annotations

from typing import Optional

import msgspec


class NewOrder(msgspec.Struct, kw_only=True):
    symbol: str
    side: str
    type: str
    quantity: Optional[str] = None
    price: Optional[str] = None
    stop_price: Optional[str] = None
    time_in_force: Optional[str] = None
    reduce_only: bool = False
    close_position: bool = False
    new_client_order_id: Optional[str] = None
    working_type: str = "CONTRACT_PRICE"
    activation_price: Optional[str] = None
    callback_rate: Optional[str] = None
    price_protect: bool = False
    position_side: str = "BOTH"
    good_till_date: int = 0
    algo: bool = False  # placed through /fapi/v1/algoOrder
    client_algo_id: Optional[str] = None

"""Commands: every state-changing request, typed. The wire layer translates HTTP and WebSocket
requests into these; `Sim.apply` (engine/sim.py) applies the engine's, the replay
(exsim/replay.py) the clock's. Numbers stay decimal strings so the engine can place them on
the tick/step grid exactly."""
from __future__ import annotations

from fractions import Fraction
from typing import Literal, Optional, Union

import msgspec


class NewOrder(msgspec.Struct, kw_only=True):
    """An order as a request describes it (POST /fapi/v1/order, /fapi/v1/algoOrder)."""

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


class Command(msgspec.Struct, kw_only=True, tag=True):
    pass


class PlaceOrder(Command):
    account: str
    order: NewOrder
    test: bool = False  # POST /fapi/v1/order/test: validate only, change nothing


class CancelOrder(Command):
    account: str
    symbol: str
    order_id: Optional[int] = None
    client_order_id: Optional[str] = None
    # "order": the /fapi/v1/order family (algo orders only once triggered), "algo": by algoId
    # or clientAlgoId on /fapi/v1/algoOrder, "any": whatever the ids name
    scope: Literal["order", "algo", "any"] = "any"


class CancelAll(Command):
    account: str
    symbol: str
    scope: Literal["order", "algo", "any"] = "any"  # allOpenOrders / algoOpenOrders / both


class SetLeverage(Command):
    account: str
    symbol: str
    leverage: int


class SetMarginType(Command):
    account: str
    symbol: str
    margin_type: str


class SetPositionMode(Command):
    account: str
    dual_side: bool


class ChangePositionMargin(Command):
    """POST /fapi/v1/positionMargin: move `amount` USDT into (kind 1) or out of (kind 2) an
    ISOLATED position's margin."""

    account: str
    symbol: str
    position_side: str
    amount: str
    kind: int  # 1 add, 2 reduce


class SetMultiAssets(Command):
    account: str
    multi_assets: bool


class ApplyFunding(Command):
    """A funding time of `symbol` passed: positions open now pay or receive amt x mark x rate."""

    symbol: str
    funding_time: int
    rate: Fraction


class ModifyOrder(Command):
    """Amend a resting LIMIT order's price and/or quantity (PUT /fapi/v1/order, PUT
    /fapi/v1/batchOrders, WebSocket order.modify); engine/amend.py has the rules. The result is
    the amended Order."""

    account: str
    symbol: str
    side: str
    quantity: Optional[str] = None
    price: Optional[str] = None
    order_id: Optional[int] = None
    client_order_id: Optional[str] = None
    price_match: str = "NONE"


class SetCountdownCancel(Command):
    """POST /fapi/v1/countdownCancelAll: in `countdown_time` ms of sim time, cancel the account's
    open orders of `symbol` (0: no countdown); engine/countdown.py. The result is countdown_time."""

    account: str
    symbol: str
    countdown_time: int


EngineCommand = Union[PlaceOrder, CancelOrder, CancelAll, SetLeverage, SetMarginType, SetPositionMode,
                      ChangePositionMargin, SetMultiAssets,
                      ApplyFunding, ModifyOrder, SetCountdownCancel]


# --- the clock's and the run's (applied by exsim/replay.py) ---------------------------------

class Step(Command):
    bars: int = 1


class SetSpeed(Command):
    speed: Union[float, Literal["max"]]


class Pause(Command):
    pass


class Resume(Command):
    pass


class Restart(Command):
    """A new run over [start, end) (None: the configured range)."""

    start: Optional[int] = None
    end: Optional[int] = None


class Applied(msgspec.Struct, frozen=True):
    """What a command did: its result (an Order, a list of them, a number...) and the events it
    caused, in order (already handed to the log's consumers)."""

    result: object
    events: list

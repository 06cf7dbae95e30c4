"""What the engine tells the outside world: one ordered log of typed events.

Every state change (an order accepted, updated, filled, canceled or expired; a trade; a
position or balance change; income; an account setting; a run starting or ending) is an event
with a global sequence number `seq` and the sim time `time`, appended to one `EventLog` in the
order it happened. Consumers (the DuckDB writer, the WebSocket fan-out, the user-data stream, a
journal) subscribe to the log and receive each batch of new events, in order, when the engine
publishes: after every command and after every clock batch. Adding a consumer is one call,
`log.subscribe(fn)`; no engine call site knows who listens.

Events hold snapshots (an order as it was after the change), never live engine objects, so a
consumer may keep them. Market data (bars, ticks) is not in the log: the clock hands price
segments to one `MarketListener` (the fan-out), whose fast paths are measured per bar.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable, Optional, Union

import msgspec

from .account import Income, Position, Trade
from .orders import Order

if TYPE_CHECKING:  # pragma: no cover
    from .bars import BarChunk

log = logging.getLogger("exsim.events")


class Event(msgspec.Struct, kw_only=True, tag=True, gc=False):
    seq: int = 0  # set by EventLog.append
    time: int = 0  # sim time, epoch ms


class RunStarted(Event):
    run_id: str
    created_ms: int
    params_json: str
    meta: dict


class RunStatus(Event):
    run_id: str
    status: str  # running | finished | stopped
    bars: int
    final_equity: Optional[float]


class OrderUpdated(Event):
    """An order changed: `exec_type` NEW, TRADE, CANCELED, EXPIRED, TRIGGERED or AMENDMENT
    (Binance's execution types, plus TRIGGERED for a conditional order that fired); `order`
    is its state after the change; `trade` the fill of a TRADE."""

    account: str
    exec_type: str
    order: Order
    reason: str = ""
    trade: Optional[Trade] = None
    # the account's open BUY and SELL orders in the symbol after the change, notional in money
    # units (Binance's b / a)
    bids: int = 0
    asks: int = 0


class IncomeBooked(Event):
    account: str
    income: Income


class AccountUpdated(Event):
    """Wallet and the positions that changed (Binance's ACCOUNT_UPDATE): `reason` ORDER,
    FUNDING_FEE, ...; `wallet` in money units; `positions` snapshots, `marks` the mark price
    (ticks) of each at that moment; `change` the balance change that is neither PnL nor
    commission (a funding payment)."""

    account: str
    reason: str
    wallet: int
    positions: list[Position]
    marks: list[int] = []
    change: int = 0
    isolated: int = 0  # the account's isolated wallets then (cross wallet = wallet - isolated)


class EquityMarked(Event):
    account: str
    equity: int  # money units


class LeverageChanged(Event):
    account: str
    symbol: str
    leverage: int


class MarginTypeChanged(Event):
    account: str
    symbol: str
    margin_type: str


class PositionModeChanged(Event):
    account: str
    dual_side: bool


class MultiAssetsChanged(Event):
    account: str
    multi_assets: bool


class MarginTransferred(Event):
    """positionMargin: `amount` (money units, > 0) added (type 1) or removed (type 2)."""

    account: str
    symbol: str
    position_side: str
    amount: int
    kind: int  # 1 add, 2 reduce


class MarginCalled(Event):
    """The margin ratio of a contract reached the margin-call threshold (engine/risk.py):
    positions snapshots with their marks and maintenance margins (money units); `cross_wallet`
    None for an isolated position."""

    account: str
    cross_wallet: Optional[int]
    positions: list[Position]
    marks: list[int]
    maint: list[int]


class FundingSettled(Event):
    """A funding time passed for `symbol` at `rate` (the incomes it caused follow)."""

    symbol: str
    rate: str  # exact decimal text


AnyEvent = Union[RunStarted, RunStatus, OrderUpdated, IncomeBooked, AccountUpdated, EquityMarked,
                 LeverageChanged, MarginTypeChanged, PositionModeChanged, FundingSettled, MultiAssetsChanged,
                 MarginTransferred, MarginCalled]
Consumer = Callable[[list], None]


class EventLog:
    """The outbox: events in order with their sequence numbers, handed to every consumer in
    batches. The log keeps nothing once published (consumers that want history keep it)."""

    def __init__(self) -> None:
        self.seq = 0
        self.pending: list[Event] = []
        self.consumers: list[Consumer] = []
        # wall time (perf_counter) of the first change in the batch being published: lets a
        # consumer measure change -> delivery (the user-data stream reports it)
        self.changed_at = 0.0

    def subscribe(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    def append(self, event: Event) -> Event:
        self.seq += 1
        event.seq = self.seq
        if not self.pending:
            self.changed_at = time.perf_counter()
        self.pending.append(event)
        return event

    def publish(self) -> list[Event]:
        """Hand the pending events to every consumer, in subscription order; returns them.
        A consumer that fails is logged and the others still get the batch: what the engine
        has accepted stays accepted, whoever could not take note of it."""
        events = self.pending
        if not events:
            return events
        self.pending = []
        for consumer in self.consumers:
            try:
                consumer(events)
            except Exception:
                log.exception("event consumer %r failed on events %d..%d", consumer, events[0].seq, events[-1].seq)
        return events


class MarketListener:
    """Receives every replayed price segment (fan-out to WebSocket streams). `sym` is the
    symbol's index in the Sim's markets."""

    active = False  # False lets the clock fast-forward bars nobody watches
    # True while every subscriber's payload of a closed bar is ready-made (on_bars can take
    # whole runs of bars at once): lets the clock replay in large steps
    takes_bulk = False
    bulk_step = 16  # bars per on_bars call the clock should offer

    def on_tick(self, sym: int, ts: int, o: int, h: int, l: int, c: int, v: float, final: bool) -> None: ...
    def on_chunk(self, chunk: "BarChunk") -> None:
        """The clock moved to this chunk: the bars on_tick reports next are its rows."""

    def on_bars(self, chunk: "BarChunk", i: int, j: int) -> bool:
        """Rows i..j-1 of the current chunk, each replayed as one closed bar, in one call
        instead of one on_tick each. False: not taken (the caller sends them one by one)."""
        return False

    def flush(self) -> None:
        """End of a clock batch: send what the ticks of this batch produced."""

    def flush_some(self) -> bool:
        """flush(), possibly in parts: True while some is left (the caller yields, calls again)."""
        self.flush()
        return False

    def batch_full(self) -> bool:
        """True: end the current "max" speed batch here (flushing more at once costs too much)."""
        return False

    def backlogged(self) -> bool:
        """True: a consumer is behind, the "max" speed clock waits before the next batch."""
        return False

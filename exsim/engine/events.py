"""What the engine tells the outside world. Sim calls these hooks; the store (batched DuckDB
writes) and the wire (WebSocket fan-out, later the user-data stream) implement them.
The defaults do nothing, so a Sim runs alone in a unit test."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .account import Account, Income, Trade
    from .bars import BarChunk
    from .orders import Order


class Recorder:
    """Audit trail sink: every call must be cheap (an append); persistence happens elsewhere."""

    def run_started(self, run_id: str, created_ms: int, params_json: str, meta: dict) -> None: ...
    def run_status(self, run_id: str, status: str, bars: int, final_equity: float | None) -> None: ...
    def fill(self, run_id: str, account: str, trade: "Trade", symbol: str, price: float, qty: float,
             realized: float, fee: float) -> None: ...
    def order(self, run_id: str, account: str, order: "Order", event: str, reason: str) -> None: ...
    def equity(self, run_id: str, account: str, ts: int, equity: float) -> None: ...
    def income(self, run_id: str, account: str, income: "Income") -> None: ...


class MarketListener:
    """Receives every replayed price segment (fan-out to WebSocket streams)."""

    active = False  # False lets the clock fast-forward bars nobody watches
    # True while every subscriber's payload of a closed bar is ready-made (on_bars can take
    # whole runs of bars at once): lets the clock replay in large steps
    takes_bulk = False
    bulk_step = 16  # bars per on_bars call the clock should offer

    def on_tick(self, ts: int, o: int, h: int, l: int, c: int, v: float, final: bool) -> None: ...
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


class AccountListener:
    """Order and account changes (for the user-data stream on the roadmap)."""

    def on_order(self, account: "Account", order: "Order", exec_type: str, trade: "Trade | None") -> None: ...
    def on_balance(self, account: "Account", reason: str) -> None: ...

"""Drive a Sim directly: bars in as prices, orders in as Binance-like keyword arguments."""
from __future__ import annotations

from decimal import Decimal

from exsim.config import Config
from exsim.engine.events import Recorder
from exsim.engine.requests import NewOrder
from exsim.engine.sim import Sim

MINUTE = 60_000


class ListRecorder(Recorder):
    """Keeps what the engine reports, so tests can check the audit trail."""

    def __init__(self) -> None:
        self.fills, self.orders, self.equity_points, self.incomes, self.status = [], [], [], [], []

    def fill(self, run_id, account, trade, symbol, price, qty, realized, fee):
        self.fills.append((trade, price, qty, realized, fee))

    def order(self, run_id, account, order, event, reason):
        self.orders.append((order.order_id, event, reason))

    def equity(self, run_id, account, ts, equity):
        self.equity_points.append((ts, equity))

    def income(self, run_id, account, income):
        self.incomes.append(income)

    def run_status(self, run_id, status, bars, final_equity):
        self.status.append((status, bars, final_equity))


def ticks(sim: Sim, price) -> int:
    n, exact = sim.market.inst.price.from_text(str(price), "nearest")
    assert exact, price
    return n


def new_sim(open_price=50000, **overrides) -> tuple[Sim, ListRecorder]:
    """A Sim on BTCUSDT (tick 0.10, step 0.001) with one flat bar at `open_price` revealed."""
    values = {"symbol": "BTCUSDT", "maker_bps": 1.0, "taker_bps": 2.0, "slippage_bps": 0.0}
    values.update(overrides)
    rec = ListRecorder()
    sim = Sim(Config(**values), rec)
    sim.start_run(0, "{}", {}, 0)
    sim.market.set_funding([], 0.0, 0)
    bar(sim, open_price, open_price, open_price, open_price)
    return sim, rec


def bar(sim: Sim, o, h, l, c, volume: float = 1.0) -> None:
    """Replay one whole bar after the last one."""
    ts = sim.sim_time
    t = [ticks(sim, x) for x in (o, h, l, c)]
    sim.on_segment(ts, *t, t[0], t[1], t[2], volume, True, ts + MINUTE)


def place(sim: Sim, account: str = "default", **params):
    """place(sim, side="BUY", type="LIMIT", quantity="0.01", price="49900", time_in_force="GTC")."""
    params.setdefault("symbol", "BTCUSDT")
    return sim.place_order(sim.accounts[account], NewOrder(**params))


def d(x) -> Decimal:
    return Decimal(str(x))

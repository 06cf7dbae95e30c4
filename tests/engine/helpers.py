"""Drive a Sim directly: bars in as prices, requests in as commands (Binance-like keyword
arguments), the event log read back."""
from __future__ import annotations

from decimal import Decimal

from exsim.config import Config
from exsim.engine import commands as C
from exsim.engine.events import EquityMarked, IncomeBooked, OrderUpdated, RunStatus
from exsim.engine.money import to_float
from exsim.engine.sim import Sim

MINUTE = 60_000


class ListRecorder:
    """A consumer of the engine's event log, kept in lists, so tests can check the audit trail."""

    def __init__(self) -> None:
        self.events, self.fills, self.orders, self.equity_points, self.incomes, self.status = [], [], [], [], [], []

    def __call__(self, events) -> None:
        self.events.extend(events)
        for ev in events:
            if isinstance(ev, OrderUpdated):
                order = ev.order
                self.orders.append((order.order_id, order.status if ev.exec_type == "TRADE" else ev.exec_type,
                                    ev.reason))
                if ev.trade is not None:
                    self.fills.append(ev.trade)
            elif isinstance(ev, EquityMarked):
                self.equity_points.append((ev.time, to_float(ev.equity)))
            elif isinstance(ev, IncomeBooked):
                self.incomes.append(ev.income)
            elif isinstance(ev, RunStatus):
                self.status.append((ev.status, ev.bars, ev.final_equity))


def ticks(sim: Sim, price) -> int:
    n, exact = sim.market.inst.price.from_text(str(price), "nearest")
    assert exact, price
    return n


def new_sim(open_price=50000, **overrides) -> tuple[Sim, ListRecorder]:
    """A Sim on BTCUSDT (tick 0.10, step 0.001) with one flat bar at `open_price` revealed."""
    values = {"symbol": "BTCUSDT", "maker_bps": 1.0, "taker_bps": 2.0, "slippage_bps": 0.0}
    values.update(overrides)
    rec = ListRecorder()
    sim = Sim(Config(**values))
    sim.log.subscribe(rec)
    sim.start_run(0, "{}", {}, 0)
    sim.market.set_funding([], 0.0, 0)
    bar(sim, open_price, open_price, open_price, open_price)
    return sim, rec


def bar(sim: Sim, o, h, l, c, volume: float = 1.0, sym: int = 0) -> None:
    """Replay one whole bar of symbol `sym` after the last one (a step of its own)."""
    ts = sim.sim_time
    t = [ticks(sim, x) for x in (o, h, l, c)]
    sim.on_segment(sym, ts, *t, t[0], t[1], t[2], volume, True, ts + MINUTE)
    sim.step_done(ts + MINUTE)
    sim.publish()


def place(sim: Sim, account: str = "default", test: bool = False, **params):
    """place(sim, side="BUY", type="LIMIT", quantity="0.01", price="49900", time_in_force="GTC")."""
    params.setdefault("symbol", "BTCUSDT")
    return sim.apply(C.PlaceOrder(account=account, order=C.NewOrder(**params), test=test)).result


def cancel(sim: Sim, acct, symbol: str, order_id=None, client_id=None):
    return sim.apply(C.CancelOrder(account=acct.name, symbol=symbol, order_id=order_id,
                                   client_order_id=client_id)).result


def cancel_all(sim: Sim, acct, symbol: str):
    return sim.apply(C.CancelAll(account=acct.name, symbol=symbol)).result


def set_leverage(sim: Sim, acct, symbol: str, leverage: int):
    return sim.apply(C.SetLeverage(account=acct.name, symbol=symbol, leverage=leverage)).result


def set_margin_type(sim: Sim, acct, symbol: str, margin_type: str):
    return sim.apply(C.SetMarginType(account=acct.name, symbol=symbol, margin_type=margin_type)).result


def d(x) -> Decimal:
    return Decimal(str(x))

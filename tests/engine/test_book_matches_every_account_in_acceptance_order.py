"""One book per symbol for every account: resting orders reached by the same bar fill in the
order they were accepted (order ids, then trade ids, follow acceptance across accounts, never
the accounts' names or config order); refused and test orders draw no id; account settings
are events; the event log's seq only ever increases."""
import pytest

from exsim.config import ApiKey
from exsim.engine import commands as C
from exsim.engine.errors import ExchangeError
from exsim.engine.events import LeverageChanged, MarginTypeChanged, OrderUpdated

from .helpers import bar, new_sim, place

NAMES = ["alpha", "mid", "zeta"]


def multi_sim(config_order):
    keys = [ApiKey(key=name, secret=f"{name}-secret") for name in config_order]
    return new_sim(50000, auth="verify", api_keys=keys)


def rest_buy(sim, account, price="49900", qty="0.01"):
    return place(sim, account=account, side="BUY", type="LIMIT", quantity=qty, price=price, time_in_force="GTC")


@pytest.mark.parametrize("config_order", [NAMES, NAMES[::-1], ["mid", "zeta", "alpha"]])
@pytest.mark.parametrize("placing_order", [["zeta", "alpha", "mid"], ["alpha", "mid", "zeta"], ["mid", "zeta", "alpha"]])
def test_same_price_same_bar_fills_in_acceptance_order_across_accounts(config_order, placing_order):
    sim, rec = multi_sim(config_order)
    orders = [rest_buy(sim, name) for name in placing_order]
    assert [o.order_id for o in orders] == [1, 2, 3]  # ids drawn in acceptance order
    assert {o.account for o in orders} == set(NAMES)
    bar(sim, 50000, 50010, 49800, 49950)  # one bar reaches all three at once
    assert all(o.status == "FILLED" for o in orders)
    fills = [(ev.account, ev.trade.trade_id, ev.trade.order_id) for ev in rec.events
             if isinstance(ev, OrderUpdated) and ev.trade is not None]
    assert fills == [(name, i + 1, i + 1) for i, name in enumerate(placing_order)]
    for o, name in zip(orders, placing_order):
        trade = sim.accounts[name].trades[-1]
        assert trade.order_id == o.order_id and trade.price == 499000 and trade.is_maker
        assert sim.accounts[name].position("BTCUSDT").amt == 10


def test_an_order_at_a_better_price_still_fills_first_on_the_path():
    """Acceptance order breaks ties only: on a falling leg the higher BUY is reached first."""
    sim, rec = multi_sim(NAMES)
    low = rest_buy(sim, "alpha", price="49850")  # accepted first, reached later on the path
    high = rest_buy(sim, "zeta", price="49950")
    bar(sim, 50000, 50000, 49800, 49820)  # down bar: O-H-L-C, the fall passes 49950 then 49850
    assert sim.accounts["zeta"].trades[0].trade_id == 1 and sim.accounts["zeta"].trades[0].order_id == high.order_id
    assert sim.accounts["alpha"].trades[0].trade_id == 2 and sim.accounts["alpha"].trades[0].order_id == low.order_id


def test_rejected_and_test_orders_draw_no_order_id_and_no_event():
    sim, rec = multi_sim(NAMES)
    first = rest_buy(sim, "zeta")
    seq = sim.log.seq
    with pytest.raises(ExchangeError) as err:  # above the PERCENT_PRICE cap (last x 1.05)
        place(sim, account="alpha", side="BUY", type="LIMIT", quantity="0.01", price="60000",
              time_in_force="GTC")
    assert err.value.code == -4016
    with pytest.raises(ExchangeError) as err:  # below min notional (100 USDT)
        place(sim, account="mid", side="BUY", type="LIMIT", quantity="0.001", price="49900", time_in_force="GTC")
    assert err.value.code == -4164
    probe = place(sim, account="mid", test=True, side="BUY", type="LIMIT", quantity="0.01", price="49900",
                  time_in_force="GTC")
    assert probe.order_id == 0 and probe.account == "mid"
    assert sim.log.seq == seq  # nothing refused or tested left a trace in the log
    assert not sim.accounts["mid"].orders and not sim.accounts["alpha"].orders
    second = rest_buy(sim, "alpha")
    third = rest_buy(sim, "mid")
    assert (first.order_id, second.order_id, third.order_id) == (1, 2, 3)
    bar(sim, 50000, 50010, 49800, 49950)
    trades = sorted((t.trade_id, t.order_id) for a in sim.accounts.values() for t in a.trades)
    assert trades == [(1, 1), (2, 2), (3, 3)]


def test_leverage_and_margin_type_changes_are_events_in_the_log():
    sim, rec = multi_sim(NAMES)
    applied = sim.apply(C.SetLeverage(account="mid", symbol="BTCUSDT", leverage=7))
    assert applied.result == 7
    assert [type(ev) for ev in applied.events] == [LeverageChanged]
    lev = applied.events[0]
    assert (lev.account, lev.symbol, lev.leverage, lev.time) == ("mid", "BTCUSDT", 7, sim.sim_time)
    applied = sim.apply(C.SetMarginType(account="zeta", symbol="BTCUSDT", margin_type="ISOLATED"))
    assert [type(ev) for ev in applied.events] == [MarginTypeChanged]
    mt = applied.events[0]
    assert (mt.account, mt.symbol, mt.margin_type) == ("zeta", "BTCUSDT", "ISOLATED")
    assert sim.accounts["mid"].position("BTCUSDT").leverage == 7
    assert sim.accounts["alpha"].position("BTCUSDT").leverage == 20  # other accounts untouched
    assert sim.accounts["zeta"].position("BTCUSDT").margin_type == "ISOLATED"
    assert sim.accounts["mid"].position("BTCUSDT").margin_type == "CROSSED"
    assert rec.events[-2:] == [lev, mt]  # the consumers got them too
    seq = sim.log.seq
    with pytest.raises(ExchangeError) as err:  # no change: refused, no event
        sim.apply(C.SetMarginType(account="zeta", symbol="BTCUSDT", margin_type="ISOLATED"))
    assert err.value.code == -4046 and sim.log.seq == seq


def test_every_event_has_a_strictly_increasing_seq():
    sim, rec = multi_sim(NAMES)
    sim.apply(C.SetLeverage(account="alpha", symbol="BTCUSDT", leverage=10))
    for name in ("zeta", "alpha", "mid"):
        rest_buy(sim, name)
    place(sim, account="mid", side="SELL", type="MARKET", quantity="0.01")
    place(sim, account="zeta", side="SELL", type="STOP_MARKET", quantity="0.01", stop_price="49700")
    bar(sim, 50000, 50010, 49600, 49650)  # fills the three limits, triggers the stop
    sim.apply(C.SetMarginType(account="mid", symbol="BTCUSDT", margin_type="ISOLATED"))
    sim.apply(C.CancelAll(account="alpha", symbol="BTCUSDT"))
    for _ in range(3):
        bar(sim, 49650, 49700, 49600, 49680)
    sim.finish_run("stopped")
    seqs = [ev.seq for ev in rec.events]
    assert len(seqs) > 20
    assert seqs == list(range(1, len(seqs) + 1))  # strictly increasing, no gap, from the run's start
    kinds = {type(ev).__name__ for ev in rec.events}
    assert {"RunStarted", "OrderUpdated", "AccountUpdated", "IncomeBooked", "EquityMarked",
            "LeverageChanged", "MarginTypeChanged", "RunStatus"} <= kinds
    times = [ev.time for ev in rec.events]
    assert times == sorted(times)  # and sim time never goes back

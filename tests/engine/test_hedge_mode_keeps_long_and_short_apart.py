"""Hedge mode (dualSidePosition): a LONG and a SHORT position on one symbol at once, each with
its own entry, PnL and fees; orders must name their side (-4061), reduceOnly is not sent
(-1106), a closing order cannot close more than its side holds (-2022); the mode cannot change
while positions or orders exist (-4068 / -4067)."""
from fractions import Fraction

import pytest

from exsim.engine import commands as C
from exsim.engine import money
from exsim.engine.errors import ExchangeError

from .helpers import bar, new_sim, place

F = Fraction


def code(fn, *args, **kw) -> int:
    with pytest.raises(ExchangeError) as e:
        fn(*args, **kw)
    return e.value.code


def dual(sim, on: bool):
    return sim.apply(C.SetPositionMode(account="default", dual_side=on)).result


def test_long_and_short_on_one_symbol_have_separate_pnl_and_fees():
    sim, _ = new_sim(50000)
    acct = sim.accounts["default"]
    assert dual(sim, True) is True
    assert code(place, sim, side="BUY", type="MARKET", quantity="0.1") == -4061  # BOTH in hedge mode
    place(sim, side="BUY", type="MARKET", quantity="0.1", position_side="LONG")  # fee 5000 * 0.0002 = 1
    place(sim, side="SELL", type="MARKET", quantity="0.2", position_side="SHORT")  # fee 2
    long, short = acct.position("BTCUSDT", "LONG"), acct.position("BTCUSDT", "SHORT")
    assert (long.amt, short.amt) == (100, -200)
    assert code(place, sim, side="SELL", type="MARKET", quantity="0.1", position_side="LONG",
                reduce_only=True) == -1106
    assert code(place, sim, side="SELL", type="MARKET", quantity="0.2", position_side="LONG") == -2022
    assert code(dual, sim, False) == -4068

    bar(sim, 50000, 51000, 50000, 51000)
    assert money.usdt(sim.unrealized(acct)) == F(1, 10) * 1000 - F(2, 10) * 1000  # +100 - 200
    place(sim, side="SELL", type="MARKET", quantity="0.1", position_side="LONG")  # +100, fee 1.02
    assert long.amt == 0 and short.amt == -200
    t = acct.trades[-1]
    assert (money.usdt(t.realized_pnl), money.usdt(t.fee), t.position_side) == (100, F("1.02"), "LONG")
    place(sim, side="BUY", type="MARKET", quantity="0.2", position_side="SHORT")  # -200, fee 2.04
    t = acct.trades[-1]
    assert (money.usdt(t.realized_pnl), money.usdt(t.fee), t.position_side) == (-200, F("2.04"), "SHORT")
    assert money.usdt(acct.wallet) == 100000 - 1 - 2 + 100 - F("1.02") - 200 - F("2.04")
    assert (long.realized, short.realized) == (money.of(100), money.of(-200))

    place(sim, side="BUY", type="LIMIT", quantity="0.1", price="50000", time_in_force="GTC", position_side="LONG")
    assert code(dual, sim, False) == -4067


def test_cross_liquidation_price_takes_both_sides_of_the_symbol():
    from exsim.engine import risk
    sim, _ = new_sim(50000, starting_balance=10000.0, maker_bps=0.0, taker_bps=0.0)
    acct = sim.accounts["default"]
    dual(sim, True)
    place(sim, side="BUY", type="MARKET", quantity="1", position_side="LONG")
    place(sim, side="SELL", type="MARKET", quantity="0.5", position_side="SHORT")
    long, short = acct.position("BTCUSDT", "LONG"), acct.position("BTCUSDT", "SHORT")
    # (WB + cum_L + cum_S - |L|*EP_L + |S|*EP_S) / (|L|*MMR_L + |S|*MMR_S - |L| + |S|), both in
    # the first tier at the price it gives: (10000 - 50000 + 25000) / (0.004 + 0.002 - 1 + 0.5)
    lp = F(10000 - 50000 + 25000) / (F(4, 1000) + F(2, 1000) - 1 + F(1, 2))
    assert risk.liquidation_price(sim, acct, long) == risk.liquidation_price(sim, acct, short) == lp
    assert lp == F(15000) / F("0.494")  # 30364.3724...
    bar(sim, 50000, 50000, 30000, 30500)
    assert long.amt == 0 and short.amt == 0 and acct.wallet >= 0

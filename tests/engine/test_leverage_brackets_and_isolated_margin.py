"""Leverage brackets refuse what Binance refuses (leverage above a tier's maximum for the
position's notional, -2027 / -4028); maintenance margin is notional x rate - cum of the tier;
an isolated position's margin can be added and removed (-4051 past its initial margin), and
its liquidation price moves by the hand-computed amount."""
from fractions import Fraction

import pytest

from exsim.engine import brackets as B
from exsim.engine import commands as C
from exsim.engine import money, risk
from exsim.engine.errors import ExchangeError

from .helpers import new_sim, place, set_leverage, set_margin_type

F = Fraction


def code(fn, *args, **kw) -> int:
    with pytest.raises(ExchangeError) as e:
        fn(*args, **kw)
    return e.value.code


def margin(sim, acct, amount: str, kind: int, side="BOTH"):
    return sim.apply(C.ChangePositionMargin(account=acct.name, symbol="BTCUSDT", position_side=side,
                                            amount=amount, kind=kind)).result


def test_default_btcusdt_tiers_and_their_cum_are_binances():
    b = B.for_symbol("BTCUSDT", [])
    assert [(x.initial_leverage, money.usdt(x.cap), x.mmr, money.usdt(x.cum)) for x in b[:4]] == [
        (125, 50000, F(4, 1000), 0), (100, 600000, F(5, 1000), 50), (75, 3000000, F(65, 10000), 950),
        (50, 12000000, F(1, 100), 11450)]
    # maintenance of 100k notional: 100000 * 0.005 - 50 = 450
    assert money.usdt(B.maintenance(b, money.of(100000))) == 450


def test_125x_is_capped_at_the_first_tier_notional():
    sim, _ = new_sim(50000)
    acct = sim.accounts["default"]
    assert set_leverage(sim, acct, "BTCUSDT", 125) == 125
    assert code(place, sim, side="BUY", type="MARKET", quantity="1.5") == -2027  # 75000 > 50000
    place(sim, side="BUY", type="MARKET", quantity="0.9")  # 45000: within
    # a resting order that would take it past the cap counts too
    assert code(place, sim, side="BUY", type="LIMIT", quantity="0.2", price="49000", time_in_force="GTC") == -2027
    assert code(set_leverage, sim, acct, "BTCUSDT", 126) == -4028


def test_raising_leverage_past_what_the_position_allows_is_refused():
    sim, _ = new_sim(50000)
    acct = sim.accounts["default"]
    place(sim, side="BUY", type="MARKET", quantity="1.5")  # 75000 at 20x
    assert code(set_leverage, sim, acct, "BTCUSDT", 125) == -2027
    assert set_leverage(sim, acct, "BTCUSDT", 100) == 100  # 100x allows up to 600000


def test_isolated_margin_add_and_remove_move_the_liquidation_price():
    sim, _ = new_sim(50000)
    acct = sim.accounts["default"]
    assert code(margin, sim, acct, "10", 1) == -4054  # no position yet
    set_margin_type(sim, acct, "BTCUSDT", "ISOLATED")
    set_leverage(sim, acct, "BTCUSDT", 10)
    place(sim, side="BUY", type="MARKET", quantity="0.5")
    pos = acct.position("BTCUSDT")
    assert money.usdt(pos.isolated_wallet) == 2495
    margin(sim, acct, "505", 1)
    assert money.usdt(pos.isolated_wallet) == 3000
    # LP = (3000 - 25000) / (0.5*0.004 - 0.5) = 44176.70682730...
    assert risk.liquidation_price(sim, acct, pos) == F(3000 - 25000) / (F(1, 2) * F(4, 1000) - F(1, 2))
    available = risk.available(sim, acct)
    assert money.usdt(available) == 100000 - 5 - 3000  # the cross wallet paid for it
    # removable: what is above the initial margin at mark (2500): 500
    assert code(margin, sim, acct, "500.01", 2) == -4051
    margin(sim, acct, "500", 2)
    assert money.usdt(pos.isolated_wallet) == 2500
    assert [(k, money.usdt(a)) for _, _, _, k, a in acct.margin_transfers] == [(1, 505), (2, 500)]
    assert code(margin, sim, acct, "1000000", 1) == -4050  # more than the cross balance
    assert code(margin, sim, acct, "0", 1) == -4055
    assert code(margin, sim, acct, "10", 1, side="LONG") == -4061  # one-way mode


def test_margin_type_of_a_cross_position_cannot_take_margin():
    sim, _ = new_sim(50000)
    acct = sim.accounts["default"]
    place(sim, side="BUY", type="MARKET", quantity="0.5")
    assert code(margin, sim, acct, "10", 1) == -4049

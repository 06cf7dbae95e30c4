"""Hand-computed PnL, fees and funding (long, short, partial close, flip, both fee sides).

Money is integer units of 1e-18 USDT: exact wherever the figures terminate within 18 decimals;
an average entry that does not (100.666..) is rounded to the unit when a part of it is closed.
"""
from fractions import Fraction

from exsim.engine.money import usdt

from .helpers import bar, new_sim, place

F = Fraction
UNIT = F(1, 10 ** 18)


def acct(sim):
    return sim.accounts["default"]


def close_to(units, b):
    return abs(float(usdt(units)) - float(b)) < 1e-9


def test_long_then_close_realizes_price_difference_minus_fees():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.1")  # fee 5000 * 0.0002 = 1.0
    bar(sim, 50000, 51000, 50000, 51000)
    place(sim, side="SELL", type="MARKET", quantity="0.1")  # pnl +100, fee 5100 * 0.0002 = 1.02
    a = acct(sim)
    assert usdt(a.trades[-1].realized_pnl) == 100
    assert close_to(a.wallet, 100000 + 100 - 1.0 - 1.02)
    assert a.position("BTCUSDT").amt == 0


def test_short_profits_when_price_falls_and_maker_fee_applies_to_resting_limit():
    sim, _ = new_sim(50000)
    place(sim, side="SELL", type="MARKET", quantity="0.2")  # taker fee 10000 * 0.0002 = 2.0
    place(sim, side="BUY", type="LIMIT", quantity="0.2", price="49000", time_in_force="GTC")
    bar(sim, 50000, 50000, 48900, 49100)  # maker fill at 49000: fee 9800 * 0.0001 = 0.98
    a = acct(sim)
    assert usdt(a.trades[-1].realized_pnl) == 200 and a.trades[-1].is_maker
    assert close_to(a.wallet, 100000 + 200 - 2.0 - 0.98)


def test_partial_close_realizes_on_average_entry():
    sim, _ = new_sim(100)
    # ETH-like numbers on BTCUSDT's grid: buy 1 @100 and 2 @101 -> avg 100.666..
    sim.instruments["BTCUSDT"] = sim.market.inst
    place(sim, side="BUY", type="MARKET", quantity="1")
    bar(sim, 101, 101, 101, 101)
    place(sim, side="BUY", type="MARKET", quantity="2")
    pos = acct(sim).position("BTCUSDT")
    inst = sim.market.inst
    assert pos.entry(inst) == F(302, 3)  # exact: adding to a position never rounds
    bar(sim, 102, 102, 102, 102)
    place(sim, side="SELL", type="MARKET", quantity="1", reduce_only=True)
    t = acct(sim).trades[-1]
    assert abs(usdt(t.realized_pnl) - (F(102) - F(302, 3))) <= UNIT / 2  # 1.3333... to 18 decimals
    assert acct(sim).position("BTCUSDT").amt == 2000
    assert abs(pos.entry(inst) - F(302, 3)) <= UNIT  # the 2 left keep (almost exactly) their entry
    fees = F(100) * F(2, 10000) + F(202) * F(2, 10000) + F(102) * F(2, 10000)
    assert usdt(acct(sim).wallet) == 100000 + usdt(t.realized_pnl) - fees  # the fees are exact


def test_flip_closes_all_then_opens_the_rest_at_the_fill_price():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.1")
    bar(sim, 50000, 49000, 49000, 49000)
    place(sim, side="SELL", type="MARKET", quantity="0.3")
    a = acct(sim)
    pos = a.position("BTCUSDT")
    assert usdt(a.trades[-1].realized_pnl) == -100  # 0.1 * (49000 - 50000)
    assert pos.amt == -200 and pos.entry(sim.market.inst) == 49000
    fees = F(5000) * F(2, 10000) + F(14700) * F(2, 10000)
    assert usdt(a.wallet) == 100000 - 100 - fees


def test_unrealized_pnl_and_equity_follow_mark_price():
    sim, _ = new_sim(50000)
    place(sim, side="SELL", type="MARKET", quantity="0.5")
    bar(sim, 50000, 50000, 48000, 48000)
    a = acct(sim)
    assert usdt(sim.unrealized(a)) == 1000  # -0.5 * (48000 - 50000)
    assert usdt(sim.equity(a)) == usdt(a.wallet) + 1000


def test_funding_long_pays_positive_rate_at_mark_and_is_recorded_as_income():
    sim, rec = new_sim(50000)
    sim.market.set_funding([(sim.sim_time + 60_000 * 2, 0.0001)], 0.0, sim.sim_time)
    place(sim, side="BUY", type="MARKET", quantity="0.1")
    wallet = acct(sim).wallet
    bar(sim, 50000, 50000, 50000, 50000)
    assert acct(sim).wallet == wallet  # not yet
    bar(sim, 50000, 52000, 50000, 52000)  # funding time reached at this bar's close: mark 52000
    pay = F(1, 10) * 52000 * F(1, 10000)  # 0.52
    assert usdt(acct(sim).wallet) == usdt(wallet) - pay
    funding = [i for i in acct(sim).incomes if i.income_type == "FUNDING_FEE"]
    assert len(funding) == 1 and usdt(funding[0].income) == -pay


def test_funding_short_receives_positive_rate():
    sim, _ = new_sim(50000)
    sim.market.set_funding([(sim.sim_time + 60_000, 0.0003)], 0.0, sim.sim_time)
    place(sim, side="SELL", type="MARKET", quantity="0.1")
    wallet = acct(sim).wallet
    bar(sim, 50000, 50000, 50000, 50000)
    assert usdt(acct(sim).wallet) == usdt(wallet) + F(1, 10) * 50000 * F(3, 10000)


def test_constant_funding_every_8h_without_funding_rows():
    sim, _ = new_sim(50000, funding_rate=0.0001)
    sim.market.set_funding([], 0.0001, 0)
    assert sim.market.next_funding_time == 8 * 3600 * 1000


def test_income_records_commission_and_realized_pnl_per_fill():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.1")
    bar(sim, 50000, 50500, 50000, 50500)
    place(sim, side="SELL", type="MARKET", quantity="0.1")
    kinds = [(i.income_type, usdt(i.income)) for i in acct(sim).incomes]
    assert kinds == [("COMMISSION", F(-1)), ("REALIZED_PNL", F(50)), ("COMMISSION", -F(5050) * F(2, 10000))]
    total = sum(i.income for i in acct(sim).incomes)
    assert usdt(acct(sim).wallet) == 100000 + usdt(total)

"""Hand-computed PnL, fees and funding (long, short, partial close, flip, both fee sides)."""
from fractions import Fraction

from .helpers import bar, new_sim, place

F = Fraction


def acct(sim):
    return sim.accounts["default"]


def close_to(a, b):
    return abs(float(a) - float(b)) < 1e-9


def test_long_then_close_realizes_price_difference_minus_fees():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.1")  # fee 5000 * 0.0002 = 1.0
    bar(sim, 50000, 51000, 50000, 51000)
    place(sim, side="SELL", type="MARKET", quantity="0.1")  # pnl +100, fee 5100 * 0.0002 = 1.02
    a = acct(sim)
    assert a.trades[-1].realized_pnl == 100
    assert close_to(a.wallet, 100000 + 100 - 1.0 - 1.02)
    assert a.position("BTCUSDT").amt == 0


def test_short_profits_when_price_falls_and_maker_fee_applies_to_resting_limit():
    sim, _ = new_sim(50000)
    place(sim, side="SELL", type="MARKET", quantity="0.2")  # taker fee 10000 * 0.0002 = 2.0
    place(sim, side="BUY", type="LIMIT", quantity="0.2", price="49000", time_in_force="GTC")
    bar(sim, 50000, 50000, 48900, 49100)  # maker fill at 49000: fee 9800 * 0.0001 = 0.98
    a = acct(sim)
    assert a.trades[-1].realized_pnl == 200 and a.trades[-1].is_maker
    assert close_to(a.wallet, 100000 + 200 - 2.0 - 0.98)


def test_partial_close_realizes_on_average_entry():
    sim, _ = new_sim(100)
    # ETH-like numbers on BTCUSDT's grid: buy 1 @100 and 2 @101 -> avg 100.666..
    sim.instruments["BTCUSDT"] = sim.market.inst
    place(sim, side="BUY", type="MARKET", quantity="1")
    bar(sim, 101, 101, 101, 101)
    place(sim, side="BUY", type="MARKET", quantity="2")
    pos = acct(sim).position("BTCUSDT")
    assert pos.entry == F(302, 3)
    bar(sim, 102, 102, 102, 102)
    place(sim, side="SELL", type="MARKET", quantity="1", reduce_only=True)
    t = acct(sim).trades[-1]
    assert t.realized_pnl == F(102) - F(302, 3)  # 1.3333...
    assert acct(sim).position("BTCUSDT").amt == 2000 and pos.entry == F(302, 3)
    fees = F(100) * F(2, 10000) + F(202) * F(2, 10000) + F(102) * F(2, 10000)
    assert acct(sim).wallet == 100000 + (F(102) - F(302, 3)) - fees


def test_flip_closes_all_then_opens_the_rest_at_the_fill_price():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.1")
    bar(sim, 50000, 49000, 49000, 49000)
    place(sim, side="SELL", type="MARKET", quantity="0.3")
    a = acct(sim)
    pos = a.position("BTCUSDT")
    assert a.trades[-1].realized_pnl == -100  # 0.1 * (49000 - 50000)
    assert pos.amt == -200 and pos.entry == 49000
    fees = F(5000) * F(2, 10000) + F(14700) * F(2, 10000)
    assert a.wallet == 100000 - 100 - fees


def test_unrealized_pnl_and_equity_follow_mark_price():
    sim, _ = new_sim(50000)
    place(sim, side="SELL", type="MARKET", quantity="0.5")
    bar(sim, 50000, 50000, 48000, 48000)
    a = acct(sim)
    assert sim.unrealized(a) == 1000  # -0.5 * (48000 - 50000)
    assert sim.equity(a) == a.wallet + 1000


def test_funding_long_pays_positive_rate_at_mark_and_is_recorded_as_income():
    sim, rec = new_sim(50000)
    sim.market.set_funding([(sim.sim_time + 60_000 * 2, 0.0001)], 0.0, sim.sim_time)
    place(sim, side="BUY", type="MARKET", quantity="0.1")
    wallet = acct(sim).wallet
    bar(sim, 50000, 50000, 50000, 50000)
    assert acct(sim).wallet == wallet  # not yet
    bar(sim, 50000, 52000, 50000, 52000)  # funding time reached at this bar's close: mark 52000
    pay = F(1, 10) * 52000 * F(1, 10000)  # 0.52
    assert acct(sim).wallet == wallet - pay
    funding = [i for i in acct(sim).incomes if i.income_type == "FUNDING_FEE"]
    assert len(funding) == 1 and funding[0].income == -pay


def test_funding_short_receives_positive_rate():
    sim, _ = new_sim(50000)
    sim.market.set_funding([(sim.sim_time + 60_000, 0.0003)], 0.0, sim.sim_time)
    place(sim, side="SELL", type="MARKET", quantity="0.1")
    wallet = acct(sim).wallet
    bar(sim, 50000, 50000, 50000, 50000)
    assert acct(sim).wallet == wallet + F(1, 10) * 50000 * F(3, 10000)


def test_constant_funding_every_8h_without_funding_rows():
    sim, _ = new_sim(50000, funding_rate=0.0001)
    sim.market.set_funding([], 0.0001, 0)
    assert sim.market.next_funding_time == 8 * 3600 * 1000


def test_income_records_commission_and_realized_pnl_per_fill():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.1")
    bar(sim, 50000, 50500, 50000, 50500)
    place(sim, side="SELL", type="MARKET", quantity="0.1")
    kinds = [(i.income_type, i.income) for i in acct(sim).incomes]
    assert kinds == [("COMMISSION", F(-1)), ("REALIZED_PNL", F(50)), ("COMMISSION", -F(5050) * F(2, 10000))]
    total = sum(i.income for i in acct(sim).incomes)
    assert acct(sim).wallet == 100000 + total

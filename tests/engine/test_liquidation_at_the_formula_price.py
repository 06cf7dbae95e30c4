"""Liquidation as Binance computes it, hand-computed to 1e-8: an isolated long closed at its
liquidation price with the clearance fee (capped by what is left of its margin), a MARGIN_CALL
first; a cross account whose BTC loss drains the margin its ETH position needed, both closed
(BTC first, at its formula price; ETH next, at the mark it is already past)."""
from decimal import Decimal
from fractions import Fraction

from exsim.config import Config
from exsim.engine import commands as C
from exsim.engine import money, risk
from exsim.engine.events import AccountUpdated, MarginCalled, OrderUpdated
from exsim.engine.sim import Sim

from .helpers import ListRecorder, bar, new_sim, place, set_margin_type, set_leverage

F = Fraction
MIN = 60_000


def usdt(units) -> Fraction:
    return money.usdt(units)


def near(x, expected, tol=Fraction(1, 10 ** 8)) -> bool:
    return abs(Fraction(x) - Fraction(Decimal(str(expected)))) <= tol


def test_isolated_long_is_closed_at_its_liquidation_price_and_pays_the_clearance_fee():
    sim, rec = new_sim(50000, starting_balance=100000.0)
    acct = sim.accounts["default"]
    set_margin_type(sim, acct, "BTCUSDT", "ISOLATED")
    set_leverage(sim, acct, "BTCUSDT", 10)
    place(sim, side="BUY", type="MARKET", quantity="0.5")  # notional 25000, taker fee 5
    pos = acct.position("BTCUSDT")
    # isolated wallet: initial margin 25000 / 10 = 2500, less the fee 5
    assert usdt(pos.isolated_wallet) == 2495
    assert usdt(acct.wallet) == 99995
    # LP = (WB + cum - q*EP) / (q*MMR - q) = (2495 + 0 - 25000) / (0.5*0.004 - 0.5) (bracket 1)
    lp = F(2495 - 25000) / (F(1, 2) * F(4, 1000) - F(1, 2))
    assert risk.liquidation_price(sim, acct, pos) == lp
    assert near(lp, "45190.76305221")

    bar(sim, 50000, 50000, 45000, 45500)  # the low passes LP: liquidated

    assert pos.amt == 0 and pos.isolated_wallet == 0
    liq = acct.trades[-1]
    assert liq.price == 451907  # LP rounded down to the 0.10 tick: 45190.70
    realized = F(1, 2) * (F("45190.7") - 50000)  # -2404.65
    assert usdt(liq.realized_pnl) == realized
    # clearance fee 0.0125 * 22595.35 = 282.44 is more than the 2495 - 2404.65 = 90.35 left
    assert usdt(liq.fee) == F("90.35")
    assert usdt(acct.wallet) == 97500  # the margin (2500 with the fee) is lost, nothing more
    assert usdt(sim.insurance_fund) == F("90.35")

    kinds = [type(e).__name__ for e in rec.events if isinstance(e, (MarginCalled, OrderUpdated))][-2:]
    assert kinds == ["MarginCalled", "OrderUpdated"]  # warned first, in the same bar
    call = next(e for e in rec.events if isinstance(e, MarginCalled))
    assert call.cross_wallet is None  # isolated: no cross wallet in the payload
    order = acct.orders[liq.order_id]
    assert order.orig_type == "LIQUIDATION" and order.client_order_id.startswith("autoclose-")
    assert order.status == "FILLED" and order.side == "SELL"
    kinds = [(i.income_type, usdt(i.income)) for i in acct.incomes if i.trade_id == liq.trade_id]
    assert kinds == [("REALIZED_PNL", realized), ("INSURANCE_CLEAR", F("-90.35"))]


def test_margin_call_price_is_the_formula_with_maintenance_over_80_percent():
    sim, rec = new_sim(50000)
    acct = sim.accounts["default"]
    set_margin_type(sim, acct, "BTCUSDT", "ISOLATED")
    set_leverage(sim, acct, "BTCUSDT", 10)
    place(sim, side="BUY", type="MARKET", quantity="0.5")
    # margin ratio 80%: (2495 + 0/0.8 - 25000) / (0.5 * 0.004 / 0.8 - 0.5) = 45236.18090452...
    call_at = F(2495 - 25000) / (F(1, 2) * F(5, 1000) - F(1, 2))
    assert near(call_at, "45236.18090452")
    bar(sim, 50000, 50000, 45237, 45300)  # above the call price: nothing
    assert not any(isinstance(e, MarginCalled) for e in rec.events)
    bar(sim, 45300, 45300, 45236, 45250)  # reaches it, stays above LP
    calls = [e for e in rec.events if isinstance(e, MarginCalled)]
    assert len(calls) == 1 and acct.position("BTCUSDT").amt == 500
    bar(sim, 45250, 45250, 45230, 45240)  # still there: not sent again
    assert len([e for e in rec.events if isinstance(e, MarginCalled)]) == 1


def two_symbols(balance: float) -> tuple[Sim, ListRecorder]:
    rec = ListRecorder()
    sim = Sim(Config(symbols=["BTCUSDT", "ETHUSDT"], starting_balance=balance, slippage_bps=0.0,
                     maker_bps=1.0, taker_bps=2.0))
    sim.log.subscribe(rec)
    sim.start_run(0, "{}", {}, 0)
    for m in sim.by_index:
        m.set_funding([], 0.0, 0)
    step(sim, (50000, 50000, 50000, 50000), (3000, 3000, 3000, 3000))
    return sim, rec


def step(sim: Sim, btc, eth) -> None:
    ts = sim.sim_time
    for sym, prices in ((0, btc), (1, eth)):
        inst = sim.by_index[sym].inst
        t = [inst.price.from_text(str(p), "nearest")[0] for p in prices]
        sim.on_segment(sym, ts, *t, t[0], t[1], t[2], 1.0, True, ts + MIN)
    sim.step_done(ts + MIN)
    sim.publish()


def test_cross_loss_in_one_symbol_liquidates_both_positions():
    sim, rec = two_symbols(10000.0)
    acct = sim.accounts["default"]
    sim.apply(C.PlaceOrder(account="default", order=C.NewOrder(symbol="BTCUSDT", side="BUY", type="MARKET",
                                                               quantity="0.9")))  # 45000, fee 9
    sim.apply(C.PlaceOrder(account="default", order=C.NewOrder(symbol="ETHUSDT", side="BUY", type="MARKET",
                                                               quantity="10")))  # 30000, fee 6
    assert usdt(acct.wallet) == 9985
    btc = acct.position("BTCUSDT")
    # cross LP of BTC: (WB - TMM(ETH) + UPNL(ETH) + cum - q*EP) / (q*MMR - q)
    #   = (9985 - 30000*0.004 + 0 + 0 - 45000) / (0.9*0.004 - 0.9)
    lp = (F(9985) - F(120) - 45000) / (F(9, 10) * F(4, 1000) - F(9, 10))
    assert risk.liquidation_price(sim, acct, btc) == lp
    assert near(lp, "39195.67157519")

    step(sim, (50000, 50000, 39000, 39500), (3000, 3000, 3000, 3000))

    fills = [t for t in acct.trades if sim.accounts["default"].orders[t.order_id].orig_type == "LIQUIDATION"]
    assert [t.symbol for t in fills] == ["BTCUSDT", "ETHUSDT"]  # the one that reached its price first
    b, e = fills
    assert b.price == 391956  # 39195.67157... down to the tick: 39195.60
    assert usdt(b.realized_pnl) == F(9, 10) * (F("39195.6") - 50000)  # -9723.96
    # left after the BTC close: 9985 - 9723.96 = 261.04 (its maintenance + ETH's, within a tick);
    # the fee (0.0125 * 35276.04 = 440.95) takes all of it
    assert usdt(b.fee) == F("261.04")
    # ETH's liquidation price on an empty wallet is 30000 / 9.96 = 3012.05, above the mark: the mark
    assert e.price == 300000 and e.realized_pnl == 0 and e.fee == 0
    assert acct.wallet == 0 and not any(p.amt for p in acct.positions.values())
    ups = [ev for ev in rec.events if isinstance(ev, AccountUpdated)]
    assert ups[-1].wallet == 0


def test_wallet_never_ends_below_zero_the_insurance_fund_takes_the_rest():
    sim, rec = two_symbols(10000.0)
    acct = sim.accounts["default"]
    sim.apply(C.PlaceOrder(account="default", order=C.NewOrder(symbol="BTCUSDT", side="BUY", type="MARKET",
                                                               quantity="0.9")))
    sim.apply(C.PlaceOrder(account="default", order=C.NewOrder(symbol="ETHUSDT", side="SELL", type="MARKET",
                                                               quantity="10")))
    # ETH rallies first (the short loses), then BTC crashes: whatever the gap, the wallet stops at 0
    step(sim, (50000, 50000, 50000, 50000), (3000, 3500, 3000, 3500))
    step(sim, (50000, 50000, 30000, 30000), (3500, 3500, 3500, 3500))
    assert acct.wallet >= 0
    assert not any(p.amt for p in acct.positions.values())
    assert sim.insurance_fund == sum(t.fee for t in acct.trades
                                     if acct.orders[t.order_id].orig_type == "LIQUIDATION") - sum(
        i.income for i in acct.incomes if i.income_type == "INSURANCE_CLEAR" and i.income > 0)

"""MARKET: fills at once at the last price, moved against the taker by slippage; taker fee."""
from fractions import Fraction

from exsim.engine.money import usdt

from .helpers import bar, new_sim, place


def test_market_buy_fills_at_last_close_with_taker_fee():
    sim, rec = new_sim(50000)
    order = place(sim, side="BUY", type="MARKET", quantity="0.01")
    assert order.status == "FILLED"
    trade = sim.accounts["default"].trades[-1]
    assert trade.price == 500000 and trade.qty == 10 and not trade.is_maker
    assert usdt(trade.fee) == Fraction(500) * Fraction(2, 10000)  # 0.10 USDT on 500 USDT notional
    assert usdt(sim.accounts["default"].wallet) == 100000 - Fraction(1, 10)


def test_market_uses_close_of_the_latest_bar():
    sim, _ = new_sim(50000)
    bar(sim, 50000, 50500, 49500, 50200)
    place(sim, side="SELL", type="MARKET", quantity="0.002")
    assert sim.accounts["default"].trades[-1].price == 502000


def test_slippage_moves_buy_up_and_sell_down_on_the_tick_grid():
    sim, _ = new_sim(50000, slippage_bps=1.0)  # 5.00 USDT at 50000
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    place(sim, side="SELL", type="MARKET", quantity="0.01")
    buy, sell = sim.accounts["default"].trades
    assert buy.price == 500050  # 50005.0
    assert sell.price == 499950  # 49995.0


def test_slippage_rounds_against_the_taker_when_off_grid():
    sim, _ = new_sim(50000.1, slippage_bps=0.3)  # 1.500003 USDT -> not on the 0.10 grid
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    place(sim, side="SELL", type="MARKET", quantity="0.01")
    buy, sell = sim.accounts["default"].trades
    assert buy.price == 500017  # 50001.5000.. rounded up to 50001.7? no: ceil(500001 * 1.00003) = 500017
    assert sell.price == 499985  # floor(500001 * 0.99997) = 499985


def test_market_order_records_fill_order_events_and_equity():
    sim, rec = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    assert len(rec.fills) == 1
    assert [e for _, e, _ in rec.orders] == ["NEW", "FILLED"]
    assert rec.equity_points and abs(rec.equity_points[-1][1] - (100000 - 0.1)) < 1e-9

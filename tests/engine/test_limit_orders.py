"""LIMIT: marketable on arrival fills as taker at the last price; resting fills at its own price
as maker when a later bar reaches it; GTX/IOC/FOK rules."""
import pytest

from exsim.engine.errors import ExchangeError

from .helpers import bar, cancel, cancel_all, new_sim, place, set_leverage, set_margin_type


def limit(sim, side, price, qty="0.01", tif="GTC", **kw):
    return place(sim, side=side, type="LIMIT", quantity=qty, price=str(price), time_in_force=tif, **kw)


def test_limit_buy_fills_when_low_touches_price():
    sim, _ = new_sim(50000)
    order = limit(sim, "BUY", 49900)
    assert order.status == "NEW"
    bar(sim, 50000, 50100, 49950, 50050)  # low 49950 > 49900: no fill
    assert order.status == "NEW"
    bar(sim, 50050, 50060, 49900, 49990)  # low == price: fills
    assert order.status == "FILLED"
    trade = sim.accounts["default"].trades[-1]
    assert trade.price == 499000 and trade.is_maker


def test_limit_sell_fills_when_high_touches_price_at_its_own_price():
    sim, _ = new_sim(50000)
    order = limit(sim, "SELL", 50300)
    bar(sim, 50000, 50800, 49990, 50700)
    assert order.status == "FILLED"
    assert sim.accounts["default"].trades[-1].price == 503000


def test_resting_limit_fills_at_own_price_when_bar_gaps_through_it():
    sim, _ = new_sim(50000)
    order = limit(sim, "BUY", 49900)
    bar(sim, 49000, 49100, 48900, 49050)  # opens far below the limit
    assert order.status == "FILLED"
    assert sim.accounts["default"].trades[-1].price == 499000


def test_marketable_limit_fills_at_once_as_taker_at_last_price():
    sim, _ = new_sim(50000)
    order = limit(sim, "BUY", 50100)
    assert order.status == "FILLED"
    trade = sim.accounts["default"].trades[-1]
    assert trade.price == 500000 and not trade.is_maker


def test_marketable_limit_taker_price_never_beyond_its_limit_with_slippage():
    sim, _ = new_sim(50000, slippage_bps=10)  # slipped price would be 50050
    limit(sim, "BUY", 50020)
    assert sim.accounts["default"].trades[-1].price == 500200


def test_gtx_that_would_take_is_rejected_5022():
    sim, _ = new_sim(50000)
    with pytest.raises(ExchangeError) as err:
        limit(sim, "BUY", 50000, tif="GTX")
    assert err.value.code == -5022
    assert not sim.accounts["default"].orders


def test_gtx_that_rests_is_a_maker_order():
    sim, _ = new_sim(50000)
    order = limit(sim, "BUY", 49000, tif="GTX")
    bar(sim, 50000, 50000, 48000, 48500)
    assert order.status == "FILLED" and sim.accounts["default"].trades[-1].is_maker


def test_ioc_not_marketable_expires_at_once():
    sim, _ = new_sim(50000)
    order = limit(sim, "BUY", 49000, tif="IOC")
    assert order.status == "EXPIRED" and order.executed == 0
    assert not sim.accounts["default"].open_orders


def test_ioc_marketable_fills():
    sim, _ = new_sim(50000)
    assert limit(sim, "SELL", 49000, tif="IOC").status == "FILLED"


def test_fok_not_marketable_is_rejected_5021():
    sim, _ = new_sim(50000)
    with pytest.raises(ExchangeError) as err:
        limit(sim, "BUY", 49000, tif="FOK")
    assert err.value.code == -5021


def test_no_fill_on_the_bar_the_bot_reacted_to():
    """The bar whose close the bot saw already happened: a limit placed after it only matches
    later bars, even if that bar's range covered the price."""
    sim, _ = new_sim(50000)
    bar(sim, 50000, 50000, 49000, 50000)  # went down to 49000 before the order existed
    order = limit(sim, "BUY", 49500)
    assert order.status == "NEW"
    bar(sim, 50000, 50100, 49800, 50000)
    assert order.status == "NEW"


def test_cancelled_limit_never_fills():
    sim, _ = new_sim(50000)
    order = limit(sim, "BUY", 49900)
    cancel(sim, sim.accounts["default"], "BTCUSDT", order.order_id, None)
    bar(sim, 50000, 50000, 49000, 49500)
    assert order.status == "CANCELED" and not sim.accounts["default"].trades

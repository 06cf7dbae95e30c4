"""Stops, take-profits and trailing stops: trigger on a later bar's path, execute at the stop
(or the open on a gap) plus slippage, or become a LIMIT."""
import pytest

from exsim.engine.errors import ExchangeError

from .helpers import bar, cancel, new_sim, place


def test_stop_market_sell_triggers_at_stop_price():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    stop = place(sim, side="SELL", type="STOP_MARKET", stop_price="49500", quantity="0.01", reduce_only=True)
    bar(sim, 50000, 50100, 49600, 49700)
    assert stop.status == "NEW"
    bar(sim, 49700, 49800, 49000, 49100)
    assert stop.status == "FILLED" and stop.triggered
    trade = sim.accounts["default"].trades[-1]
    assert trade.price == 495000 and not trade.is_maker
    assert sim.accounts["default"].position("BTCUSDT").amt == 0


def test_stop_market_fills_at_open_on_a_gap():
    sim, _ = new_sim(50000)
    stop = place(sim, side="SELL", type="STOP_MARKET", stop_price="49500", quantity="0.01")
    bar(sim, 48000, 48200, 47900, 48100)  # gapped below the stop
    assert stop.status == "FILLED"
    assert sim.accounts["default"].trades[-1].price == 480000


def test_stop_market_buy_triggers_when_price_rises_with_slippage():
    sim, _ = new_sim(50000, slippage_bps=2)
    stop = place(sim, side="BUY", type="STOP_MARKET", stop_price="50500", quantity="0.01")
    bar(sim, 50000, 50600, 49990, 50550)
    assert stop.status == "FILLED"
    assert sim.accounts["default"].trades[-1].price == 505101  # ceil(505000 * 1.0002)


def test_take_profit_market_sell_triggers_when_price_rises():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    tp = place(sim, side="SELL", type="TAKE_PROFIT_MARKET", stop_price="51000", close_position=True)
    bar(sim, 50000, 51200, 49990, 51100)
    assert tp.status == "FILLED" and tp.executed == 10
    assert sim.accounts["default"].trades[-1].price == 510000


def test_stop_that_would_trigger_immediately_is_rejected_2021():
    sim, _ = new_sim(50000)
    for kw in ({"side": "SELL", "type": "STOP_MARKET", "stop_price": "50100"},
               {"side": "BUY", "type": "STOP_MARKET", "stop_price": "49900"},
               {"side": "SELL", "type": "TAKE_PROFIT_MARKET", "stop_price": "49900"}):
        with pytest.raises(ExchangeError) as err:
            place(sim, quantity="0.01", **kw)
        assert err.value.code == -2021


def test_stop_limit_becomes_limit_and_rests_when_not_marketable():
    sim, _ = new_sim(50000)
    order = place(sim, side="BUY", type="STOP", stop_price="50500", price="50400", quantity="0.01",
                  time_in_force="GTC")
    bar(sim, 50000, 50600, 50450, 50550)  # up bar: O-L-H-C path, triggers at 50500, never back to 50400
    assert order.triggered and order.status == "NEW" and order.type == "LIMIT"
    bar(sim, 50550, 50560, 50300, 50350)
    assert order.status == "FILLED"
    trade = sim.accounts["default"].trades[-1]
    assert trade.price == 504000 and trade.is_maker


def test_stop_limit_marketable_at_trigger_fills_as_taker_at_trigger_price():
    sim, _ = new_sim(50000)
    order = place(sim, side="SELL", type="STOP", stop_price="49500", price="49400", quantity="0.01",
                  time_in_force="GTC")
    bar(sim, 50000, 50010, 49000, 49100)
    assert order.status == "FILLED"
    trade = sim.accounts["default"].trades[-1]
    assert trade.price == 495000 and not trade.is_maker


def test_trailing_stop_sell_follows_the_high_and_triggers_on_callback():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    trail = place(sim, side="SELL", type="TRAILING_STOP_MARKET", callback_rate="1", quantity="0.01",
                  reduce_only=True)
    bar(sim, 50000, 52000, 49990, 51900)  # up: extreme 52000, dips only to 49990 before the high
    assert trail.status == "NEW" and trail.trail_extreme == 520000
    bar(sim, 51900, 51950, 51500, 51550)  # 1% below 52000 is 51480: not reached
    assert trail.status == "NEW"
    bar(sim, 51550, 51600, 51000, 51100)  # crosses 51480
    assert trail.status == "FILLED"
    assert sim.accounts["default"].trades[-1].price == 514800


def test_trailing_stop_waits_for_activation_price():
    sim, _ = new_sim(50000)
    trail = place(sim, side="SELL", type="TRAILING_STOP_MARKET", callback_rate="2", quantity="0.01",
                  activation_price="51000")
    bar(sim, 50000, 50500, 48000, 48100)  # a 4% drop before activation does nothing
    assert trail.status == "NEW" and trail.trail_extreme == 0
    bar(sim, 48100, 51000, 48050, 50900)
    assert trail.trail_extreme == 510000


def test_conditional_reduce_orders_stay_open_when_flat_as_on_binance():
    """Binance keeps closePosition / reduceOnly stops after the position closes (its own
    Binance-docs/Binance_Futures_python#100: the other leg stays open), so a bot's DELETE of its
    stop after an exit succeeds; only a trigger with nothing to reduce expires it."""
    sim, rec = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    stop = place(sim, side="SELL", type="STOP_MARKET", stop_price="49000", close_position=True)
    reduce = place(sim, side="SELL", type="STOP_MARKET", stop_price="48500", quantity="0.01", reduce_only=True)
    place(sim, side="SELL", type="MARKET", quantity="0.01")
    assert (stop.status, reduce.status) == ("NEW", "NEW")
    assert cancel(sim, sim.accounts["default"], "BTCUSDT", stop.order_id).status == "CANCELED"
    bar(sim, 50000, 50000, 48000, 48100)  # the reduce-only stop triggers with no position
    assert reduce.status == "EXPIRED"
    assert (reduce.order_id, "EXPIRED", "reduce-only order would open a position") in rec.orders


def test_reduce_only_limit_expires_when_the_position_closes():
    sim, rec = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    tp = place(sim, side="SELL", type="LIMIT", time_in_force="GTC", price="51000", quantity="0.01", reduce_only=True)
    place(sim, side="SELL", type="MARKET", quantity="0.01")
    assert tp.status == "EXPIRED"


def test_conditional_on_order_endpoint_can_be_refused_like_binance_4120():
    sim, _ = new_sim(50000, conditional_on_order_endpoint=False)
    with pytest.raises(ExchangeError) as err:
        place(sim, side="SELL", type="STOP_MARKET", stop_price="49000", quantity="0.01")
    assert err.value.code == -4120

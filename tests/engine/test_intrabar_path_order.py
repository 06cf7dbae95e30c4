"""When one bar reaches several orders, fills follow the documented path:
O-H-L-C for a down bar, O-L-H-C for an up (or flat) bar; ties go to the older order."""
from exsim.engine.bars import path_points, tick_segments

from .helpers import bar, new_sim, place


def limit(sim, side, price):
    return place(sim, side=side, type="LIMIT", quantity="0.01", price=str(price), time_in_force="GTC")


def test_down_bar_visits_high_before_low():
    sim, _ = new_sim(50000)
    buy = limit(sim, "BUY", 49500)
    sell = limit(sim, "SELL", 50500)
    bar(sim, 50000, 50600, 49400, 49600)  # close < open
    trades = sim.accounts["default"].trades
    assert [t.order_id for t in trades] == [sell.order_id, buy.order_id]


def test_up_bar_visits_low_before_high():
    sim, _ = new_sim(50000)
    sell = limit(sim, "SELL", 50500)
    buy = limit(sim, "BUY", 49500)
    bar(sim, 50000, 50600, 49400, 50400)  # close > open
    assert [t.order_id for t in sim.accounts["default"].trades] == [buy.order_id, sell.order_id]


def test_bracket_on_an_up_bar_stops_out_before_take_profit():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    sl = place(sim, side="SELL", type="STOP_MARKET", stop_price="49500", close_position=True)
    tp = place(sim, side="SELL", type="TAKE_PROFIT_MARKET", stop_price="50500", close_position=True)
    bar(sim, 50000, 50600, 49400, 50400)
    assert sl.status == "FILLED" and tp.status == "EXPIRED"
    assert sim.accounts["default"].position("BTCUSDT").amt == 0


def test_equal_prices_fill_the_older_order_first():
    sim, _ = new_sim(50000)
    first = limit(sim, "BUY", 49500)
    second = limit(sim, "BUY", 49500)
    bar(sim, 50000, 50000, 49000, 49200)
    assert [t.order_id for t in sim.accounts["default"].trades] == [first.order_id, second.order_id]


def test_path_points_rule():
    assert path_points(10, 15, 5, 12) == (10, 5, 15, 12)
    assert path_points(10, 15, 5, 8) == (10, 15, 5, 8)


def test_tick_segments_cover_the_bar_and_end_at_close():
    segs = tick_segments(100, 130, 90, 120, 4)
    assert len(segs) == 4 and segs[0][0] == 100 and segs[-1][3] == 120
    assert max(s[1] for s in segs) == 130 and min(s[2] for s in segs) == 90
    for a, b in zip(segs, segs[1:]):
        assert a[3] == b[0]  # continuous path

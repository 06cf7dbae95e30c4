"""Fill-realism options, each off by default, on hand-built bars:
- fill_resolution: a 1h bar whose 1m bars reach the take-profit before the stop (the opposite of
  the assumed path for that bar) fills the take-profit;
- a bar reaching a take-profit and a stop of one account flags the fill ambiguous;
- limit_fill = "through": a touch does not fill, a trade one tick beyond does;
- max_participation: a partial-fill sequence with exact quantities and fees;
- latency_ms: an order sent at a bar's close reaches the book in the next bar."""
from fractions import Fraction

from exsim.config import Config
from exsim.engine import commands as C
from exsim.engine import money
from exsim.engine.bars import BarChunk
from exsim.engine.clock import Clock
from exsim.engine.events import OrderUpdated
from exsim.engine.sim import Sim

from .helpers import ListRecorder, bar, new_sim, place

HOUR, MIN = 3_600_000, 60_000
T0 = 1_704_067_200_000


def hourly(**overrides) -> tuple[Sim, Clock, ListRecorder]:
    cfg = Config(symbol="BTCUSDT", interval="1h", slippage_bps=0.0, **overrides)
    sim = Sim(cfg)
    rec = ListRecorder()
    sim.log.subscribe(rec)
    sim.start_run(0, "{}", {}, T0)
    sim.market.set_funding([], 0.0, T0)
    return sim, Clock(sim, HOUR, 1, 0.0), rec


def chunk(bars, subs=None) -> BarChunk:
    """bars: (hour, o, h, l, c) in ticks (0.10), volume 10 each; subs: per bar its 1m bars."""
    return BarChunk(ts=[T0 + b[0] * HOUR for b in bars], open=[b[1] for b in bars], high=[b[2] for b in bars],
                    low=[b[3] for b in bars], close=[b[4] for b in bars], volume=[10.0] * len(bars),
                    sub=subs)


def feed(*chunks):
    async def gen():
        for c in chunks:
            yield c
    return gen()


def protect_long(sim):
    """A long 0.1 at 50000 with a take-profit at 50100 and a stop at 49900 (both close-all)."""
    place(sim, side="BUY", type="MARKET", quantity="0.1")
    place(sim, side="SELL", type="LIMIT", quantity="0.1", price="50100", time_in_force="GTC", reduce_only=True)
    place(sim, side="SELL", type="STOP_MARKET", stop_price="49900", close_position=True)


# the second hour: an up bar (close >= open), so the assumed path is O-L-H-C: the stop first;
# its 1m bars go up to 50150 first and only later down to 49850
UP_BAR = (1, 500000, 501500, 498500, 500200)
MINUTES = [(500000, 501500, 500000, 501000, 1.0), (501000, 501000, 499000, 499500, 1.0),
           (499500, 499500, 498500, 499000, 1.0), (499000, 500200, 499000, 500200, 7.0)]


async def run_second_hour(**overrides):
    sim, clock, rec = hourly(**overrides)
    first = (0, 500000, 500000, 500000, 500000)
    subs = [[(500000, 500000, 500000, 500000, 10.0)], MINUTES] if overrides.get("fill_resolution") else None
    await clock.load(feed(chunk([first, UP_BAR], subs)), 2)
    protect_long(sim)
    await clock.step(1)
    return sim, rec


async def test_assumed_path_takes_the_stop_first():
    sim, _ = await run_second_hour()
    exit_fill = sim.accounts["default"].trades[-1]
    assert exit_fill.price == 499000 and not exit_fill.is_maker  # the stop, at 49900
    assert exit_fill.ambiguous  # take-profit and stop both inside the bar: the path decided
    assert exit_fill.alt_price == 501000  # the other path: the take-profit's price
    assert sim.ambiguous_fills == 1


async def test_refinement_on_1m_bars_takes_the_take_profit_first():
    sim, rec = await run_second_hour(fill_resolution="1m")
    acct = sim.accounts["default"]
    exit_fill = acct.trades[-1]
    assert exit_fill.price == 501000 and exit_fill.is_maker  # the take-profit at 50100
    assert not exit_fill.ambiguous  # each 1m bar reached one side only
    assert acct.position("BTCUSDT").amt == 0
    # the stop triggered later with nothing to close: it expired instead of opening a short
    stop = [o for o in acct.orders.values() if o.orig_type == "STOP_MARKET"][0]
    assert stop.status == "EXPIRED"
    # streams still see hour bars: partial updates of the 1h bar, then the closed bar
    assert sim.market.bar[0] == T0 + HOUR and sim.market.bar_final


def test_through_needs_a_trade_beyond_the_limit():
    sim, _ = new_sim(50000, limit_fill="through")
    order = place(sim, side="BUY", type="LIMIT", quantity="0.1", price="49900", time_in_force="GTC")
    bar(sim, 50000, 50000, 49900, 49950)  # touches 49900: no fill
    assert order.status == "NEW"
    bar(sim, 49950, 49950, 49890, 49950)  # trades at 49899.9 or lower: fills at its own price
    assert order.status == "FILLED" and sim.accounts["default"].trades[-1].price == 499000


def test_touch_is_the_default():
    sim, _ = new_sim(50000)
    order = place(sim, side="BUY", type="LIMIT", quantity="0.1", price="49900", time_in_force="GTC")
    bar(sim, 50000, 50000, 49900, 49950)
    assert order.status == "FILLED"


def test_volume_cap_fills_a_large_limit_over_later_bars():
    # bars of volume 1.0 BTC; 10% participation: 0.1 BTC a bar
    sim, rec = new_sim(50000, max_participation=0.1)
    order = place(sim, side="BUY", type="LIMIT", quantity="0.25", price="49900", time_in_force="GTC")
    bar(sim, 50000, 50000, 49800, 49850, volume=1.0)
    assert (order.status, order.executed) == ("PARTIALLY_FILLED", 100)
    bar(sim, 49850, 49900, 49800, 49850, volume=1.0)
    assert (order.status, order.executed) == ("PARTIALLY_FILLED", 200)
    bar(sim, 49850, 49900, 49800, 49850, volume=0.6)  # 0.06 left in this bar: 0.05 needed
    assert (order.status, order.executed) == ("FILLED", 250)
    fills = [t for t in sim.accounts["default"].trades if t.order_id == order.order_id]
    assert [t.qty for t in fills] == [100, 100, 50]
    # maker fee 1 bp of 4990 / 4990 / 2495 USDT
    assert [money.usdt(t.fee) for t in fills] == [Fraction("0.499"), Fraction("0.499"), Fraction("0.2495")]
    statuses = [(ev.exec_type, ev.order.status) for ev in rec.events if isinstance(ev, OrderUpdated)
                and ev.order.order_id == order.order_id]
    assert statuses == [("NEW", "NEW"), ("TRADE", "PARTIALLY_FILLED"), ("TRADE", "PARTIALLY_FILLED"),
                        ("TRADE", "FILLED")]


def test_volume_cap_expires_a_market_remainder_and_refuses_fok():
    sim, _ = new_sim(50000, max_participation=0.1)  # the revealed bar traded 1.0: 0.1 available
    order = place(sim, side="BUY", type="MARKET", quantity="0.3")
    assert (order.status, order.executed) == ("EXPIRED", 100)
    try:
        place(sim, side="BUY", type="LIMIT", quantity="0.3", price="50100", time_in_force="FOK")
        raise AssertionError("FOK larger than the volume left was accepted")
    except Exception as e:  # noqa: BLE001 - the engine's ExchangeError
        assert getattr(e, "code", None) == -5021


def test_latency_lands_an_order_on_the_next_bar():
    sim, rec = new_sim(50000, latency_ms=250)
    order = place(sim, side="BUY", type="MARKET", quantity="0.1")
    assert order.status == "NEW" and order.executed == 0 and order.latency_ms == 250  # in flight
    # the next bar opens at 50100: the order arrives 250 ms in, on its way to the low
    bar(sim, 50100, 50200, 50000, 50150)
    assert order.status == "FILLED"
    t = sim.accounts["default"].trades[-1]
    points_at = 50100 + (50000 - 50100) * (250 / 60000 * 3)  # the first leg, O -> L, is a third of the bar
    assert t.price == round(points_at * 10)
    assert t.time == order.time + 250


def test_latency_order_can_be_cancelled_in_flight():
    sim, _ = new_sim(50000, latency_ms=1000)
    order = place(sim, side="BUY", type="MARKET", quantity="0.1")
    sim.apply(C.CancelOrder(account="default", symbol="BTCUSDT", order_id=order.order_id))
    bar(sim, 50000, 50000, 50000, 50000)
    assert order.status == "CANCELED" and not sim.accounts["default"].trades


def test_defaults_are_unchanged():
    cfg = Config()
    assert (cfg.fill_resolution, cfg.limit_fill, cfg.max_participation, cfg.latency_ms) == (None, "touch", 0.0, 0.0)


async def test_a_1m_bar_reaching_both_sides_is_flagged_under_refinement():
    sim, clock, _ = hourly(fill_resolution="1m")
    first = (0, 500000, 500000, 500000, 500000)
    wide = [(500000, 500500, 500000, 500400, 1.0), (500400, 501500, 498500, 500200, 9.0)]  # one minute spans both
    await clock.load(feed(chunk([first, UP_BAR], [[(500000, 500000, 500000, 500000, 10.0)], wide])), 2)
    protect_long(sim)
    await clock.step(1)
    exit_fill = sim.accounts["default"].trades[-1]
    assert exit_fill.ambiguous and sim.ambiguous_fills == 1
    # that minute closes below its open: the assumed O-H-L-C path takes the take-profit first; the
    # other side was the stop
    assert (exit_fill.price, exit_fill.alt_price) == (501000, 499000)


def test_queue_waits_for_the_volume_ahead_at_the_level():
    # the revealed bar is flat (one level) with volume 1.0: 1.0 BTC is queued ahead at any level
    sim, _ = new_sim(50000, queue="volume")
    order = place(sim, side="BUY", type="LIMIT", quantity="0.1", price="49900", time_in_force="GTC")
    assert order.queue_ahead == 1.0
    # 49900 touched by a bar over 1001 levels (0.10 ticks) with volume 200.2: 0.2 traded per
    # level, 0.8 still ahead
    bar(sim, 50000, 50000, 49900, 49900, volume=200.2)
    assert order.status == "NEW" and abs(order.queue_ahead - 0.8) < 1e-9
    bar(sim, 49900, 50000, 49900, 50000, volume=400.4)  # 0.4 more: still 0.4 ahead
    assert order.status == "NEW"
    bar(sim, 50000, 50000, 49900, 50000, volume=500.5)  # 0.5: the queue is cleared
    assert order.status == "FILLED"


def test_queue_fills_at_once_when_the_price_trades_through():
    sim, _ = new_sim(50000, queue="volume")
    order = place(sim, side="BUY", type="LIMIT", quantity="0.1", price="49900", time_in_force="GTC")
    bar(sim, 50000, 50000, 49890, 49950, volume=0.1)  # a tick below the limit: the level is consumed
    assert order.status == "FILLED"

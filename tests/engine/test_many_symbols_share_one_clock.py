"""Every replayed symbol is on one clock: a step is one bar open time (the bars of every symbol
that opens then), sim time after it is that open time plus the interval, a symbol without a
bar at some time stalls nobody, and bars_done counts steps, not rows. One cross-margin wallet
per account spans the symbols."""
from exsim.config import Config
from exsim.engine import commands as C
from exsim.engine import money
from exsim.engine.bars import BarChunk, step_starts
from exsim.engine.clock import Clock
from exsim.engine.events import MarketListener
from exsim.engine.sim import Sim

MIN = 60_000
T0 = 1_704_067_200_000
BTC, ETH = 0, 1


class Ticks(MarketListener):
    active = True

    def __init__(self, sim):
        self.sim = sim
        self.ticks = []  # (sym, open ts, close ticks, final, sim time then)

    def on_tick(self, sym, ts, o, h, l, c, v, final):
        self.ticks.append((sym, ts, c, final, self.sim.sim_time))


def rows(bars):
    """bars: (minute, sym, o, h, l, c) in ticks, in any order -> a chunk sorted by (ts, sym)."""
    bars = sorted(bars, key=lambda b: (b[0], b[1]))
    ts = [T0 + b[0] * MIN for b in bars]
    return BarChunk(ts=ts, open=[b[2] for b in bars], high=[b[3] for b in bars], low=[b[4] for b in bars],
                    close=[b[5] for b in bars], volume=[1.0] * len(bars), sym=[b[1] for b in bars],
                    starts=step_starts(ts))


def feed(*chunks):
    async def gen():
        for chunk in chunks:
            yield chunk
    return gen()


def make(ticks_per_bar=1):
    sim = Sim(Config(symbols=["BTCUSDT", "ETHUSDT"], ticks_per_bar=ticks_per_bar, slippage_bps=0.0,
                     maker_bps=1.0, taker_bps=2.0))  # the fees its figures use
    sim.start_run(0, "{}", {}, T0)
    for m in sim.by_index:
        m.set_funding([], 0.0, T0)  # no funding payments in the figures
    listener = Ticks(sim)
    sim.market_listener = listener
    return sim, Clock(sim, MIN, ticks_per_bar, 0.0), listener


# BTC (tick 0.10) every minute 0..5; ETH (tick 0.01) minutes 0, 1, 4, 5 (no bars at 2 and 3)
BARS = ([(k, BTC, 500000 + 10 * k, 500050 + 10 * k, 499950 + 10 * k, 500005 + 10 * k) for k in range(6)]
        + [(k, ETH, 230000 + k, 230100 + k, 229900 + k, 230010 + k) for k in (0, 1, 4, 5)])


async def test_one_step_per_open_time_and_sim_time_is_open_plus_interval():
    sim, clock, rec = make()
    await clock.load(feed(rows(BARS)), 6)
    assert sim.bars_done == 1  # the first step: both symbols' bars of minute 0
    assert [(s, ts - T0) for s, ts, *_ in rec.ticks] == [(BTC, 0), (ETH, 0)]
    assert sim.sim_time == T0 + MIN
    for k in range(1, 6):
        before = len(rec.ticks)
        assert await clock.step(1) == 1
        assert sim.sim_time == T0 + (k + 1) * MIN
        assert sim.bars_done == k + 1  # steps, not rows
        step = rec.ticks[before:]
        assert {ts for _, ts, *_ in step} == {T0 + k * MIN}  # one open time per step
        assert [s for s, *_ in step] == ([BTC, ETH] if k in (1, 4, 5) else [BTC])
        assert all(now == T0 + (k + 1) * MIN and final for *_, final, now in step)
    assert len(rec.ticks) == 6 + 4  # every row once


async def test_a_symbol_without_bars_does_not_stall_the_other():
    sim, clock, rec = make()
    await clock.load(feed(rows(BARS)), 6)
    await clock.step(1)
    eth = sim.markets["ETHUSDT"]
    assert eth.last == 230011 and eth.bar[0] == T0 + MIN
    assert await clock.step(2) == 2  # minutes 2 and 3: BTC only
    assert sim.sim_time == T0 + 4 * MIN and sim.bars_done == 4
    assert sim.markets["BTCUSDT"].last == 500005 + 30 and sim.markets["BTCUSDT"].bar[0] == T0 + 3 * MIN
    assert eth.last == 230011 and eth.bar[0] == T0 + MIN  # ETH keeps its last bar meanwhile
    await clock.step(1)
    assert eth.last == 230014 and eth.bar[0] == T0 + 4 * MIN


async def test_steps_run_on_across_chunk_boundaries():
    """Chunks cut between open times (as the reader does): still one step per open time."""
    bars = sorted(BARS, key=lambda b: (b[0], b[1]))
    first = rows([b for b in bars if b[0] < 3])
    second = rows([b for b in bars if b[0] >= 3])
    sim, clock, rec = make()
    await clock.load(feed(first, second), 6)
    assert await clock.step(10) == 5
    assert sim.bars_done == 6 and sim.sim_time == T0 + 6 * MIN and clock.finished
    assert [ts for _, ts, *_ in rec.ticks] == sorted(T0 + b[0] * MIN for b in BARS)


async def test_intra_bar_ticks_of_every_symbol_share_the_step():
    sim, clock, rec = make(ticks_per_bar=3)
    await clock.load(feed(rows(BARS)), 6)
    before = len(rec.ticks)
    await clock.step(1)  # minute 1: both symbols, three ticks each, interleaved
    step = rec.ticks[before:]
    assert [(s, final) for s, _, _, final, _ in step] == [
        (BTC, False), (ETH, False), (BTC, False), (ETH, False), (BTC, True), (ETH, True)]
    assert [now - T0 for *_, now in step] == [MIN + 20_000] * 2 + [MIN + 40_000] * 2 + [2 * MIN] * 2
    assert sim.bars_done == 2  # one step, however many ticks
    await clock.step(1)  # minute 2: BTC alone
    assert [s for s, *_ in rec.ticks[before + 6:]] == [BTC] * 3 and sim.bars_done == 3


async def test_one_cross_margin_wallet_across_symbols():
    sim, clock, _ = make()
    await clock.load(feed(rows(BARS)), 6)
    acct = sim.account()
    start = acct.wallet
    btc = sim.apply(C.PlaceOrder(account="default", order=C.NewOrder(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.1"))).result  # at 50000.5
    eth = sim.apply(C.PlaceOrder(account="default", order=C.NewOrder(
        symbol="ETHUSDT", side="SELL", type="MARKET", quantity="2"))).result  # at 2300.10
    assert btc.status == eth.status == "FILLED"
    fees = sum(t.fee for t in acct.trades)
    assert fees == money.of("1.00001") + money.of("0.92004")  # 2 bps of 5000.05 and of 4600.20
    assert acct.wallet == start - fees  # both fills booked on the one wallet
    await clock.step(4)  # BTC to minute 4 (close 50004.5), ETH to minute 4 (close 2300.14)
    btc_upnl = money.of("0.4")  # (50004.5 - 50000.5) x 0.1
    eth_upnl = -money.of("0.08")  # short 2 ETH: (2300.10 - 2300.14) x 2
    assert sim.unrealized(acct) == btc_upnl + eth_upnl
    assert sim.equity(acct) == acct.wallet + btc_upnl + eth_upnl
    assert money.usdt(sim.equity(acct)) == money.usdt(start) - money.usdt(fees) + money.usdt(btc_upnl + eth_upnl)
    # margin of both positions comes out of the same available balance
    pos_im, _ = sim.initial_margin(acct)
    assert pos_im == (money.of("5000.45") + money.of("4600.28")) // 20
    assert sim.available(acct) == sim.equity(acct) - pos_im

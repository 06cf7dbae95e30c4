"""The clock: exact stepping, pacing by speed, speed changes that never skip or repeat a bar,
pause, end of data, and intra-bar ticks."""
import asyncio

from exsim.config import Config
from exsim.engine.bars import BarChunk
from exsim.engine.clock import Clock
from exsim.engine.events import MarketListener
from exsim.engine.sim import Sim
from tests.waiting import until

MIN = 60_000


class Recorder(MarketListener):
    active = True

    def __init__(self):
        self.ticks = []

    def on_tick(self, sym, ts, o, h, l, c, v, final):
        self.ticks.append((ts, c, final))


def chunks(n_bars: int, size: int = 7):
    async def gen():
        for start in range(0, n_bars, size):
            idx = range(start, min(n_bars, start + size))
            yield BarChunk(ts=[i * MIN for i in idx], open=[1000 + i for i in idx], high=[1010 + i for i in idx],
                           low=[990 + i for i in idx], close=[1001 + i for i in idx], volume=[1.0 for _ in idx])
    return gen()


class FakeTime:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


async def run_due(clock):
    """What one pass of Clock.run does at a fixed wall time, across chunk boundaries."""
    while await clock._ready() and clock._run_due() == 0.0:
        pass


def make(n_bars=50, ticks=1, speed=0.0, now=None):
    sim = Sim(Config(symbol="BTCUSDT", ticks_per_bar=ticks))
    sim.start_run(0, "{}", {}, 0)
    listener = Recorder()
    sim.market_listener = listener
    clock = Clock(sim, MIN, ticks, speed, **({"now": now} if now else {}))
    return sim, clock, listener


async def test_step_advances_exactly_k_bars_in_order():
    sim, clock, rec = make()
    await clock.load(chunks(50), 50)
    assert sim.bars_done == 1  # the first bar is revealed on load
    assert await clock.step(10) == 10
    assert sim.bars_done == 11
    assert [t for t, _, _ in rec.ticks] == [i * MIN for i in range(11)]
    assert sim.sim_time == 11 * MIN  # end of the last replayed bar


async def test_step_stops_at_end_of_data_and_reports_finish():
    sim, clock, _ = make()
    ended = []

    async def on_end():
        ended.append(True)
    clock.on_end = on_end
    await clock.load(chunks(5), 5)
    assert await clock.step(10) == 4
    assert clock.finished and ended == [True]


async def test_pacing_replays_speed_bars_per_second():
    fake = FakeTime()
    sim, clock, _ = make(now=fake, speed=10.0)
    await clock.load(chunks(100), 100)
    clock._reanchor()
    fake.t += 2.0  # 2 s at 10 bars/s
    await run_due(clock)
    assert sim.bars_done == 1 + 20


async def test_speed_change_never_skips_or_repeats_a_bar():
    fake = FakeTime()
    sim, clock, rec = make(now=fake, speed=10.0)
    await clock.load(chunks(100), 100)
    clock._reanchor()
    fake.t += 1.0
    await run_due(clock)
    clock.set_speed(30.0)
    fake.t += 1.0
    await run_due(clock)
    assert sim.bars_done == 1 + 10 + 30
    ts = [t for t, _, _ in rec.ticks]
    assert ts == sorted(set(ts)) and ts == [i * MIN for i in range(41)]


async def test_paused_clock_does_not_move():
    sim, clock, _ = make(speed=0.0)
    await clock.load(chunks(20), 20)
    task = asyncio.create_task(clock.run())
    await asyncio.sleep(0.05)
    assert sim.bars_done == 1
    clock.set_speed("max")
    await until(lambda: clock.finished)
    assert sim.bars_done == 20 and clock.finished
    task.cancel()


async def test_max_speed_with_nobody_watching_still_ends_on_the_last_bar():
    sim, clock, _ = make(speed="max")
    sim.market_listener = MarketListener()  # inactive: bars may be skipped in one jump
    await clock.load(chunks(1000, size=300), 1000)
    task = asyncio.create_task(clock.run())
    try:
        await until(lambda: clock.finished)
    finally:
        task.cancel()
    assert sim.bars_done == 1000 and sim.market.last == 1001 + 999 and sim.sim_time == 1000 * MIN


async def test_intra_bar_ticks_send_partial_updates_then_the_final_bar():
    sim, clock, rec = make(ticks=4)
    await clock.load(chunks(10), 10)
    await clock.step(1)
    second = [r for r in rec.ticks if r[0] == MIN]
    assert [final for _, _, final in second] == [False, False, False, True]
    assert second[-1][1] == 1002  # final update carries the close
    assert sim.bars_done == 2


async def test_intra_bar_tick_times_are_inside_the_bar():
    sim, clock, _ = make(ticks=4)
    await clock.load(chunks(10), 10)
    times = []
    orig = sim.on_segment

    def spy(*args):
        times.append(args[-1])
        orig(*args)
    sim.on_segment = spy
    await clock.step(1)
    assert times == [MIN + 15_000, MIN + 30_000, MIN + 45_000, 2 * MIN]

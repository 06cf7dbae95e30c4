"""The gateway logs a replay's progress (bars done of the total, %, bars/s, sim time, equity)
every 10 s of wall time or each 10 % of the run, and nothing while the replay stands still."""
from __future__ import annotations

from exsim.wire.progress_log import PROGRESS_LOG, ProgressLog

from tests.conftest import T0

MIN = 60_000


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_progress_lines_every_ten_percent_or_ten_seconds(exsim_client):
    c = await exsim_client(symbol="BTCUSDT", start=T0, end=T0 + 100 * MIN)
    assert isinstance(c.server.app[PROGRESS_LOG], ProgressLog)  # started by the app's cleanup context
    clock = FakeClock()
    log = ProgressLog(c.server.app, clock=clock)  # the same, on a clock of the test's own
    run_id = (await (await c.get("/admin/status")).json())["run_id"]

    assert log.line() is None  # the run, noticed: lines count from here
    clock.t = 5.0
    assert log.line() is None  # paused: nothing moves, nothing is logged
    await c.post("/admin/step", json={"bars": 4})  # 5 %: neither 10 s nor a 10 % step
    clock.t = 6.0
    assert log.line() is None
    clock.t = 16.5
    text = log.line()  # 10 s since the last line
    assert text.startswith(f"run {run_id[:8]}: 5/100 bars (5.0%), ") and "bars/s" in text
    assert "sim 2024-01-01T00:05:00Z" in text and "equity 100,000.00" in text
    await c.post("/admin/step", json={"bars": 5})  # 10 %: a step crossed
    clock.t = 17.0
    assert "10/100 bars (10.0%), 10 bars/s" in log.line()  # 5 bars in 0.5 s
    clock.t = 18.0
    assert log.line() is None
    await c.post("/admin/step", json={"bars": 200})  # to the end
    clock.t = 19.0
    assert "100/100 bars (100.0%)" in log.line()
    clock.t = 60.0
    assert log.line() is None  # finished: silent

    r = await c.post("/admin/replay", json={"restart": True})  # a new run counts from its own start
    second = (await r.json())["run_id"]
    clock.t = 61.0
    assert log.line() is None  # noticed
    await c.post("/admin/step", json={"bars": 20})
    clock.t = 62.0
    assert log.line().startswith(f"run {second[:8]}: 21/100 bars (21.0%), 20 bars/s")

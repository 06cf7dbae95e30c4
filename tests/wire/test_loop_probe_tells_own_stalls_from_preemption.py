"""The loop-lag probe (EXSIM_LOOP_PROBE=1) measures how late a 1 ms ticker wakes, and how much
of that lateness the process spent on CPU: a stall of its own making (busy code) counts in
both; time the process was not running (here a blocking sleep, like the OS running another
process) only in the first."""
import asyncio
import time

from exsim.wire.app import LoopProbe
from exsim.wire.keys import LOOP_PROBE


def _burn_cpu(seconds: float) -> None:
    """Hold the loop until this process has used `seconds` of CPU (however it is scheduled)."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


async def _probe_around(block) -> LoopProbe:
    probe = LoopProbe()
    task = asyncio.create_task(probe.run())
    try:
        while probe.ticks < 5:  # running
            await asyncio.sleep(0.001)
        probe.reset()
        block()
        ticks = probe.ticks
        while probe.ticks < ticks + 2:  # the late tick has been measured
            await asyncio.sleep(0.001)
    finally:
        task.cancel()
    return probe


async def test_busy_loop_is_an_own_stall():
    probe = await _probe_around(lambda: _burn_cpu(0.06))
    assert probe.max_ms >= 50
    assert probe.max_on_cpu_ms >= 50


async def test_time_off_cpu_is_lag_but_not_an_own_stall():
    probe = await _probe_around(lambda: time.sleep(0.06))
    assert probe.max_ms >= 50
    assert probe.max_on_cpu_ms < probe.max_ms / 2


async def test_admin_status_reports_both(exsim_client, monkeypatch):
    monkeypatch.setenv("EXSIM_LOOP_PROBE", "1")
    client = await exsim_client()
    probe = client.server.app[LOOP_PROBE]
    while probe.ticks < 5:  # running
        await asyncio.sleep(0.001)
    _burn_cpu(0.03)
    ticks = probe.ticks
    while probe.ticks < ticks + 2:  # the late tick has been measured
        await asyncio.sleep(0.001)
    status = await (await client.get("/admin/status?reset_lag=1")).json()
    assert status["loop_lag_max_ms"] >= 25 and status["loop_lag_on_cpu_max_ms"] >= 25

"""The gateway logs a replay's progress: a line every EVERY_S seconds of wall time, or sooner
when the run crosses a multiple of STEP_PCT percent, and none while nothing moves (paused,
finished, waiting for /admin/step):

    run 52d081fa: 52,560/525,600 bars (10.0%), 8,312 bars/s, sim 2024-02-06T12:00:00Z, equity 100,012.34

bars/s is over the time since the previous line; equity is the first account's (wallet plus
unrealized at the mark). It only reads the Sim's and the Clock's state (as /admin/status does).
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from typing import Callable, Optional

from aiohttp import web

from ..engine.money import to_float
from ..engine.sim import DEFAULT_ACCOUNT
from ..timeutil import iso
from .keys import CLOCK, SIM

log = logging.getLogger("exsim.progress")
EVERY_S = 10.0
STEP_PCT = 10.0
CHECK_S = 1.0  # how often the task looks
PROGRESS_LOG = web.AppKey("progress_log", object)


class ProgressLog:
    def __init__(self, app: web.Application, every_s: float = EVERY_S, step_pct: float = STEP_PCT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.every_s, self.step_pct, self.clock = app, every_s, step_pct, clock
        self.run_id: Optional[str] = None
        self.last_t = clock()
        self.last_bars = 0
        self.last_step = 0
        self.lines = 0

    def line(self) -> Optional[str]:
        """The line to log now, or None; called every CHECK_S seconds."""
        sim, clock = self.app[SIM], self.app[CLOCK]
        now, done, total = self.clock(), sim.bars_done, clock.total_bars
        if sim.run_id != self.run_id:  # a new run (start or restart): count from here
            self.run_id, self.last_t, self.last_bars, self.last_step = sim.run_id, now, done, 0
            return None
        if not sim.run_id:
            return None
        if done == self.last_bars:
            if now - self.last_t > self.every_s:  # idle (paused): the next rate counts from here
                self.last_t = now
            return None
        pct = 100.0 * done / total if total else 0.0
        step = int(pct // self.step_pct) if self.step_pct > 0 else 0
        if now - self.last_t < self.every_s and step <= self.last_step:
            return None
        rate = (done - self.last_bars) / (now - self.last_t) if now > self.last_t else 0.0
        self.last_t, self.last_bars, self.last_step = now, done, step
        acct = sim.accounts.get(DEFAULT_ACCOUNT) or next(iter(sim.accounts.values()), None)
        equity = f", equity {to_float(sim.equity(acct)):,.2f}" if acct is not None else ""
        self.lines += 1
        return (f"run {sim.run_id[:8]}: {done:,}/{total:,} bars ({pct:.1f}%), {rate:,.0f} bars/s, "
                f"sim {iso(sim.sim_time)}{equity}")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_S)
            try:
                text = self.line()
            except Exception as exc:  # never let a log line stop the gateway
                log.debug("progress line failed: %s", exc)
                continue
            if text:
                log.info("%s", text)


async def ctx(app: web.Application):
    """Cleanup context: the logging task lives as long as the app."""
    progress = app[PROGRESS_LOG] = ProgressLog(app)
    task = asyncio.create_task(progress.run())
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task

"""Bots on the replay clock (`exsim run-bot`): the sim times at which sleeping bots want to
wake, and who is told when sim time moves.

A bot under run-bot reads sim time instead of its wall clock, and its sleeps become "wake me
at sim time T" (exsim/botclock/). The connection that carries them (wire/bot_clock.py) keeps
its alarm here; the replay calls `moved` whenever sim time may have changed (after a clock
batch, a step, a command), and the lockstep gate (exsim/lockstep.py) reads `earliest` to move
sim time straight to the first alarm when every bot is idle before the next bar.
"""
from __future__ import annotations

import time
from typing import Callable, Hashable, Optional


class Wakeups:
    def __init__(self) -> None:
        self._at: dict[Hashable, int] = {}
        # woken by `moved` and not asleep again yet (wall time they woke): lockstep waits for them
        self.woken: dict[Hashable, float] = {}
        self.pids: dict[Hashable, int] = {}  # the bot process behind each connection
        self.listeners: list[Callable[[int], None]] = []  # called with the sim time, epoch ms
        self._told = -1

    def add(self, who: Hashable, at_ms: int) -> None:
        """`who` (one bot-clock connection) sleeps until sim time `at_ms` (replaces its alarm)."""
        self._at[who] = at_ms
        self.woken.pop(who, None)

    def remove(self, who: Hashable) -> None:
        self._at.pop(who, None)
        self.woken.pop(who, None)
        self.pids.pop(who, None)

    def earliest(self) -> Optional[int]:
        return min(self._at.values()) if self._at else None

    def sleeping(self) -> int:
        return len(self._at)

    def moved(self, now_ms: int) -> None:
        """Sim time is `now_ms`: alarms at or before it are due (removed) and every listener
        hears of the new time once (repeated calls with the same time are free)."""
        if now_ms == self._told:
            return
        self._told = now_ms
        if self._at:
            for who in [w for w, at in self._at.items() if at <= now_ms]:
                del self._at[who]
                self.woken[who] = time.monotonic()
        for listener in list(self.listeners):
            listener(now_ms)

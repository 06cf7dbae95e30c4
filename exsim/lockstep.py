"""Lockstep pacing (`pacing = "lockstep"`): the next bar only once every bot is done with this one.

With wall pacing a bot's latency decides which bar its order lands on. Here the clock is
driven by this gate instead of by the wall clock: it steps from bar k to k+1 only when every
registered bot
1. has observed bar k: a market-data read served at bar k, or, on a WebSocket, the pong to a
   ping written right after bar k's frames (so the frames before it were read);
2. has nothing in flight (no request of it being handled); and
3. is done: it repeated a read-only request it already had an answer to at this bar (a
   poller with nothing new), or it has been quiet for `quiet_ms` and none of its threads is
   running (/proc: a bot still computing is not idle however long it is quiet).
Once a bot is done, its next unsigned GET (a heartbeat such as /fapi/v1/time included) is
*held* (`hold`): answered once the clock has moved. A polling bot then always starts its next
poll at the next bar, whether or not its sleep between polls outlasted the bar (a CPU hog
slowing it cannot decide what it sees), and a poll of `time` then `klines` reads one bar in
both. The repeated read itself is answered at once: holding it would pair its new bar with the
`time` the bot read just before, one bar old. Signed reads are answered at once (their
timestamp is checked against the bar they were sent at), and so are commands: a command after
a repeated read means the bot was not done after all, and lands on the bar it saw.
After `max_wait_ms` the bar advances anyway and the journal records a TIMEOUT (the run's
journal still re-executes exactly; a second live run of the bot may differ).

A bot is a process: connections are mapped to the peer's PID through /proc/net/tcp (loopback
peers), so a bot's REST pool and its WebSockets count as one; without /proc the API key, else
the connection, stands for it. `/admin/*`, browsers (Sec-Fetch-* headers) and heartbeats
(ping, time, listenKey keepalives) never hold the gate. Bots sleeping on the replay clock
(exsim run-bot, exsim/wakeups.py) are idle: when all are, sim time jumps straight to the
earliest alarm if it comes before the next bar closes.

Inside a bar, sim time stands still at the bar's close, plus 1 ms per command applied
(`stamp`); commands that arrive together are applied in a canonical order (`admit`): by
account, then by the command's bytes, never by arrival.
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sys
import termios
import time
from typing import Callable, Hashable, Optional

import msgspec

log = logging.getLogger("exsim.lockstep")
POLL_S = 0.002  # how often a busy bot's threads are looked at again (wall)


class Bot:
    __slots__ = ("name", "pid", "in_flight", "last_done", "observer", "observed", "done", "seen",
                 "seen_bar", "ws", "pinged", "sockets")

    def __init__(self, name: str, pid: Optional[int]) -> None:
        self.name = name
        self.pid = pid
        self.in_flight = 0
        self.last_done = time.monotonic()
        self.observer = False  # it reads market data: it must observe every bar
        self.observed = -1  # the last bar it observed
        self.done = False  # repeated a poll at this bar
        self.seen: set[str] = set()  # the reads answered at bar `seen_bar` since its last command
        self.seen_bar = -1
        self.ws: set = set()  # its WebSocket connections (market data or user data)
        self.pinged = -1  # the bar its WebSockets were last pinged for
        # its connections' sockets (file descriptors): bytes waiting in one are a request on its
        # way (sent, not yet read by the server), while the bot already sleeps waiting for it
        self.sockets: set[int] = set()

    def request_arriving(self) -> bool:
        buf = bytearray(4)
        for fd in list(self.sockets):
            try:
                fcntl.ioctl(fd, termios.FIONREAD, buf)
            except OSError:  # closed
                self.sockets.discard(fd)
                continue
            if int.from_bytes(buf, sys.byteorder):
                return True
        return False


def threads_idle(pid: Optional[int]) -> Optional[bool]:
    """True when no thread of `pid` is running or runnable; None when the process is gone."""
    if pid is None:
        return True
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rindex(b")") + 2:][:1] == b"R":
            return False
    return True


def _hex_addr(host: str, port: int) -> Optional[str]:
    parts = host.split(".")
    if len(parts) != 4:
        return None
    return "".join(f"{int(p):02X}" for p in reversed(parts)) + f":{port:04X}"


def pid_of_peer(peer: tuple, local: tuple) -> Optional[int]:
    """The PID owning the TCP socket at `peer` connected to our `local` (loopback IPv4)."""
    mine, theirs = _hex_addr(peer[0], peer[1]), _hex_addr(local[0], local[1])
    if mine is None or theirs is None:
        return None
    inode = None
    try:
        with open("/proc/net/tcp") as f:
            for line in f:
                cols = line.split()
                if len(cols) > 9 and cols[1] == mine and cols[2] == theirs:
                    inode = cols[9]
                    break
    except OSError:
        return None
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") == target:
                    return int(entry)
        except OSError:
            continue
    return None


class Gate:
    def __init__(self, replay, quiet_ms: float, max_wait_ms: float, min_bots: int,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.replay = replay
        self.sim, self.clock = replay.sim, replay.clock
        self.quiet = quiet_ms / 1000
        self.max_wait = max_wait_ms / 1000
        self.min_bots = min_bots
        self._now = now
        self.bots: dict[Hashable, Bot] = {}
        self.by_peer: dict[tuple, Bot] = {}  # connection (peer address) -> its bot (wire/lockstep_hooks.py)
        self.started = False  # min_bots reached once: the warm-up is over
        self.timeouts = 0
        self.advanced = 0
        self.jumps = 0
        self.waiting_for: list[str] = []
        self._revealed = now()
        self._changed = asyncio.Event()
        self._base = self.sim.sim_time  # sim time frozen inside the bar
        self._n = 0  # commands applied since the bar (or the alarm) began
        self._queue: list[tuple[tuple, asyncio.Future]] = []
        self._busy = False
        self._held: list[tuple[Bot, asyncio.Future]] = []  # repeated reads waiting for the next bar
        self.in_flight = 0  # requests of bots being handled, all bots
        self.ping: Callable[[object], None] = lambda ws_client: None  # the wire writes a WS ping

    # --- bots -----------------------------------------------------------------------------

    def bot(self, key: Hashable, name: str, pid: Optional[int]) -> Bot:
        bot = self.bots.get(key)
        if bot is None:
            bot = self.bots[key] = Bot(name, pid)
            log.info("lockstep: bot %s registered (%d bots)", name, len(self.bots))
            if len(self.bots) >= self.min_bots and not self.started:
                self.started = True
                self._revealed = self._now()
        return bot

    def request_started(self, bot: Bot) -> None:
        bot.in_flight += 1
        self.in_flight += 1

    def request_finished(self, bot: Bot, read_key: Optional[str]) -> None:
        """A bot's request is answered; `read_key` names a market-data read (None: a write or
        an account read)."""
        bot.in_flight -= 1
        self.in_flight -= 1
        bot.last_done = self._now()
        bar = self.sim.bars_done
        if read_key is not None:
            bot.observer = True
            if bot.seen_bar != bar:
                bot.seen.clear()
                bot.seen_bar = bar
            bot.done = read_key in bot.seen
            bot.seen.add(read_key)
            bot.observed = bar
        else:  # a command (or a read of its own account) may change what the next reads answer
            bot.done = False
            bot.seen.clear()
        self._changed.set()
        if self._queue:
            self._schedule_release()

    def holds(self, bot: Bot) -> bool:
        """The bot is done with this bar: its next poll waits for the next one."""
        return self.started and bot.done and not self.clock.finished

    async def hold(self, bot: Bot) -> None:
        """Wait, still done and not in flight, until the clock moves a bar (or stops); return
        with the request in flight (request_finished ends it)."""
        fut = asyncio.get_running_loop().create_future()
        self._held.append((bot, fut))
        self._changed.set()
        try:
            await fut
        except BaseException:
            if not fut.done():
                fut.cancel()
            else:
                self.request_finished(bot, None)  # released, then cancelled: not in flight
            raise

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for bot, fut in held:
            if not fut.done():
                self.request_started(bot)
                fut.set_result(None)

    def ws_opened(self, bot: Bot, client) -> None:
        bot.ws.add(client)
        bot.observer = True
        bot.observed = max(bot.observed, self.sim.bars_done)  # nothing of this bar is sent any more
        bot.last_done = self._now()
        self._changed.set()

    def ws_closed(self, bot: Bot, client) -> None:
        bot.ws.discard(client)
        self._changed.set()

    def ws_active(self, bot: Bot) -> None:
        """A SUBSCRIBE or any message: activity, not a heartbeat."""
        bot.last_done = self._now()
        bot.done = False
        self._changed.set()

    def ws_pong(self, bot: Bot) -> None:
        if bot.pinged > bot.observed:
            bot.observed = bot.pinged
            self._changed.set()

    # --- commands inside a bar -----------------------------------------------------------

    async def admit(self, cmd) -> None:
        """Return when it is this command's turn: at once if nothing else is in flight, else
        once every request in flight is a command waiting here, lowest key first."""
        if self.in_flight <= 1 and not self._queue and not self._busy:
            return
        fut = asyncio.get_running_loop().create_future()
        self._queue.append(((getattr(cmd, "account", ""), msgspec.json.encode(cmd)), fut))
        self._schedule_release()
        await fut

    def _schedule_release(self) -> None:
        loop = asyncio.get_running_loop()
        # two loop turns: requests whose bytes are already readable get parsed and queue too
        loop.call_soon(loop.call_soon, self._release)

    def _release(self) -> None:
        if self._busy or not self._queue:
            return
        if len(self._queue) < self.in_flight:  # others still on their way here
            return
        self._queue.sort(key=lambda item: item[0])
        _, fut = self._queue.pop(0)
        if not fut.done():
            self._busy = True
            fut.set_result(None)

    def stamp(self) -> int:
        """The sim time of the next command: the bar's close + 1 ms per command before it in
        the bar, below the next bar's close."""
        if self._busy:
            self._busy = False
            if self._queue:
                self._schedule_release()
        t = min(self._base + self._n, self._base + self.clock.interval_ms - 1)
        self._n += 1
        return max(t, self.sim.sim_time)

    # --- the pacer ----------------------------------------------------------------------

    def _verdict(self, now: float) -> tuple[str, float]:
        """("go" | "wait" | "timeout", seconds to wait)."""
        if not self.started:
            return "wait", 1.0
        bar = self.sim.bars_done
        waiting, wait = [], self.max_wait - (now - self._revealed)
        wake = self.replay.wakeups
        for key, bot in list(self.bots.items()):
            if bot.in_flight or bot.request_arriving():
                waiting.append(f"{bot.name} (request in flight)")
                continue
            # /proc is read only once nothing cheaper says "wait": a verdict runs after every request
            if bot.observer and bot.observed < bar:
                if threads_idle(bot.pid) is None and not bot.ws:  # the process is gone
                    del self.bots[key]
                else:
                    waiting.append(f"{bot.name} (has not seen bar {bar})")
                continue
            if not bot.done:
                quiet_left = self.quiet - (now - bot.last_done)
                if quiet_left > 0:
                    waiting.append(f"{bot.name} (busy {(now - bot.last_done) * 1000:.1f} ms ago)")
                    wait = min(wait, quiet_left)
                    continue
            idle = threads_idle(bot.pid)
            if idle is None and not bot.ws:  # the process is gone
                del self.bots[key]
            elif idle is False:  # done (a repeated poll) or quiet, but one of its threads runs
                waiting.append(f"{bot.name} (computing)")
                wait = min(wait, POLL_S)
        for who, woke in wake.woken.items():  # woken from a sleep on the replay clock, not back asleep
            pid = wake.pids.get(who)
            idle = threads_idle(pid)
            if idle is None:
                continue
            quiet_left = self.quiet - (now - woke)
            if quiet_left > 0 or idle is False:
                waiting.append(f"run-bot pid {pid} (awake)")
                wait = min(wait, max(quiet_left, POLL_S))
        self.waiting_for = waiting
        if not waiting:
            return "go", 0.0
        if now - self._revealed >= self.max_wait:
            return "timeout", 0.0
        return "wait", max(wait, 0.0005)

    async def run(self) -> None:
        """Drive the clock (instead of Clock.run) until cancelled."""
        while True:
            try:
                if self.clock.finished:  # end of data: until a restart loads a new range
                    self._release_held()
                    self._changed.clear()
                    try:
                        await asyncio.wait_for(self._changed.wait(), 0.05)
                    except asyncio.TimeoutError:
                        pass
                    continue
                verdict, wait = self._verdict(self._now())
                if verdict == "wait":
                    self._changed.clear()
                    try:
                        await asyncio.wait_for(self._changed.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
                    continue
                if verdict == "go":
                    # requests already read from a socket start their handlers in these turns
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
                    if self._verdict(self._now())[0] != "go":
                        continue
                if verdict == "timeout":
                    self.timeouts += 1
                    self.replay.record_timeout(self.sim.bars_done, self.waiting_for)
                await self._advance()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the replay: log, go on
                log.exception("lockstep pacer failed at bar %d", self.sim.bars_done)
                await asyncio.sleep(0.01)

    async def _advance(self) -> None:
        sim, wake = self.sim, self.replay.wakeups
        alarm = wake.earliest()
        if alarm is not None and alarm < sim.sim_time + self.clock.interval_ms:
            # every bot idle, one asleep until before the next bar closes: sim time goes there
            if alarm > sim.sim_time:
                sim.sim_time = alarm
            self._base, self._n = sim.sim_time, 0
            self.jumps += 1
            wake.moved(sim.sim_time)
        else:
            done = await self.clock.step(1)
            if not done:
                self._release_held()
                return
            self.advanced += 1
            self._base, self._n = sim.sim_time, 0
            bar = sim.bars_done
            for bot in self.bots.values():
                bot.done = False
                if bot.ws:
                    bot.pinged = bar
                    for client in list(bot.ws):
                        self.ping(client)
            self._release_held()
        self._revealed = self._now()

    def status(self) -> dict:
        return {"bots": [b.name for b in self.bots.values()], "waiting_for": self.waiting_for,
                "timeouts": self.timeouts, "bars_advanced": self.advanced, "alarm_jumps": self.jumps,
                "bar": self.sim.bars_done, "started": self.started,
                "in_flight": self.in_flight, "queued": len(self._queue), "held": len(self._held)}

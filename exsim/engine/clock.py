"""The bar clock: pulls bar chunks from any async iterator and feeds them to the Sim at a pace.

Every replayed symbol is on this one clock, aligned by bar open time: a *step* is the bars of
all symbols that open at one time (a symbol without a bar then simply has none in the step,
and stalls nobody). `speed` counts steps per second, and sim time after a step is its open
time plus the interval.

Pacing counts segments (ticks): `speed` bars/s with `ticks_per_bar` ticks each. Time is kept
as an anchor (wall time, ticks done) reset on every speed change, so changing speed never skips
or repeats a bar. `"max"` runs batches back to back, yielding to the loop between batches so
REST and WebSocket work interleave. Bars nobody watches (no orders, positions or subscribers)
are skipped in one jump per batch instead of one call per bar.
"""
from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left, bisect_right
import math
import time
from typing import AsyncIterator, Awaitable, Callable, Optional, Union

from .bars import BarChunk, tick_segments
from .sim import Sim

log = logging.getLogger("exsim.clock")
Speed = Union[float, str]
MAX_BATCH = 4096  # bars per loop turn at "max" speed
BATCH_SECONDS = 0.001  # ...or this much wall time, whichever comes first (the loop's worst wait)
BACKLOG_POLL_SECONDS = 0.001  # "max" speed: how often to look whether subscribers caught up


class Clock:
    def __init__(self, sim: Sim, interval_ms: int, ticks_per_bar: int = 1, speed: Speed = 25.0,
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.sim = sim
        self.interval_ms = interval_ms
        self.ticks_per_bar = ticks_per_bar
        self._now = now
        self.speed: Speed = speed
        self.paused = speed == 0
        self.finished = True
        self.total_bars = 0
        self.on_end: Optional[Callable[[], Awaitable[None]]] = None
        # told the sim time after every batch, step and load (bots on the replay clock wait on it)
        self.moved: Callable[[int], None] = lambda now_ms: None
        self._source: Optional[AsyncIterator[BarChunk]] = None
        self._chunk: Optional[BarChunk] = None
        self._prev_chunk: Optional[BarChunk] = None  # kept so recent bars are served from memory
        self._i = 0  # next row of the chunk
        self._step = 0  # next step of the chunk
        # a step being replayed tick by tick: per row (sym, ts, o, v, segments, [hi, lo])
        self._segments: list = []
        self._seg_j = 0
        self._seg_n = 0  # segments of the longest row of the current step
        self._seg_refined = False  # the current step's segments are finer bars (fill_resolution)
        self._ticks_done = 0
        # wall seconds a step cost in the last "max" batch, and the part of it spent publishing
        # its events after the batch (an account's equity mark is an event): sizes the next
        self._step_cost = self._publish_cost = 0.0
        self._anchor = (now(), 0)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.rate_window: list[tuple[float, int]] = []

    # --- control --------------------------------------------------------------------------

    async def load(self, source: AsyncIterator[BarChunk], total_bars: int, reveal: int = 1,
                   before: Optional[Callable[[], Awaitable[None]]] = None) -> None:
        """Replay a new range: once its first chunk is at hand, call `before` (the caller opens
        the new run there) and reveal the first `reveal` bars in the same step, so no request
        ever sees a run without a price; then continue at the current speed."""
        async with self._lock:
            old = self._source
            if old is not None and hasattr(old, "aclose"):
                await old.aclose()  # let the old feed release its reader
            self._source, self._chunk, self._i, self._step, self._segments = source, None, 0, 0, []
            self._prev_chunk = None
            self.total_bars = total_bars
            self.finished = False
            ready = await self._ready()
            if before is not None:
                await before()
            done = 0
            while ready and done < reveal and self._i < len(self._chunk):
                done += self._advance_bars(1, allow_jump=False)
            self._reanchor()
        self.sim.publish()
        self.sim.market_listener.flush()
        self.moved(self.sim.sim_time)
        self._wake.set()

    def set_speed(self, speed: Speed) -> None:
        self.speed = speed
        self.paused = speed == 0
        self._reanchor()
        self._wake.set()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        if self.speed == 0:
            self.speed = 1.0
        self.paused = False
        self._reanchor()
        self._wake.set()

    async def step(self, bars: int) -> int:
        """Advance exactly `bars` bars now (meant for a paused clock). Returns bars advanced."""
        done = 0
        async with self._lock:
            while done < bars and await self._ready():
                done += self._advance_bars(1, allow_jump=False)
            self._reanchor()
        self.sim.publish()
        self.sim.market_listener.flush()  # a paused clock's loop will not send these bars
        self.moved(self.sim.sim_time)
        return done

    def hold(self) -> asyncio.Lock:
        """`async with clock.hold():` no bar moves inside (for work that must see sim time
        stand still across an await, e.g. seeding a stream from the database)."""
        return self._lock

    def recent_bars(self, sym: int, start: Optional[int], end: Optional[int], limit: int) -> Optional[list[tuple]]:
        """Closed bars (ts, o, h, l, c, v) of symbol number `sym` of this replay still in memory
        (the current and the previous chunk), chosen like Binance's klines window; None when
        the window reaches further back than memory, so the caller asks the database instead."""
        views = []
        if self._prev_chunk is not None:
            views.append(_symbol_rows(self._prev_chunk, sym, len(self._prev_chunk)))
        if self._chunk is not None:
            views.append(_symbol_rows(self._chunk, sym, self._i - (1 if self._segments else 0)))
        views = [(cols, n) for cols, n in views if n > 0]
        if not views:
            return None
        first_ts = views[0][0][0][0]
        if start is not None and start < first_ts:
            return None
        if start is not None:
            rows = []
            for (ts, o, h, l, c, v), n in views:
                if len(rows) >= limit:
                    break
                lo = bisect_left(ts, start, 0, n)
                hi = n if end is None else bisect_right(ts, end, 0, n)
                hi = min(hi, lo + limit - len(rows))
                rows.extend(zip(ts[lo:hi], o[lo:hi], h[lo:hi], l[lo:hi], c[lo:hi], v[lo:hi]))
            return rows
        # the last `limit` bars up to `end`: sliced from the end, never the whole chunk (a bot
        # polls this every bar)
        parts, need = [], limit
        for (ts, o, h, l, c, v), n in reversed(views):
            hi = n if end is None else bisect_right(ts, end, 0, n)
            lo = max(0, hi - need)
            parts.append(list(zip(ts[lo:hi], o[lo:hi], h[lo:hi], l[lo:hi], c[lo:hi], v[lo:hi])))
            need -= hi - lo
            if need <= 0:
                break
        if need > 0:
            return None  # older bars may sit before this run's memory
        return [row for part in reversed(parts) for row in part]

    def position(self) -> tuple[int, int]:
        """Where the replay stands: (steps done in this run, ticks done of the step in progress).
        A command's position in the journal; re-executing it there gives the same state."""
        return self.sim.bars_done, self._seg_j if self._segments else 0

    def bars_per_sec_actual(self) -> float:
        w = self.rate_window
        if len(w) < 2 or w[-1][0] - w[0][0] <= 0:
            return 0.0
        return (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            if self.paused or self.finished:
                self._wake.clear()
                await self._wake.wait()
                continue
            listener = self.sim.market_listener
            if self.speed == "max" and listener.active and listener.backlogged():
                # "max" is as fast as the slowest subscriber reads: wait, drop nobody
                await asyncio.sleep(BACKLOG_POLL_SECONDS)
                continue
            try:
                async with self._lock:
                    if not await self._ready():
                        continue
                    if self.speed == "max":
                        began, steps = self._now(), self._ticks_done
                        self._run_max_batch()
                        published = self._now()
                        self.sim.publish()
                        if self._ticks_done > steps:
                            done, now = self._ticks_done - steps, self._now()
                            self._step_cost, self._publish_cost = (now - began) / done, (now - published) / done
                        delay = 0.0
                    else:
                        delay = self._run_due()
                        self.sim.publish()
                    self.moved(self.sim.sim_time)
                # many subscribers: the sends are spread over loop turns (requests run between)
                while listener.flush_some():
                    await asyncio.sleep(0)
            except Exception:  # a bug must not stop the replay for every client: log, go on
                log.exception("clock batch failed at sim time %s", self.sim.sim_time)
                delay = 0.01
            self._note_rate()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
            else:
                # twice: a request read in this turn's I/O poll is handled in the next turn,
                # before the next batch (one yield would put a whole batch in front of it)
                await asyncio.sleep(0)
                await asyncio.sleep(0)

    def _run_max_batch(self) -> None:
        deadline = self._now() + BATCH_SECONDS
        budget = MAX_BATCH
        listener = self.sim.market_listener
        # Bars nobody watches go by in jumps of up to 256, runs of ready-made payloads in what
        # one flush should carry (listener.bulk_step); watched ones cost 5-50 us each (more
        # with many accounts to mark), so look at the clock every 16 or fewer: the batch and
        # the publishing of its events (costs per step as the last batch measured them) end
        # within BATCH_SECONDS.
        sim = self.sim
        step = 256 if sim.idle else listener.bulk_step if sim.trading_idle and listener.takes_bulk else 16
        cost, publish = self._step_cost, self._publish_cost
        if cost > 0:
            step = max(1, min(step, int(BATCH_SECONDS / 4 / cost)))
        done = 0
        while budget > 0 and self._chunk is not None and self._i < len(self._chunk):
            n = self._advance_bars(min(step, budget), allow_jump=True)
            budget -= n
            done += n
            if n == 0 or self._now() + cost * step + publish * done > deadline or listener.batch_full():
                break

    def _run_due(self) -> float:
        """Replay the ticks that are due; return seconds until the next one."""
        rate = float(self.speed) * self.ticks_per_bar
        t0, done0 = self._anchor
        due = math.floor((self._now() - t0) * rate) - (self._ticks_done - done0)
        if due <= 0:
            return (self._ticks_done - done0 + 1) / rate - (self._now() - t0)
        due = min(due, MAX_BATCH * self.ticks_per_bar)
        if self.ticks_per_bar == 1:
            self._advance_bars(due, allow_jump=True)
        else:
            for _ in range(due):  # up to the end of the chunk (the next batch loads the next)
                if not (self._segments or self._i < len(self._chunk)) or not self._advance_tick():
                    break
        return 0.0

    async def _ready(self) -> bool:
        """Make sure a bar is at hand, loading the next chunk or ending the replay."""
        if self._segments or (self._chunk is not None and self._i < len(self._chunk)):
            return True
        if self._source is not None:
            try:
                self._take(await self._source.__anext__())
                return True
            except StopAsyncIteration:
                self._source = None
        self.finished = True
        if self.on_end is not None:
            await self.on_end()
        return False

    def _take(self, chunk: BarChunk) -> None:
        self._prev_chunk, self._chunk = self._chunk, chunk
        self._i = self._step = 0
        self.sim.on_chunk(chunk)
        self.sim.market_listener.on_chunk(chunk)

    def advance_to(self, bar: int, tick: int, next_chunk: Callable[[], Optional[BarChunk]]) -> bool:
        """Offline (exsim/rerun.py): replay synchronously up to `position() == (bar, tick)`,
        taking chunks from `next_chunk` (None: no more data). False if the data ended first."""
        while self.position() < (bar, tick):
            if not (self._segments or (self._chunk is not None and self._i < len(self._chunk))):
                chunk = next_chunk()
                if chunk is None:
                    return False
                self._take(chunk)
            done, _ = self.position()
            if done < bar and not self._segments:
                self._advance_bars(bar - done, allow_jump=True)
            else:  # inside a step: one tick at a time
                self._advance_tick()
        return True

    def _advance_bars(self, n: int, allow_jump: bool) -> int:
        """Replay up to n whole steps from the current chunk; returns how many."""
        refine = self._chunk is not None and self._chunk.sub is not None and not self.sim.trading_idle
        if self.ticks_per_bar > 1 or self._segments or refine:
            count = 0
            while count < n and self._chunk is not None and (self._segments or self._i < len(self._chunk)):
                while not self._advance_tick():
                    pass
                count += 1
            return count
        c = self._chunk
        s0 = self._step
        s1 = min(s0 + n, c.steps)
        i, end = self._i, c.step_rows(s1 - 1)[1]
        sim = self.sim
        ims = self.interval_ms
        if allow_jump and s1 - s0 > 1 and (sim.idle or (
                sim.trading_idle and sim.market_listener.takes_bulk and sim.market_listener.on_bars(c, i, end))):
            sim.jump(c, i, end, s1 - s0)
        else:
            ts, op, hi, lo, cl, vo = c.ts, c.open, c.high, c.low, c.close, c.volume
            on_segment, step_done = sim.on_segment, sim.step_done
            sym = c.sym
            if sym is None:  # one symbol: every row is a step
                for k in range(i, end):
                    t, o, h, l = ts[k], op[k], hi[k], lo[k]
                    on_segment(0, t, o, h, l, cl[k], o, h, l, vo[k], True, t + ims)
                    step_done(t + ims)
            else:
                for k in range(i, end):
                    t, o, h, l = ts[k], op[k], hi[k], lo[k]
                    on_segment(sym[k], t, o, h, l, cl[k], o, h, l, vo[k], True, t + ims)
                    if k + 1 == end or ts[k + 1] != t:
                        step_done(t + ims)
        self._i, self._step = end, s1
        self._ticks_done += s1 - s0
        return s1 - s0

    def _advance_tick(self) -> bool:
        """Replay one intra-bar tick of every bar of the current step; True when it closed them."""
        if not self._segments:
            c = self._chunk
            i, j = c.step_rows(self._step)
            self._segments = [self._row_segments(c, k) for k in range(i, j)]
            self._seg_j = 0
            self._seg_n = max(len(row[4]) for row in self._segments)
            self._seg_refined = c.sub is not None
            self._i, self._step = j, self._step + 1
        j = self._seg_j
        self._seg_j += 1
        final = self._seg_j == self._seg_n
        now = 0
        for sym, ts, bo, volumes, segments, extremes in self._segments:
            n = len(segments)
            if j >= n:  # this symbol's bar had fewer finer bars: it has closed already
                continue
            so, sh, sl, sc = segments[j]
            extremes[0], extremes[1] = max(extremes[0], sh), min(extremes[1], sl)
            now = ts + (self.interval_ms * (j + 1)) // n
            self.sim.on_segment(sym, ts, so, sh, sl, sc, bo, extremes[0], extremes[1], volumes[j], j + 1 == n, now)
        # pacing counts ticks_per_bar ticks a bar: a bar replayed on its finer bars counts once
        self._ticks_done += (self.ticks_per_bar if final else 0) if self._seg_refined else 1
        if final:
            self._segments = []
            self.sim.step_done(now)
        return final

    def _row_segments(self, c: BarChunk, k: int) -> tuple:
        """(symbol, open ts, open, volume so far per segment, segments, [high, low] so far) of
        row k: its finer bars when the chunk carries them (fill_resolution: the path is data),
        else ticks_per_bar pieces of the assumed path."""
        o, h, l, cl, v = c.open[k], c.high[k], c.low[k], c.close[k], c.volume[k]
        fine = c.sub[k] if c.sub is not None else None
        if fine:
            segments = [(fo, fh, fl, fc) for fo, fh, fl, fc, _ in fine]
            volumes, total = [], 0.0
            for *_, fv in fine:
                total += fv
                volumes.append(total)
        else:
            n = self.ticks_per_bar
            segments = tick_segments(o, h, l, cl, n)
            volumes = [v * (j + 1) / n for j in range(n)]
        return (c.symbol_at(k), c.ts[k], o, volumes, segments, [o, o])

    def _reanchor(self) -> None:
        self._anchor = (self._now(), self._ticks_done)

    def _note_rate(self) -> None:
        now = self._now()
        w = self.rate_window
        w.append((now, self.sim.bars_done))
        while len(w) > 2 and now - w[0][0] > 2.0:
            w.pop(0)


def _symbol_rows(chunk: BarChunk, sym: int, upto: int) -> tuple[tuple, int]:
    """One symbol's columns (ts, o, h, l, c, v) of a chunk and how many of them lie in its
    first `upto` rows. A chunk of several symbols is split once, on first use, and the split
    kept on the chunk: REST klines polled every bar then cost a bisect, not a scan."""
    if chunk.sym is None:
        cols = (chunk.ts, chunk.open, chunk.high, chunk.low, chunk.close, chunk.volume)
        return cols, (upto if sym == 0 else 0)
    split = chunk.by_symbol
    if split is None:
        split = chunk.by_symbol = {}
        for i, s in enumerate(chunk.sym):
            split.setdefault(s, []).append(i)
    rows = split.get(sym)
    if not rows:
        return ((), (), (), (), (), ()), 0
    if not isinstance(rows, tuple):
        pick = lambda col: [col[i] for i in rows]  # noqa: E731
        split[sym] = rows = (rows, (pick(chunk.ts), pick(chunk.open), pick(chunk.high), pick(chunk.low),
                                    pick(chunk.close), pick(chunk.volume)))
    index, cols = rows
    return cols, bisect_left(index, upto)

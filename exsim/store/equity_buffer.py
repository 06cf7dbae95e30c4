"""The equity curve's write buffer: one point per account and sim time, in flat columns.

Equity is the writer's largest stream by far: a point per exposed account per bar (100 accounts
replayed at "max" make ~400k points/s). Kept as a dict of row tuples, it cost the event loop
50-100 us per point in dict resizes and cyclic-GC passes over the tuples (stalls of 80-300 ms
measured); in `array` columns a point is three appends, and a flush hands the columns to Arrow
without touching each value again.

The last point of an (account, time) wins: in the buffer (marks of one account come in time
order, so a repeat overwrites the previous slot) and across flushes (`take` lists the written
rows that a batch's first point of an account replaces).
"""
from __future__ import annotations

from array import array
from typing import NamedTuple

import pyarrow as pa


class EquitySegment:
    """The points of one run buffered since the last flush."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.ts = array("q")
        self.equity = array("d")
        self.account = array("i")  # index into EquityBuffer.names
        self.last: dict[int, int] = {}  # account index -> slot of its latest point
        self.first: dict[int, int] = {}  # account index -> time of its first point

    def __len__(self) -> int:
        return len(self.ts)

    def arrow(self, names: list[str]) -> pa.Table:
        """The columns as one Arrow table (ts, equity, account), the numbers without a copy."""
        n = len(self.ts)
        ts = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(self.ts)])
        eq = pa.Array.from_buffers(pa.float64(), n, [None, pa.py_buffer(self.equity)])
        idx = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(self.account)])
        acct = pa.DictionaryArray.from_arrays(idx, pa.array(names, type=pa.string())).cast(pa.string())
        return pa.Table.from_arrays([ts, eq, acct], names=["ts", "equity", "account"])


class EquityBuffer:
    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}
        self._segments: list[EquitySegment] = [EquitySegment("")]
        # the time of each account's last written point, in run `_flushed_run`
        self._flushed_run, self._flushed = "", {}

    def __len__(self) -> int:
        return sum(len(s) for s in self._segments)

    def new_run(self, run_id: str) -> None:
        self._segments.append(EquitySegment(run_id))

    def mark(self, account: str, ts: int, equity: float) -> None:
        i = self._index.get(account)
        if i is None:
            i = self._index[account] = len(self.names)
            self.names.append(account)
        _append(self._segments[-1], i, ts, equity)

    def take(self) -> "EquityBatch":
        """The buffered segments, the (run_id, account, ts) rows already written that they
        replace, and what was written before them (for `put_back`); the buffer then holds an
        empty segment of the current run."""
        segments, replaced = [s for s in self._segments if len(s)], []
        before = (self._flushed_run, dict(self._flushed))
        for seg in segments:
            if seg.run_id == self._flushed_run:
                replaced += [(seg.run_id, self.names[i], ts) for i, ts in seg.first.items()
                             if self._flushed.get(i) == ts]
            else:
                self._flushed_run, self._flushed = seg.run_id, {}
            for i, slot in seg.last.items():
                self._flushed[i] = seg.ts[slot]
        self._segments = [EquitySegment(self._segments[-1].run_id)]
        return EquityBatch(segments, replaced, before)

    def put_back(self, batch: "EquityBatch") -> None:
        """A failed write: its points go before what was buffered since (older first); a later
        point of the same account and time still wins."""
        self._flushed_run, self._flushed = batch.before
        newer, self._segments = self._segments, []
        for seg in batch.segments + newer:
            if not self._segments or self._segments[-1].run_id != seg.run_id:
                self._segments.append(EquitySegment(seg.run_id))
            merged = self._segments[-1]
            for k in range(len(seg)):
                _append(merged, seg.account[k], seg.ts[k], seg.equity[k])


class EquityBatch(NamedTuple):
    segments: list[EquitySegment]
    replaced: list[tuple[str, str, int]]  # (run_id, account, ts) rows written before, to delete
    before: tuple[str, dict[int, int]]  # the buffer's written-points state before this take

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.segments)


def _append(seg: EquitySegment, i: int, ts: int, equity: float) -> None:
    slot = seg.last.get(i)
    if slot is not None and seg.ts[slot] == ts:
        seg.equity[slot] = equity
        return
    seg.last[i] = len(seg.ts)
    seg.first.setdefault(i, ts)
    seg.ts.append(ts)
    seg.equity.append(equity)
    seg.account.append(i)

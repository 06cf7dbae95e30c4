"""The journal: every state-changing command of a run, with where the replay stood when it was
applied, written before the command's reply leaves (always on, whatever the pacing).

A run is its data, its config and its commands: re-applying the journal's commands at their
positions over the same bars gives the same orders, fills, income and equity (exsim/rerun.py).
That makes the journal three things at once:
- the durability log: a line per command is appended to `<journal_dir>/<run_id>.jsonl` with
  one write() before the reply is sent (fsync too with `journal_fsync`), so a `kill -9` loses
  no acknowledged fill: the next start rebuilds the run from it (rerun.recover);
- the audit record `exsim verify RUN_ID` re-executes offline and compares with DuckDB;
- the input of `exsim replay-run RUN_ID --with taker_bps=5`: the same bot's commands, other costs.
The same lines go to the `run_journal` table with the run's other rows.

A record's position is (bar, tick): steps the run had replayed and ticks of the step in
progress (Clock.position). Progress records mark how far the replay got between commands (a
resting order filled by the clock is acknowledged on the user stream), written before that
batch's events reach any consumer.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Optional, Union

import msgspec

from .engine.commands import (CancelAll, CancelOrder, ChangePositionMargin, ModifyOrder, PlaceOrder,
                              SetCountdownCancel, SetLeverage, SetMarginType, SetMultiAssets, SetPositionMode)

log = logging.getLogger("exsim.journal")

# the commands a request can send (ApplyFunding is the clock's own, made again from the data)
Journaled = Union[PlaceOrder, CancelOrder, CancelAll, SetLeverage, SetMarginType, SetPositionMode,
                  ChangePositionMargin, SetMultiAssets, ModifyOrder, SetCountdownCancel]


class Record(msgspec.Struct, kw_only=True, tag_field="kind", tag=str.lower, omit_defaults=True):
    bar: int = 0
    tick: int = 0
    time: int = 0  # sim time, epoch ms


class Header(Record):
    """The run: what it replays and with which rules (the config without secrets)."""

    run_id: str
    created_ms: int
    config: dict
    params_json: str
    meta: dict
    seq0: int  # the event log's sequence number before the run's first event
    data_hash: str
    code_hash: str


class Cmd(Record):
    n: int  # the command's number in the run, from 1
    cmd: Journaled
    code: int = 0  # 0 accepted, else the Binance error code it was refused with


class Progress(Record):
    pass


class Timeout(Record):
    """Lockstep advanced without every bot done with the bar: the run is not reproducible."""

    waiting: list[str] = []


class End(Record):
    status: str


AnyRecord = Union[Header, Cmd, Progress, Timeout, End]
_encode = msgspec.json.Encoder().encode
_decoder = msgspec.json.Decoder(AnyRecord)


def decode(line: bytes | str) -> AnyRecord:
    return _decoder.decode(line)


def read_file(path: str) -> list[AnyRecord]:
    """A journal file's records; a torn last line (killed mid-write) is dropped: its command
    was never acknowledged."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                out.append(decode(line))
            except msgspec.DecodeError:
                break
    return out


def journal_path(folder: str, run_id: str) -> str:
    return os.path.join(folder, f"{run_id}.jsonl")


class Journal:
    """The open journal of the current run (one file, appended with O_APPEND writes)."""

    def __init__(self, folder: Optional[str], fsync: bool = False,
                 sink: Callable[[tuple], None] = lambda row: None) -> None:
        self.folder = folder
        self.sink = sink  # (run_id, line no., kind, bar, tick, ts, text): a row of table run_journal
        self.fsync = fsync
        self._fd: Optional[int] = None
        self.run_id = ""
        self.n = self.lines = 0
        self.timeouts = 0
        self._last = (-1, -1)  # position of the last record written
        self.failed: Optional[str] = None

    def open(self, header: Header) -> None:
        self.close()
        self.run_id, self.n, self.lines, self.timeouts, self._last = header.run_id, 0, 0, 0, (-1, -1)
        if self.folder is not None:
            try:
                os.makedirs(self.folder, exist_ok=True)
                self._fd = os.open(journal_path(self.folder, header.run_id),
                                   os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            except OSError as exc:  # the run goes on; the table still gets the lines
                self.failed = f"journal file in {self.folder}: {exc.strerror}"
                log.error("cannot write the %s", self.failed)
        self._write(header)

    def command(self, cmd, position: tuple[int, int], now: int, code: int) -> None:
        self.n += 1
        self._write(Cmd(n=self.n, cmd=cmd, code=code, bar=position[0], tick=position[1], time=now))

    def progress(self, position: tuple[int, int], now: int) -> None:
        if position != self._last:
            self._write(Progress(bar=position[0], tick=position[1], time=now))

    def timeout(self, position: tuple[int, int], now: int, waiting: list[str]) -> None:
        self.timeouts += 1
        self._write(Timeout(bar=position[0], tick=position[1], time=now, waiting=waiting))

    def end(self, position: tuple[int, int], now: int, status: str) -> None:
        if self.run_id:
            self._write(End(bar=position[0], tick=position[1], time=now, status=status))
            self.close()
            self.run_id = ""

    def _write(self, rec: Record) -> None:
        if not self.run_id:  # no run open (ended): nothing to journal it into
            return
        line = _encode(rec) + b"\n"
        self._last = (rec.bar, rec.tick)
        self.sink((self.run_id, self.lines, type(rec).__name__.lower(), rec.bar, rec.tick, rec.time,
                   line[:-1].decode()))
        self.lines += 1
        if self._fd is None:
            return
        try:
            os.write(self._fd, line)  # one write: a reader never sees half a line but the last
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            self.failed = f"journal write: {exc.strerror}"
            log.error("%s (the run_journal table still gets it)", self.failed)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

"""equity_curve holds one row per run, account and sim time: the last point of a time wins in
the buffer, across flushes and across a failed write; a restart's points go to its own run."""
from __future__ import annotations

import contextlib
import uuid

import pytest

from exsim.engine.events import EquityMarked, RunStarted
from exsim.engine.money import SCALE
from exsim.store.db import open_database
from exsim.store.writer import BatchWriter


class Gate:
    """The writer's `shared` hook: closed, every write fails before it starts."""

    def __init__(self) -> None:
        self.closed = False

    @contextlib.contextmanager
    def __call__(self):
        if self.closed:
            raise RuntimeError("gate closed")
        yield


@pytest.fixture()
def store(tmp_path):
    con = open_database(str(tmp_path / "eq.duckdb"))
    gate = Gate()
    writer = BatchWriter(con, {}.get, shared=gate)
    yield con, writer, gate
    gate.closed = False
    writer.close()
    con.close()


def start(writer: BatchWriter) -> str:
    run_id = str(uuid.uuid4())
    writer.consume([RunStarted(seq=0, run_id=run_id, created_ms=0, params_json="{}", meta={})])
    return run_id


def mark(writer: BatchWriter, *points: tuple[str, int, int]) -> None:
    writer.consume([EquityMarked(seq=0, time=ts, account=a, equity=eq * SCALE) for a, ts, eq in points])


def curve(con, run_id: str) -> list[tuple]:
    return con.execute("SELECT account, ts, equity FROM equity_curve WHERE run_id = ?::UUID ORDER BY rowid",
                       [run_id]).fetchall()


def test_the_last_point_of_a_time_wins_in_one_flush(store):
    con, writer, _ = store
    run = start(writer)
    mark(writer, ("a", 1, 10), ("b", 1, 5), ("a", 1, 11), ("a", 2, 12), ("b", 2, 6), ("b", 2, 7))
    writer.flush_blocking()
    assert curve(con, run) == [("a", 1, 11.0), ("b", 1, 5.0), ("a", 2, 12.0), ("b", 2, 7.0)]
    assert writer.rows_written == 4 and writer.pending() == 0


def test_a_point_at_the_time_of_the_last_written_one_replaces_it(store):
    con, writer, _ = store
    run = start(writer)
    mark(writer, ("a", 1, 10), ("a", 2, 12), ("b", 2, 3))
    writer.flush_blocking()
    mark(writer, ("a", 2, 13), ("b", 3, 4), ("a", 3, 14))
    writer.flush_blocking()
    assert sorted(curve(con, run)) == [("a", 1, 10.0), ("a", 2, 13.0), ("a", 3, 14.0), ("b", 2, 3.0), ("b", 3, 4.0)]


def test_a_restart_writes_its_points_to_its_own_run(store):
    con, writer, _ = store
    first = start(writer)
    mark(writer, ("a", 1, 10), ("a", 2, 11))
    writer.flush_blocking()
    mark(writer, ("a", 2, 12))  # still the first run, buffered with the second's first points
    second = start(writer)
    mark(writer, ("a", 2, 20), ("a", 3, 21))
    writer.flush_blocking()
    mark(writer, ("a", 3, 22))
    writer.flush_blocking()
    assert curve(con, first) == [("a", 1, 10.0), ("a", 2, 12.0)]
    assert curve(con, second) == [("a", 2, 20.0), ("a", 3, 22.0)]


def test_points_of_a_failed_write_are_written_next_time_and_newer_ones_still_win(store):
    con, writer, gate = store
    run = start(writer)
    mark(writer, ("a", 1, 10))
    writer.flush_blocking()
    mark(writer, ("a", 1, 11), ("a", 5, 1), ("b", 5, 2))
    gate.closed = True
    with pytest.raises(RuntimeError):
        writer.flush_blocking()
    assert writer.pending() == 3
    mark(writer, ("a", 5, 3), ("a", 6, 4))
    gate.closed = False
    writer.flush_blocking()
    assert curve(con, run)[0] == ("a", 1, 11.0)  # the failed batch still replaced the written point
    assert sorted(curve(con, run)) == [("a", 1, 11.0), ("a", 5, 3.0), ("a", 6, 4.0), ("b", 5, 2.0)]
    assert writer.pending() == 0

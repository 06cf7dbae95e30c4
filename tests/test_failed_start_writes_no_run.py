"""A gateway that cannot start leaves no run behind: with its port taken it exits 4 before the
app (and its run) starts; with the database held by another gateway it exits 3 before opening
anything. Only a gateway that listens records a run."""
from __future__ import annotations

import socket

import duckdb

from tests.conftest import make_dataset
from tests.process import Gateway


def _runs(path: str) -> int:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    finally:
        con.close()


def test_port_in_use_exits_4_and_records_no_run(tmp_path):
    db = make_dataset(str(tmp_path / "x.duckdb"), days=1)
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    gw = Gateway(db, str(tmp_path), port=port)
    try:
        assert gw.wait(60) == 4
        assert "cannot listen" in gw.stderr()
    finally:
        gw.stop()
        holder.close()
    assert _runs(db) == 0


def test_database_held_by_another_gateway_exits_3_and_the_first_keeps_its_one_run(tmp_path):
    db = make_dataset(str(tmp_path / "y.duckdb"), days=1)
    first = Gateway(db, str(tmp_path))
    try:
        assert first.wait_ready()
        second = Gateway(db, str(tmp_path))
        try:
            assert second.wait(60) == 3
            assert "in use by another process" in second.stderr()
        finally:
            second.stop()
    finally:
        first.stop()
    assert _runs(db) == 1

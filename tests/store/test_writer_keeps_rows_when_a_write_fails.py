"""A batch that DuckDB refuses, whether in an INSERT or in the COMMIT (after which DuckDB has
rolled back already), stays buffered and is stored whole by the next flush."""
from __future__ import annotations

import uuid

import duckdb
import pytest

from exsim.engine.events import EquityMarked, RunStarted
from exsim.engine.money import SCALE
from exsim.store.db import open_database
from exsim.store.writer import BatchWriter


# Under a few MB DuckDB fails such batches at different points (an INSERT's allocation, or
# pinning a block when the COMMIT writes): each size/limit pair fails somewhere.
@pytest.mark.parametrize("rows, limit", [(20_000, "2MB"), (50_000, "4MB"), (100_000, "4MB"),
                                         (100_000, "1MB")])
def test_rows_of_a_refused_batch_are_stored_by_the_next_flush(tmp_path, rows, limit):
    con = open_database(str(tmp_path / "w.duckdb"))
    writer = BatchWriter(con, {}.get)
    run_id = str(uuid.uuid4())
    try:
        writer.consume([RunStarted(seq=1, run_id=run_id, created_ms=0, params_json="{}", meta={"symbol": "BTCUSDT"})])
        writer.consume([EquityMarked(seq=2 + i, time=i, account="default", equity=1000 * SCALE) for i in range(rows)])
        con.execute(f"SET memory_limit = '{limit}'")
        with pytest.raises(duckdb.Error):
            writer.flush_blocking()
        assert writer.last_error and writer.pending() == rows + 1 and writer.rows_written == 0
        con.execute("RESET memory_limit")
        writer.flush_blocking()
        assert writer.last_error is None and writer.pending() == 0 and writer.rows_written == rows
        assert con.execute("SELECT count(*), count(DISTINCT ts) FROM equity_curve WHERE run_id = ?::UUID",
                           [run_id]).fetchall()[0] == (rows, rows)
        assert con.execute("SELECT count(*) FROM runs WHERE run_id = ?::UUID", [run_id]).fetchall()[0][0] == 1
    finally:
        writer.close()
        con.close()

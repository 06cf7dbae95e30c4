"""on_end = "exit": the gateway replays its range, persists the run and exits 0 by itself."""
import duckdb

from tests.conftest import T0, make_dataset
from tests.process import Gateway


def test_gateway_exits_cleanly_at_end_of_data(tmp_path):
    db = make_dataset(str(tmp_path / "exit.duckdb"), days=1)
    gw = Gateway(db, str(tmp_path), speed="max", extra=["--on-end", "exit", "--end", str(T0 + 600 * 60_000)])
    try:
        assert gw.wait(60) == 0
    finally:
        gw.stop()
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT status, bars FROM run_status").fetchall() == [("finished", 600)]

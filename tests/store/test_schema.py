"""The schema: the spec's tables and columns, created idempotently, with a version."""
import subprocess
import sys

import duckdb

from exsim.store.schema import SCHEMA_VERSION, ensure_schema


def columns(con, table):
    return [(r[0], r[1]) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall()]


def test_schema_twice_is_idempotent(tmp_path):
    path = str(tmp_path / "s.duckdb")
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "exsim", "init-db", "--db", path],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    con = duckdb.connect(path)
    ensure_schema(con)
    assert con.execute("SELECT count(*), max(version) FROM schema_version").fetchall() == [(1, SCHEMA_VERSION)]


def test_spec_tables_have_the_spec_columns_first(tmp_path):
    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    ensure_schema(con)
    assert columns(con, "runs") == [("run_id", "UUID"), ("created_at", "TIMESTAMP"), ("strategy", "VARCHAR"),
                                    ("params_json", "JSON"), ("code_hash", "VARCHAR")]
    spec_fills = [("run_id", "UUID"), ("seq", "BIGINT"), ("ts", "BIGINT"), ("symbol", "VARCHAR"),
                  ("side", "VARCHAR"), ("price", "DOUBLE"), ("qty", "DOUBLE"), ("realized_pnl", "DOUBLE"),
                  ("fee", "DOUBLE"), ("is_maker", "BOOLEAN")]
    assert columns(con, "trades_fills")[:10] == spec_fills
    assert columns(con, "equity_curve")[:3] == [("run_id", "UUID"), ("ts", "BIGINT"), ("equity", "DOUBLE")]
    assert [c for c, _ in columns(con, "ohlc_1m")] == ["symbol", "ts", "open", "high", "low", "close", "volume",
                                                       "close_ts"]
    assert [c for c, _ in columns(con, "funding")] == ["symbol", "funding_time", "funding_rate"]
    for audit in ("orders", "income", "run_status"):
        assert columns(con, audit)

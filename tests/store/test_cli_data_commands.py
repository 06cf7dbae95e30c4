"""`exsim load`, `exsim demo-data` and `exsim init-db` from the command line."""
import subprocess
import sys
from pathlib import Path

import duckdb

from .test_loader_files import bars, write_csv

T0 = 1_704_067_200_000


def exsim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "exsim", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_load_files_from_the_command_line_is_idempotent(tmp_path):
    csv = write_csv(tmp_path / "BTCUSDT-1m-2024-01.csv", bars(300, skip=(100,)))
    db = str(tmp_path / "cli.duckdb")
    first = exsim("load", "--db", db, "--source", "files", "--symbol", "BTCUSDT", "--interval", "1m", str(csv))
    assert first.returncode == 0, first.stderr
    assert "299 new rows" in first.stdout and "1 gap(s)" in first.stdout
    again = exsim("load", "--db", db, "--source", "files", "--symbol", "BTCUSDT", "--interval", "1m", str(csv))
    assert again.returncode == 0 and "0 new rows, 299 already present" in again.stdout
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM ohlc_1m").fetchall() == [(299,)]


def test_load_rejects_a_bad_file_with_one_line_and_leaves_the_db(tmp_path):
    rows = bars(10)
    rows[5][2] = rows[5][3] - 10  # high < low
    csv = write_csv(tmp_path / "bad.csv", rows)
    db = str(tmp_path / "cli.duckdb")
    out = exsim("load", "--db", db, "--source", "files", "--symbol", "BTCUSDT", str(csv))
    assert out.returncode == 1 and "Traceback" not in out.stderr and "unchanged" in out.stderr
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM ohlc_1m").fetchall() == [(0,)]


def test_demo_data_command_makes_the_labelled_dataset(tmp_path):
    db = str(tmp_path / "demo.duckdb")
    out = exsim("demo-data", "--db", db, "--seed", "3")
    assert out.returncode == 0, out.stderr
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT count(DISTINCT symbol), count(*) FROM ohlc_1m").fetchall() == [(2, 2 * 527_040)]
    assert con.execute("SELECT value FROM dataset_info WHERE key = 'demo_seed'").fetchall() == [("3",)]


def test_missing_symbol_is_one_clear_line_exit_3(tmp_path):
    db = str(tmp_path / "x.duckdb")
    write_csv(tmp_path / "e.csv", bars(10))
    assert exsim("load", "--db", db, "--source", "files", "--symbol", "ETHUSDT", str(tmp_path / "e.csv")).returncode == 0
    out = exsim("--duckdb-path", db, "--symbol", "BTCUSDT", "--port", "9", cwd=tmp_path)
    assert out.returncode == 3 and "BTCUSDT" in out.stderr and "ETHUSDT" in out.stderr
    assert "Traceback" not in out.stderr and Path(db).exists()

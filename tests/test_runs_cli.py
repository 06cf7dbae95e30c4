"""`exsim runs list|show|compare|export`: the stored runs as a table, tab-separated lines or JSON;
the export holds exactly that run's rows, in each format; errors are one line and an exit
code; a database a gateway holds is refused with a clear message, and `--url` asks the gateway."""
from __future__ import annotations

import json
import os
import shutil

import duckdb
import msgspec
import pytest

from exsim import cli, runs_cli
from exsim.store import run_metrics
from exsim.store.run_metrics import EXPORT_TABLES

from tests.conftest import T0
from tests.process import Gateway

MIN = 60_000


async def _order(c, side: str, qty: str) -> None:
    r = await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": qty})
    assert r.status == 200, await r.text()


@pytest.fixture
async def two_runs(exsim_client, db_path) -> tuple[str, str, str]:
    """Two finished runs in db_path, with fills, income and (event_log on) every event."""
    from exsim.config import StoreConfig
    c = await exsim_client(symbol="BTCUSDT", start=T0 + 470 * MIN, end=T0 + 500 * MIN,
                           store=StoreConfig(event_log=True))
    await _order(c, "BUY", "0.020")
    await c.post("/admin/step", json={"bars": 12})  # the 08:00 funding with the position open
    await _order(c, "SELL", "0.020")
    await c.post("/admin/step", json={"bars": 100})
    first = (await (await c.get("/admin/status")).json())["run_id"]
    await c.post("/admin/replay", json={"restart": True})
    await _order(c, "SELL", "0.010")
    await c.post("/admin/step", json={"bars": 100})
    second = (await (await c.get("/admin/status")).json())["run_id"]
    await c.close()
    return db_path, first, second


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_compare(two_runs, capsys, monkeypatch):
    db, first, second = two_runs
    con = duckdb.connect(db, read_only=True)
    try:
        want_list = msgspec.to_builtins(run_metrics.list_runs(con))
        want = {r: msgspec.to_builtins(run_metrics.run_metrics(con, r)) for r in (first, second)}
    finally:
        con.close()

    code, out, err = run_cli(capsys, "runs", "list", "--db", db, "--json")
    assert code == 0 and json.loads(out) == want_list and [r["run_id"] for r in want_list] == [second, first]
    code, out, _ = run_cli(capsys, "runs", "list", "--db", db)  # not a terminal: tab-separated lines
    lines = [line.split("\t") for line in out.splitlines()]
    assert lines[0] == ["run_id", "created", "symbols", "interval", "range", "fills", "net_pnl", "max_drawdown",
                        "status"]
    assert [row[0] for row in lines[1:]] == [second, first]
    assert lines[2][2:4] == ["BTCUSDT", "1m"] and lines[2][5] == "2" and lines[2][8] == "finished"
    assert float(lines[2][6]) == pytest.approx(want[first]["accounts"][0]["net_pnl"], abs=1e-6)
    monkeypatch.setattr(runs_cli, "_tty", lambda: True)  # on a terminal: an aligned table
    code, out, _ = run_cli(capsys, "runs", "list", "--db", db)
    assert code == 0 and "\t" not in out and out.splitlines()[1].startswith("-----") and first in out
    monkeypatch.undo()

    code, out, _ = run_cli(capsys, "runs", "show", first[:8], "--db", db, "--json")
    assert code == 0 and json.loads(out) == want[first]
    code, out, _ = run_cli(capsys, "runs", "show", first, "--db", db)
    assert code == 0 and f"run id\t{first}" in out and "net PnL\t" in out and "Sharpe (annualised)" in out

    code, out, _ = run_cli(capsys, "runs", "compare", first, second, "--db", db, "--json")
    assert code == 0 and json.loads(out) == [want[first], want[second]]
    code, out, _ = run_cli(capsys, "runs", "compare", first, second, "--db", db)
    header = out.splitlines()[0].split("\t")
    assert header == ["metric", first, second]
    fills = next(line.split("\t") for line in out.splitlines() if line.startswith("fills\t"))
    assert fills == ["fills", "2", "1"]


def _rows(con, sql: str, params=()) -> list[tuple]:
    return sorted(con.execute(sql, list(params)).fetchall(), key=repr)


@pytest.mark.parametrize("fmt", ["duckdb", "parquet", "csv"])
def test_export_holds_exactly_that_run(two_runs, capsys, tmp_path, fmt):
    db, first, second = two_runs
    out = str(tmp_path / f"export-{fmt}")
    code, text, err = run_cli(capsys, "runs", "export", first[:8], "--db", db, "--format", fmt, "--out", out)
    assert code == 0, err
    assert first in text
    src = duckdb.connect(db, read_only=True)
    try:
        counts = {t: src.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?::UUID", [first]).fetchall()[0][0]
                  for t in EXPORT_TABLES}
        assert all(counts.values()), counts  # every table has rows of the run (event_log is on)
        if fmt == "duckdb":
            dst = duckdb.connect(out, read_only=True)
            try:
                for t in EXPORT_TABLES:
                    assert _rows(dst, f"SELECT * FROM {t}") == _rows(src, f"SELECT * FROM {t} WHERE run_id = ?::UUID",
                                                                     [first]), t
            finally:
                dst.close()
            # the exported file is a database of its own: the CLI reads the same metrics from it
            code, shown, _ = run_cli(capsys, "runs", "show", first, "--db", out, "--json")
            assert code == 0 and json.loads(shown) == msgspec.to_builtins(run_metrics.run_metrics(src, first))
        else:
            manifest = json.load(open(os.path.join(out, "manifest.json")))
            assert manifest["run_id"] == first and manifest["tables"] == counts
            for t in EXPORT_TABLES:
                path = os.path.join(out, f"{t}.{fmt}")
                if fmt == "parquet":
                    got = _rows(src, "SELECT * FROM read_parquet(?)", [path])
                    assert got == _rows(src, f"SELECT * FROM {t} WHERE run_id = ?::UUID", [first]), t
                else:
                    got = src.execute("SELECT count(*), count(DISTINCT run_id), min(run_id::VARCHAR) "
                                      "FROM read_csv(?, header = true)", [path]).fetchall()[0]
                    assert got == (counts[t], 1, first), t
    finally:
        src.close()
    # an existing target is refused, and nothing is overwritten
    code, _, err = run_cli(capsys, "runs", "export", first, "--db", db, "--format", fmt, "--out", out)
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1


def test_errors_are_one_line(two_runs, capsys, tmp_path):
    db, first, _ = two_runs
    for argv, code, words in (
            (["runs", "show", "ffffffff", "--db", db], 1, "no run ffffffff"),
            (["runs", "show", "x'; DROP TABLE runs; --", "--db", db], 1, "not a run id"),
            (["runs", "compare", first, "fffff", "--db", db], 1, "no run fffff"),
            (["runs", "export", "ffffffff", "--db", db, "--format", "csv", "--out", str(tmp_path / "x")], 1, "no run"),
            (["runs", "list", "--db", str(tmp_path / "missing.duckdb")], 2, "no database at"),
            (["report", first, "--db", str(tmp_path / "missing.duckdb")], 2, "no database at")):
        got, out, err = run_cli(capsys, *argv)
        assert got == code and words in err and len(err.strip().splitlines()) == 1, (argv, got, err)
        assert "Traceback" not in err and out == ""
    assert not os.path.exists(tmp_path / "missing.duckdb") and not os.path.exists(tmp_path / "x")


def test_a_database_held_by_a_gateway(two_runs, capsys, tmp_path):
    db, first, second = two_runs
    held = str(tmp_path / "held.duckdb")
    shutil.copy(db, held)
    gw = Gateway(held, str(tmp_path), extra=["--symbol", "BTCUSDT", "--start", str(T0), "--end", str(T0 + 60 * MIN)])
    try:
        assert gw.wait_ready(), gw.stderr()
        code, out, err = run_cli(capsys, "runs", "list", "--db", held)
        assert code == 3 and "held by a running gateway" in err and "--url" in err, err
        assert len(err.strip().splitlines()) == 1 and out == ""
        code, _, err = run_cli(capsys, "runs", "export", first, "--db", held, "--format", "csv",
                               "--out", str(tmp_path / "e"))
        assert code == 3 and "held by a running gateway" in err
        # the gateway answers the same questions
        code, out, _ = run_cli(capsys, "runs", "list", "--url", gw.url, "--json")
        ids = [r["run_id"] for r in json.loads(out)]
        assert code == 0 and len(ids) == 3 and ids[1:] == [second, first]  # its own run is the newest
        code, out, _ = run_cli(capsys, "runs", "show", first, "--url", gw.url, "--json")
        assert code == 0 and json.loads(out)["run_id"] == first
        code, _, err = run_cli(capsys, "runs", "show", "ffffffff", "--url", gw.url)
        assert code == 1 and "no run ffffffff" in err
    finally:
        gw.stop()
    code, _, err = run_cli(capsys, "runs", "list", "--url", gw.url)
    assert code == 3 and "cannot reach the gateway" in err and len(err.strip().splitlines()) == 1

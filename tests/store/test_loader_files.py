"""load_files: Binance kline/funding CSVs into DuckDB, idempotent, all-or-nothing."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import duckdb
import pytest

from exsim.store import loader
from exsim.store.loader import LoadError, LoadReport, load_files
from exsim.store.schema import ensure_schema, existing_tables

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000
HOUR = 60 * MIN
HEADER = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
          "taker_buy_volume,taker_buy_quote_volume,ignore")


def bars(n: int, start: int = T0, step: int = MIN, skip: tuple[int, ...] = ()) -> list[list]:
    """Binance-layout rows; bar i has open 100+i, high open+2, low open-1, close open+1."""
    rows = []
    for i in range(n):
        if i in skip:
            continue
        ts, o = start + i * step, 100.0 + i
        rows.append([ts, o, o + 2, o - 1, o + 1, 1.5 + i, ts + step - 1, 150.0, 7, 0.7, 70.0, 0])
    return rows


def write_csv(path: Path, rows: list[list], header: bool = True, micros: bool = False) -> Path:
    lines = [HEADER] if header else []
    for row in rows:
        row = list(row)
        if micros:
            row[0], row[6] = row[0] * 1000, row[6] * 1000 + 999
        lines.append(",".join(str(v) for v in row))
    path.write_text("\n".join(lines) + "\n")
    return path


def stored(con, table: str = "ohlc_1m", symbol: str = "BTCUSDT") -> list[tuple]:
    return con.execute(f"SELECT ts, open, high, low, close, volume, close_ts FROM {table} "
                       "WHERE symbol = ? ORDER BY ts", [symbol]).fetchall()


def snapshot(con) -> dict[str, list]:
    """Every table's full contents, for before/after comparisons."""
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in sorted(existing_tables(con))}


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "market.duckdb"))
    ensure_schema(connection)
    yield connection
    connection.close()


def expected(rows: list[list]) -> list[tuple]:
    return [(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]


def test_csv_with_header(con, tmp_path):
    rows = bars(100)
    report = load_files(con, [str(write_csv(tmp_path / "a.csv", rows))], "BTCUSDT", "1m")
    assert isinstance(report, LoadReport)
    assert (report.table, report.symbol, report.interval) == ("ohlc_1m", "BTCUSDT", "1m")
    assert (report.rows_in, report.rows_new, report.rows_overlap) == (100, 100, 0)
    assert (report.first_ts, report.last_ts) == (T0, T0 + 99 * MIN)
    assert report.gaps == [] and report.gaps_total == 0 and report.funding_rows == 0
    assert report.seconds >= 0
    assert stored(con) == expected(rows)


def test_csv_without_header(con, tmp_path):
    rows = bars(50)
    report = load_files(con, [str(write_csv(tmp_path / "a.csv", rows, header=False))], "ETHUSDT", "1m")
    assert report.rows_new == 50
    assert stored(con, symbol="ETHUSDT") == expected(rows)
    assert stored(con, symbol="BTCUSDT") == []


def test_microsecond_timestamps_become_ms(con, tmp_path):
    rows = bars(30)
    path = write_csv(tmp_path / "us.csv", rows, micros=True)
    assert path.read_text().splitlines()[1].startswith(str(T0 * 1000))
    report = load_files(con, [str(path)], "BTCUSDT", "1m")
    assert (report.first_ts, report.last_ts) == (T0, T0 + 29 * MIN)
    assert stored(con) == expected(rows)  # close_ts back to ts + 59999


def test_zipped_csv(con, tmp_path):
    rows = bars(40)
    csv = write_csv(tmp_path / "BTCUSDT-1m-2024-01-01.csv", rows)
    zipped = tmp_path / "BTCUSDT-1m-2024-01-01.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(csv, csv.name)
    csv.unlink()
    report = load_files(con, [str(zipped)], "BTCUSDT", "1m")
    assert report.rows_new == 40
    assert stored(con) == expected(rows)


def test_folder_and_glob(con, tmp_path):
    day1, day2 = bars(60), bars(60, start=T0 + 60 * MIN)
    folder = tmp_path / "klines"
    folder.mkdir()
    write_csv(folder / "d1.csv", day1)
    write_csv(folder / "d2.csv", day2, header=False)
    (folder / "notes.txt").write_text("not data")
    report = load_files(con, [str(folder)], "BTCUSDT", "1m")
    assert (report.rows_in, report.rows_new) == (120, 120)
    assert stored(con) == expected(day1 + day2)

    con.execute("DELETE FROM ohlc_1m")
    report = load_files(con, [str(folder / "d*.csv")], "BTCUSDT", "1m")
    assert report.rows_new == 120 and report.last_ts == T0 + 119 * MIN
    assert stored(con) == expected(day1 + day2)

    with pytest.raises(LoadError, match="no files match"):
        load_files(con, [str(folder / "*.parquet")], "BTCUSDT", "1m")


def test_reload_is_idempotent_and_counts_overlap(con, tmp_path):
    path = str(write_csv(tmp_path / "a.csv", bars(100)))
    load_files(con, [path], "BTCUSDT", "1m")
    before = snapshot(con)
    again = load_files(con, [path], "BTCUSDT", "1m")
    assert (again.rows_in, again.rows_new, again.rows_overlap) == (100, 0, 100)
    assert snapshot(con) == before

    # half new, half already there
    later = str(write_csv(tmp_path / "b.csv", bars(100, start=T0 + 50 * MIN)))
    report = load_files(con, [later], "BTCUSDT", "1m")
    assert (report.rows_in, report.rows_new, report.rows_overlap) == (100, 50, 50)
    assert con.execute("SELECT count(*), count(DISTINCT ts) FROM ohlc_1m").fetchone() == (150, 150)


def test_same_bar_in_two_files_is_kept_once(con, tmp_path):
    monthly = str(write_csv(tmp_path / "m.csv", bars(20)))
    daily = str(write_csv(tmp_path / "d.csv", bars(10, start=T0 + 15 * MIN)))
    report = load_files(con, [monthly, daily], "BTCUSDT", "1m")
    assert (report.rows_in, report.rows_new, report.rows_overlap) == (30, 25, 5)
    assert [r[0] for r in stored(con)] == [T0 + i * MIN for i in range(25)]
    assert stored(con)[15][1] == 115.0  # first file wins


def test_gaps_reported(con, tmp_path):
    path = str(write_csv(tmp_path / "a.csv", bars(100, skip=(10, 11, 12, 50))))
    report = load_files(con, [path], "BTCUSDT", "1m")
    assert report.rows_new == 96
    assert report.gaps == [(T0 + 9 * MIN, T0 + 13 * MIN), (T0 + 49 * MIN, T0 + 51 * MIN)]
    assert report.gaps_total == 2
    # filling the hole removes those gaps from the next report
    fill = str(write_csv(tmp_path / "fill.csv", bars(4, start=T0 + 10 * MIN)[:3]))
    report = load_files(con, [fill], "BTCUSDT", "1m")
    assert report.rows_new == 3 and report.gaps == [(T0 + 49 * MIN, T0 + 51 * MIN)]


def test_gaps_limited_to_first_twenty(con, tmp_path):
    path = str(write_csv(tmp_path / "a.csv", bars(100, skip=tuple(range(1, 100, 3)))))
    report = load_files(con, [path], "BTCUSDT", "1m")
    assert report.gaps_total == 33
    assert len(report.gaps) == 20
    assert report.gaps[0] == (T0, T0 + 2 * MIN) and report.gaps[-1] == (T0 + 57 * MIN, T0 + 59 * MIN)


def test_start_end_filter(con, tmp_path):
    path = str(write_csv(tmp_path / "a.csv", bars(100)))
    report = load_files(con, [path], "BTCUSDT", "1m", start_ms=T0 + 10 * MIN, end_ms=T0 + 20 * MIN)
    assert (report.rows_in, report.rows_new) == (10, 10)
    assert [r[0] for r in stored(con)] == [T0 + i * MIN for i in range(10, 20)]


def test_other_interval_gets_its_own_table(con, tmp_path):
    rows = bars(48, step=HOUR)
    report = load_files(con, [str(write_csv(tmp_path / "h.csv", rows))], "BTCUSDT", "1h")
    assert report.table == "ohlc_1h" and report.rows_new == 48
    assert stored(con, "ohlc_1h") == expected(rows)
    assert stored(con) == []


def test_funding_vision_csv(con, tmp_path):
    path = tmp_path / "BTCUSDT-fundingRate-2024-01.csv"
    path.write_text("calc_time,funding_interval_hours,last_funding_rate\n"
                    + "".join(f"{T0 + i * 8 * HOUR},8,{0.0001 * (i + 1):.8f}\n" for i in range(6)))
    report = load_files(con, [str(path)], "BTCUSDT", "1m")
    assert report.funding_rows == 6 and report.rows_in == 0
    got = con.execute("SELECT symbol, funding_time, funding_rate FROM funding ORDER BY funding_time").fetchall()
    assert got == [("BTCUSDT", T0 + i * 8 * HOUR, pytest.approx(0.0001 * (i + 1))) for i in range(6)]
    assert load_files(con, [str(path)], "BTCUSDT", "1m").funding_rows == 0  # idempotent
    assert con.execute("SELECT count(*) FROM funding").fetchone()[0] == 6


def test_funding_rest_csv_with_klines(con, tmp_path):
    funding = tmp_path / "funding.csv"
    funding.write_text("symbol,fundingTime,fundingRate,markPrice\n"
                       f"BTCUSDT,{T0 + 1},0.00010000,42000.1\nBTCUSDT,{T0 + 8 * HOUR},-0.00002500,42100.0\n")
    kl = write_csv(tmp_path / "k.csv", bars(10))
    report = load_files(con, [str(kl), str(funding)], "BTCUSDT", "1m")
    assert (report.rows_new, report.funding_rows) == (10, 2)
    assert con.execute("SELECT funding_time, funding_rate FROM funding ORDER BY 1").fetchall() == [
        (T0 + 1, 0.0001), (T0 + 8 * HOUR, -0.000025)]

    other = tmp_path / "eth.csv"
    other.write_text(f"symbol,fundingTime,fundingRate\nETHUSDT,{T0 + 16 * HOUR},0.0001\n")
    with pytest.raises(LoadError, match="ETHUSDT, not BTCUSDT"):
        load_files(con, [str(other)], "BTCUSDT", "1m")


# ---------------------------------------------------------------------------- bad input


def _bad_files(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (paths, message regex). Each list also holds a good file, so staging has begun."""
    good = str(write_csv(tmp / "good.csv", bars(20, start=T0 + 500 * MIN)))

    def w(name: str, rows: list[list], **kw) -> str:
        return str(write_csv(tmp / name, rows, **kw))

    high_low = bars(10)
    high_low[6][2], high_low[6][3] = 90.0, 110.0  # high < low
    body_above_high = bars(10)
    body_above_high[3][4] = body_above_high[3][2] + 5  # close > high
    backwards = bars(10)
    backwards[4], backwards[5] = backwards[5], backwards[4]
    duplicate = bars(10)
    duplicate[5] = duplicate[4]
    misaligned = bars(10)
    misaligned[2][0] += 1
    short_row = (tmp / "short_row.csv")
    short_row.write_text(HEADER + "\n" + ",".join(map(str, bars(1)[0])) + "\n"
                         + ",".join(map(str, bars(2)[1][:11])) + "\n")
    garbage = tmp / "garbage.csv"
    garbage.write_text(HEADER + "\n" + ",".join(map(str, bars(1)[0])).replace("100.0", "abc", 1) + "\n")
    six = tmp / "six.csv"
    six.write_text("".join(",".join(map(str, r[:6])) + "\n" for r in bars(5)))
    return {
        "missing": ([good, str(tmp / "nope.csv")], r"file not found: .*nope\.csv"),
        "wrong_columns": ([good, str(six)], r"six\.csv: expected 12 kline columns, found 6"),
        "short_row": ([good, str(short_row)], r"short_row\.csv: .*Line: 3.*Expected Number of Columns: 12 Found: 11"),
        "unparsable": ([good, str(garbage)], r"garbage\.csv: .*Could not convert string \"abc\""),
        "high_low": ([good, w("hl.csv", high_low)], rf"hl\.csv: inconsistent bar at ts {T0 + 6 * MIN}"),
        "close_above_high": ([good, w("ch.csv", body_above_high)], rf"inconsistent bar at ts {T0 + 3 * MIN}"),
        "non_monotonic": ([good, w("nm.csv", backwards)], rf"nm\.csv: out-of-order ts {T0 + 4 * MIN}"),
        "duplicate_ts": ([good, w("dup.csv", duplicate)], rf"dup\.csv: duplicate ts {T0 + 4 * MIN}"),
        "misaligned": ([good, w("mis.csv", misaligned)], rf"mis\.csv: ts {T0 + 2 * MIN + 1} .*1m boundary"),
        "wrong_interval": ([good, w("h.csv", bars(5, step=HOUR))], r"h\.csv: close_time .* 1m bar"),
        "wrong_symbol": ([good, w("ETHUSDT-1m-2024-01-01.csv", bars(5))], r"file is for ETHUSDT, not BTCUSDT"),
        "empty": ([good, w("empty.csv", [], header=False)], r"empty\.csv: empty file"),
    }


BAD = ["missing", "wrong_columns", "short_row", "unparsable", "high_low", "close_above_high",
       "non_monotonic", "duplicate_ts", "misaligned", "wrong_interval", "wrong_symbol", "empty"]


@pytest.mark.parametrize("case", BAD)
def test_bad_file_raises_and_leaves_db_unchanged(con, tmp_path, case):
    load_files(con, [str(write_csv(tmp_path / "seed.csv", bars(30)))], "BTCUSDT", "1m")
    con.execute("INSERT INTO funding VALUES ('BTCUSDT', ?, 0.0001)", [T0])
    before = snapshot(con)
    paths, message = _bad_files(tmp_path)[case]
    with pytest.raises(LoadError, match=message) as info:
        load_files(con, paths, "BTCUSDT", "1m")
    assert "\n" not in str(info.value)  # one line for the user
    assert snapshot(con) == before
    # the connection is usable again (no dangling transaction or staging table)
    assert load_files(con, [paths[0]], "BTCUSDT", "1m").rows_new == 20


def test_failure_rolls_back_new_table(con, tmp_path):
    bad = bars(5, step=HOUR)
    bad[2][2] = 0.5
    before = snapshot(con)
    with pytest.raises(LoadError, match="inconsistent bar"):
        load_files(con, [str(write_csv(tmp_path / "h.csv", bad))], "BTCUSDT", "1h")
    assert "ohlc_1h" not in existing_tables(con)
    assert snapshot(con) == before


def test_error_after_insert_rolls_back_everything(con, tmp_path, monkeypatch):
    load_files(con, [str(write_csv(tmp_path / "seed.csv", bars(10)))], "BTCUSDT", "1m")
    before = snapshot(con)
    real_insert = loader._insert

    def insert_then_fail(*args, **kwargs):
        counts = real_insert(*args, **kwargs)
        assert counts[1] == 40  # rows really went in before the failure
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(loader, "_insert", insert_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        load_files(con, [str(write_csv(tmp_path / "more.csv", bars(50)))], "BTCUSDT", "1m")
    assert snapshot(con) == before


def test_failed_load_leaves_file_bytes_unchanged(tmp_path):
    db = tmp_path / "bytes.duckdb"
    con = duckdb.connect(str(db))
    ensure_schema(con)
    load_files(con, [str(write_csv(tmp_path / "seed.csv", bars(30)))], "BTCUSDT", "1m")
    con.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    bad = bars(10)
    bad[4][3] = 1e9  # low above everything
    con = duckdb.connect(str(db))
    with pytest.raises(LoadError):
        load_files(con, [str(write_csv(tmp_path / "new.csv", bars(10, start=T0 + 100 * MIN))),
                         str(write_csv(tmp_path / "bad.csv", bad))], "BTCUSDT", "1m")
    con.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_unknown_interval(con, tmp_path):
    with pytest.raises(LoadError, match="unknown interval"):
        load_files(con, [str(write_csv(tmp_path / "a.csv", bars(3)))], "BTCUSDT", "7m")

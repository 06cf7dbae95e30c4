"""The reader serves a table's rows as `interval` bars only if they are that far apart: a plain
`ohlc` table of 1m rows is refused for 1h (naming table, spacing found and interval asked),
not replayed as if each minute were an hour."""
import duckdb
import msgspec
import pytest

from exsim.config import Config
from exsim.store import reader
from exsim.store.db import StoreError
from exsim.store.schema import ensure_schema, ohlc_ddl
from exsim.wire.app import prepare_database

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z, a Monday


def write_bars(path, table: str, opens: list[int], step: int, symbol: str = "BTCUSDT") -> str:
    """A DuckDB file with ExSim's schema (whose ohlc_1m stays empty) and `opens` in `table`."""
    con = duckdb.connect(str(path))
    ensure_schema(con)
    con.execute(ohlc_ddl(table))
    con.executemany(f"INSERT INTO {table} VALUES (?, ?, 100, 101, 99, 100.5, 1, ?)",
                    [[symbol, ts, ts + step - 1] for ts in opens])
    con.close()
    return str(path)


def bars_of(path, interval: str, symbol: str = "BTCUSDT"):
    con = duckdb.connect(path)
    try:
        return reader.bar_range(con, symbol, interval, None, None)
    finally:
        con.close()


def test_plain_ohlc_table_of_1m_rows_is_refused_as_1h(tmp_path):
    path = write_bars(tmp_path / "m.duckdb", "ohlc", [T0 + i * MIN for i in range(600)], MIN)
    with pytest.raises(reader.NoData) as err:
        bars_of(path, "1h")
    assert isinstance(err.value, reader.WrongSpacing)
    message = str(err.value)
    assert message.startswith("table ohlc holds BTCUSDT bars 1m apart, not the 1h asked for"), message
    assert message.endswith("(in ohlc_1m they would be resampled to 1h)"), message


def test_plain_ohlc_table_of_1h_rows_serves_1h(tmp_path):
    path = write_bars(tmp_path / "h.duckdb", "ohlc", [T0 + i * HOUR for i in range(48)], HOUR)
    assert bars_of(path, "1h") == (T0, T0 + 47 * HOUR, 48)


def test_plain_ohlc_table_of_1m_rows_still_serves_1m(tmp_path):
    path = write_bars(tmp_path / "m.duckdb", "ohlc", [T0 + i * MIN for i in range(600)], MIN)
    assert bars_of(path, "1m") == (T0, T0 + 599 * MIN, 600)


def test_interval_table_holding_other_bars_is_refused(tmp_path):
    path = write_bars(tmp_path / "m.duckdb", "ohlc_1h", [T0 + i * MIN for i in range(600)], MIN)
    with pytest.raises(reader.WrongSpacing, match="table ohlc_1h holds BTCUSDT bars 1m apart, not the 1h its name says"):
        bars_of(path, "1h")


def test_finer_table_resampled_from_is_checked_too(tmp_path):
    # ohlc_1m holding hourly rows would give one "5m" bar an hour
    path = write_bars(tmp_path / "m.duckdb", "ohlc_1m", [T0 + i * HOUR for i in range(48)], HOUR)
    with pytest.raises(reader.WrongSpacing, match="table ohlc_1m holds BTCUSDT bars 1h apart, not the 1m"):
        bars_of(path, "5m")


def test_missing_bars_do_not_change_the_spacing_found(tmp_path):
    # every third hour missing and a two-day hole: the gaps are long, the usual step is still 1h
    opens = [T0 + i * HOUR for i in range(200) if i % 3 != 2 and not 50 <= i < 98]
    path = write_bars(tmp_path / "h.duckdb", "ohlc", opens, HOUR)
    assert bars_of(path, "1h")[2] == len(opens)
    with pytest.raises(reader.WrongSpacing, match="bars 1h apart, not the 4h"):
        bars_of(path, "4h")


def test_one_stray_bar_does_not_change_the_spacing_found(tmp_path):
    opens = sorted([T0 + i * HOUR for i in range(48)] + [T0 + 5 * HOUR + MIN])
    path = write_bars(tmp_path / "h.duckdb", "ohlc", opens, HOUR)
    assert bars_of(path, "1h")[2] == 49


def test_calendar_months_are_1M_bars(tmp_path):
    # 2024: month lengths of 31, 29, 31, 30 ... days, all one 1M step
    starts = [T0]
    for days in (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30):
        starts.append(starts[-1] + days * DAY)
    path = write_bars(tmp_path / "mo.duckdb", "ohlc", starts, 28 * DAY)
    assert bars_of(path, "1M")[2] == 12
    with pytest.raises(reader.WrongSpacing, match="bars 1M apart, not the 1w asked for"):
        bars_of(path, "1w")
    months = write_bars(tmp_path / "mo2.duckdb", "ohlc_1mo", starts, 28 * DAY)
    assert bars_of(months, "1M")[2] == 12


def test_a_spacing_that_is_no_interval_is_named_as_a_duration(tmp_path):
    path = write_bars(tmp_path / "s.duckdb", "ohlc", [T0 + i * 90_000 for i in range(100)], 90_000)
    with pytest.raises(reader.WrongSpacing, match="bars 90s apart, not the 1m asked for"):
        bars_of(path, "1m")


def test_the_gateway_refuses_to_start_on_such_a_table(tmp_path):
    path = write_bars(tmp_path / "m.duckdb", "ohlc", [T0 + i * MIN for i in range(600)], MIN)
    cfg = msgspec.convert({"duckdb_path": path, "symbol": "BTCUSDT", "interval": "1h"}, Config)
    with pytest.raises(StoreError, match="table ohlc holds BTCUSDT bars 1m apart, not the 1h asked for"):
        prepare_database(cfg)
    # and nothing was written into the file meanwhile: no synthetic data beside the user's
    con = duckdb.connect(path)
    assert con.execute("SELECT count(*) FROM ohlc_1m").fetchall() == [(0,)]
    con.close()

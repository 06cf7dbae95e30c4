"""A missing interval table is resampled in SQL from a finer one, matching a direct aggregation,
and never includes base bars after sim time."""
import duckdb

from exsim.store import reader
from tests.conftest import T0, make_dataset


def test_1h_from_1m_matches_direct_aggregation(tmp_path):
    path = make_dataset(str(tmp_path / "r.duckdb"), days=2)
    con = duckdb.connect(path)
    rows = reader.klines(con, "BTCUSDT", "1h", T0, None, 1000, visible_before=1 << 62)
    direct = con.execute(
        "SELECT ts // 3600000 * 3600000 AS h, arg_min(open, ts), max(high), min(low), arg_max(close, ts), "
        "sum(volume) FROM ohlc_1m WHERE symbol = 'BTCUSDT' GROUP BY h ORDER BY h").fetchall()
    assert len(rows) == 48 == len(direct)
    for got, want in zip(rows, direct):
        assert got[0] == want[0] and got[6] == want[0] + 3_599_999
        assert got[1:5] == want[1:5]
        assert abs(got[5] - want[5]) < 1e-6


def test_resampled_bar_still_forming_only_includes_closed_base_bars(tmp_path):
    path = make_dataset(str(tmp_path / "r.duckdb"), days=1)
    con = duckdb.connect(path)
    now = T0 + 3_600_000 + 10 * 60_000  # 10 minutes into the second hour
    rows = reader.klines(con, "BTCUSDT", "1h", None, None, 10, visible_before=now)
    assert [r[0] for r in rows] == [T0, T0 + 3_600_000]
    partial = rows[-1]
    expect = con.execute("SELECT max(high), sum(volume), arg_max(close, ts) FROM ohlc_1m WHERE symbol='BTCUSDT' "
                         "AND ts >= ? AND close_ts < ?", [T0 + 3_600_000, now]).fetchall()[0]
    assert partial[2] == expect[0] and abs(partial[5] - expect[1]) < 1e-6 and partial[4] == expect[2]


def test_week_bars_open_on_monday(tmp_path):
    path = make_dataset(str(tmp_path / "r.duckdb"), days=10)
    con = duckdb.connect(path)
    rows = reader.klines(con, "BTCUSDT", "1w", None, None, 10, visible_before=1 << 62)
    assert rows[0][0] == T0  # 2024-01-01 was a Monday
    assert rows[1][0] == T0 + 7 * 86_400_000

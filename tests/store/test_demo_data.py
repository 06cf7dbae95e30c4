"""The embedded synthetic dataset: deterministic per seed, sane OHLC, regimes, 8-hourly funding."""
import duckdb

from exsim.store import demo
from tests.conftest import DAY_MS, T0


def build(path, seed):
    con = duckdb.connect(path)
    demo.generate(con, seed=seed, start_ms=T0, end_ms=T0 + 20 * DAY_MS)
    return con


def test_same_seed_same_bars_other_seed_other_bars(tmp_path):
    a = build(str(tmp_path / "a.duckdb"), 7)
    b = build(str(tmp_path / "b.duckdb"), 7)
    c = build(str(tmp_path / "c.duckdb"), 8)
    q = "SELECT symbol, ts, open, high, low, close, volume FROM ohlc_1m ORDER BY symbol, ts"
    assert a.execute(q).fetchall() == b.execute(q).fetchall()
    assert a.execute(q).fetchall() != c.execute(q).fetchall()


def test_bars_are_consistent_and_labelled_synthetic(tmp_path):
    con = build(str(tmp_path / "a.duckdb"), 7)
    bad = con.execute("SELECT count(*) FROM ohlc_1m WHERE high < greatest(open, close) OR low > least(open, close) "
                      "OR close_ts <> ts + 59999 OR volume <= 0").fetchall()[0][0]
    assert bad == 0
    counts = dict(con.execute("SELECT symbol, count(*) FROM ohlc_1m GROUP BY 1").fetchall())
    assert counts == {"BTCUSDT": 20 * 1440, "ETHUSDT": 20 * 1440}
    assert con.execute("SELECT value FROM dataset_info WHERE key = 'data_source'").fetchall() == [("synthetic",)]
    funding = con.execute("SELECT funding_time FROM funding WHERE symbol = 'BTCUSDT' ORDER BY 1").fetchall()
    assert len(funding) == 60 and all(t % (8 * 3_600_000) == 0 for (t,) in funding)


def test_price_level_and_volatility_regimes_are_realistic(tmp_path):
    con = build(str(tmp_path / "a.duckdb"), 7)
    lo, hi = con.execute("SELECT min(low), max(high) FROM ohlc_1m WHERE symbol = 'BTCUSDT'").fetchall()[0]
    assert 20_000 < lo < hi < 80_000
    vols = [v for (v,) in con.execute(
        "SELECT stddev(ln(close / open)) FROM ohlc_1m WHERE symbol = 'BTCUSDT' GROUP BY ts // (14 * 86400000) "
        "ORDER BY 1").fetchall()]
    assert max(vols) / min(vols) > 1.2  # volatility changes between two-week regimes

"""/fapi/v1/openInterest and /futures/data/openInterestHist: Binance's shapes, period-grid
timestamps never past sim time, windows, errors; the synthetic figure (rolling 24 h volume of
the bars, valued at the last close) and an `open_interest` table when the database has one."""
from decimal import Decimal

import duckdb

from tests.conftest import T0
from tests.wire.test_market_data_rest import MIN, get, step

HOUR = 60 * MIN
HIST = "/futures/data/openInterestHist"


def volume(klines: list, lo: int, hi: int) -> Decimal:
    return sum((Decimal(k[5]) for k in klines if lo <= k[0] < hi), Decimal(0))


async def test_open_interest_is_the_24h_volume_at_sim_time(exsim_client):
    c = await exsim_client()
    await step(c, 99)
    _, now = await get(c, "/fapi/v1/time")
    status, oi = await get(c, "/fapi/v1/openInterest", symbol="btcusdt")
    assert status == 200 and set(oi) == {"openInterest", "symbol", "time"}
    assert oi["symbol"] == "BTCUSDT" and oi["time"] == now["serverTime"]
    _, ticker = await get(c, "/fapi/v1/ticker/24hr", symbol="BTCUSDT")
    assert oi["openInterest"] == ticker["volume"] and len(oi["openInterest"].split(".")[1]) == 3


async def test_history_points_are_period_boundaries_up_to_sim_time(exsim_client):
    c = await exsim_client()
    await step(c, 99)  # bars to 01:39 closed: sim time 01:40
    _, now = await get(c, "/fapi/v1/time")
    status, points = await get(c, HIST, symbol="BTCUSDT", period="5m")
    assert status == 200 and [p["timestamp"] for p in points] == [T0 + k * 5 * MIN for k in range(1, 21)]
    assert points[-1]["timestamp"] == now["serverTime"]  # T0 itself: no bar had closed, no point
    assert all(set(p) == {"symbol", "sumOpenInterest", "sumOpenInterestValue", "CMCCirculatingSupply",
                          "timestamp"} for p in points)
    assert all(isinstance(p["timestamp"], int) and p["symbol"] == "BTCUSDT" for p in points)
    assert all(len(p[k].split(".")[1]) == 8 for p in points for k in ("sumOpenInterest", "sumOpenInterestValue"))
    _, oi = await get(c, "/fapi/v1/openInterest", symbol="BTCUSDT")
    assert Decimal(points[-1]["sumOpenInterest"]) == Decimal(oi["openInterest"])
    _, klines = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=1500)
    for p in points:
        t = p["timestamp"]
        assert Decimal(p["sumOpenInterest"]) == volume(klines, t - 24 * HOUR, t)
        close = Decimal(next(k[4] for k in klines if k[6] == t - 1))
        assert abs(Decimal(p["sumOpenInterestValue"]) - Decimal(p["sumOpenInterest"]) * close) < Decimal("0.001")
    await step(c, 5)
    _, later = await get(c, HIST, symbol="BTCUSDT", period="5m")
    assert later[-1]["timestamp"] == T0 + 105 * MIN and later[:-1] == points


async def test_the_figure_rolls_over_24_hours(exsim_client):
    c = await exsim_client()
    await step(c, 30 * 60)
    _, hourly = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1h", limit=1500)
    _, points = await get(c, HIST, symbol="BTCUSDT", period="1h", startTime=T0 + 20 * HOUR, limit=10)
    assert [p["timestamp"] for p in points] == [T0 + h * HOUR for h in range(20, 30)]
    for p in points:
        t = p["timestamp"]
        assert Decimal(p["sumOpenInterest"]) == volume(hourly, t - 24 * HOUR, t)


async def test_windows_limits_and_sim_time(exsim_client):
    c = await exsim_client()
    await step(c, 99)
    _, now = await get(c, "/fapi/v1/time")
    ts = lambda ps: [p["timestamp"] for p in ps]  # noqa: E731
    _, first = await get(c, HIST, symbol="BTCUSDT", period="5m", startTime=T0 + 7 * MIN, limit=3)
    assert ts(first) == [T0 + 10 * MIN, T0 + 15 * MIN, T0 + 20 * MIN]
    _, last = await get(c, HIST, symbol="BTCUSDT", period="5m", endTime=T0 + 33 * MIN, limit=2)
    assert ts(last) == [T0 + 25 * MIN, T0 + 30 * MIN]
    _, both = await get(c, HIST, symbol="BTCUSDT", period="15m", startTime=T0, endTime=T0 + 46 * MIN)
    assert ts(both) == [T0 + 15 * MIN, T0 + 30 * MIN, T0 + 45 * MIN]
    _, capped = await get(c, HIST, symbol="BTCUSDT", period="30m", endTime=now["serverTime"] + 10 * HOUR)
    assert ts(capped) == [T0 + 30 * MIN, T0 + HOUR, T0 + 90 * MIN]
    _, future = await get(c, HIST, symbol="BTCUSDT", period="5m", startTime=now["serverTime"] + 1)
    assert future == []
    await step(c, 3 * 24 * 60 - 200)  # most of the dataset
    _, day = await get(c, HIST, symbol="ETHUSDT", period="1d", limit=500)
    assert ts(day) == [T0 + 86_400_000, T0 + 2 * 86_400_000]
    _, default = await get(c, HIST, symbol="ETHUSDT", period="5m")
    assert len(default) == 30  # Binance's default limit


async def test_a_loaded_open_interest_table_is_served(exsim_client, db_path):
    con = duckdb.connect(db_path)
    con.execute("CREATE TABLE open_interest (symbol VARCHAR, ts BIGINT, sum_open_interest DOUBLE, "
                "sum_open_interest_value DOUBLE)")
    con.execute("INSERT INTO open_interest SELECT 'BTCUSDT', ? + k * 300000, 1000 + k, 2000.5 + k "
                "FROM range(0, 40) t(k) WHERE k <> 6", [T0])  # no 00:30 snapshot
    con.close()
    c = await exsim_client()
    await step(c, 99)
    _, points = await get(c, HIST, symbol="BTCUSDT", period="5m", limit=500)
    k = [p["timestamp"] for p in points]
    assert k == [T0 + i * 5 * MIN for i in range(21) if i != 6]  # up to sim time 01:40, not beyond
    assert points[0]["sumOpenInterest"] == "1000.00000000" and points[0]["sumOpenInterestValue"] == "2000.50000000"
    _, hourly = await get(c, HIST, symbol="BTCUSDT", period="1h")
    assert [(p["timestamp"], p["sumOpenInterest"]) for p in hourly] == [(T0, "1000.00000000"),
                                                                         (T0 + HOUR, "1012.00000000")]
    _, oi = await get(c, "/fapi/v1/openInterest", symbol="BTCUSDT")
    assert oi["openInterest"] == "1020.000"  # the snapshot at 01:40
    _, eth = await get(c, "/fapi/v1/openInterest", symbol="ETHUSDT")  # no rows for it: synthetic
    _, ticker = await get(c, "/fapi/v1/ticker/24hr", symbol="ETHUSDT")
    assert eth["openInterest"] == ticker["volume"]


async def test_bad_queries_get_binance_errors(exsim_client):
    c = await exsim_client()
    cases = [
        ("/fapi/v1/openInterest", {}, -1102),
        ("/fapi/v1/openInterest", {"symbol": "NOPE"}, -1121),
        (HIST, {"period": "5m"}, -1102),
        (HIST, {"symbol": "NOPE", "period": "5m"}, -1121),
        (HIST, {"symbol": "BTCUSDT"}, -1102),
        (HIST, {"symbol": "BTCUSDT", "period": "1m"}, -1130),
        (HIST, {"symbol": "BTCUSDT", "period": "1w"}, -1130),
        (HIST, {"symbol": "BTCUSDT", "period": "5m", "limit": "501"}, -1130),
        (HIST, {"symbol": "BTCUSDT", "period": "5m", "limit": "-1"}, -1130),
        (HIST, {"symbol": "BTCUSDT", "period": "5m", "endTime": "1e9"}, -1100),
        (HIST, {"symbol": "BTCUSDT", "period": "5m", "startTime": "9", "endTime": "1"}, -1023),
    ]
    for path, params, code in cases:
        status, body = await get(c, path, **params)
        assert (status, body["code"]) == (400, code), (path, params, body)
        assert isinstance(body["msg"], str)

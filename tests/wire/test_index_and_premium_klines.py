"""/fapi/v1/indexPriceKlines, premiumIndexKlines and continuousKlines: Binance's row shapes, the
same bars and windows as /fapi/v1/klines, nothing past sim time, Binance's errors."""
from decimal import Decimal

import duckdb

from exsim.wire.keys import CLOCK
from tests.conftest import T0
from tests.wire.test_market_data_rest import MIN, get, step

HOUR = 60 * MIN
EIGHT = Decimal("0.00000001")


def premium_for(rate: str) -> str:
    """Binance: F = P + clamp(0.0001 - P, -0.0005, 0.0005), solved for P (0 where F = 0.0001)."""
    f, i = Decimal(rate), Decimal("0.0001")
    p = f + Decimal("0.0005") if f > i else f - Decimal("0.0005") if f < i else Decimal(0)
    return f"{p.quantize(EIGHT):f}"


async def test_index_rows_are_the_kline_prices_with_no_volume(exsim_client):
    c = await exsim_client()
    await step(c, 89)
    for interval, params in [("1m", {"limit": 30}), ("1h", {}), ("5m", {"startTime": T0 + 10 * MIN, "limit": 4}),
                             ("1m", {"endTime": T0 + 20 * MIN, "limit": 3})]:
        _, klines = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval=interval, **params)
        status, index = await get(c, "/fapi/v1/indexPriceKlines", pair="btcusdt", interval=interval, **params)
        assert status == 200 and len(index) == len(klines) > 0
        for k, row in zip(klines, index):
            assert [row[0], row[6]] == [k[0], k[6]]
            assert [Decimal(x) for x in row[1:5]] == [Decimal(x) for x in k[1:5]]
            assert all(len(x.split(".")[1]) == 8 for x in row[1:5])  # 8 decimals, as Binance's index
            assert row[5] == row[7] == row[9] == row[10] == row[11] == "0" and isinstance(row[8], int)
    _, index = await get(c, "/fapi/v1/indexPriceKlines", pair="BTCUSDT", interval="1m", limit=1)
    assert index[0][8] == 60  # one index price a second
    _, hour = await get(c, "/fapi/v1/indexPriceKlines", pair="BTCUSDT", interval="1h", limit=1)
    assert hour[0][0] == T0 + HOUR and hour[0][8] == 30 * 60  # the forming hour: 30 minutes so far


async def test_index_klines_end_at_sim_time(exsim_client):
    c = await exsim_client()
    await step(c, 9)
    _, now = await get(c, "/fapi/v1/time")
    _, rows = await get(c, "/fapi/v1/indexPriceKlines", pair="BTCUSDT", interval="1m", limit=1500)
    assert len(rows) == 10 and rows[-1][6] < now["serverTime"]
    _, future = await get(c, "/fapi/v1/indexPriceKlines", pair="BTCUSDT", interval="1m", startTime=now["serverTime"])
    assert future == []


async def test_forming_bar_counts_only_the_seconds_replayed(exsim_client):
    c = await exsim_client(ticks_per_bar=4)
    clock = c.server.app[CLOCK]
    async with clock._lock:
        clock._advance_tick()  # a quarter into the second bar
    _, klines = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m")
    _, rows = await get(c, "/fapi/v1/indexPriceKlines", pair="BTCUSDT", interval="1m")
    assert rows[-1][0] == T0 + MIN and rows[-1][8] == 15
    assert Decimal(rows[-1][4]) == Decimal(klines[-1][4])


async def test_premium_is_the_one_the_last_settled_rate_implies(exsim_client):
    c = await exsim_client()
    await step(c, 16 * 60 + 29)  # past the 08:00 and 16:00 settlements
    _, rates = await get(c, "/fapi/v1/fundingRate", symbol="BTCUSDT")
    by_time = {r["fundingTime"]: r["fundingRate"] for r in rates}
    assert sorted(by_time) == [T0, T0 + 8 * HOUR, T0 + 16 * HOUR]
    status, rows = await get(c, "/fapi/v1/premiumIndexKlines", symbol="BTCUSDT", interval="4h")
    assert status == 200 and [r[0] for r in rows] == [T0 + k * 4 * HOUR for k in range(5)]
    for r in rows:
        settled = max(t for t in by_time if t <= r[0])
        assert r[1:5] == [premium_for(by_time[settled])] * 4
        assert r[5] == r[7] == r[9] == r[10] == r[11] == "0" and r[6] == r[0] + 4 * HOUR - 1
    assert rows[0][8] == 4 * 720 and rows[-1][8] == 30 * 12  # one premium every 5 s, so far
    _, day = await get(c, "/fapi/v1/premiumIndexKlines", symbol="BTCUSDT", interval="1d")
    steps = [premium_for(by_time[t]) for t in sorted(by_time)]
    assert day[0][1:5] == [steps[0], max(steps, key=Decimal), min(steps, key=Decimal), steps[-1]]


async def test_premium_shows_no_settlement_before_it_happens(exsim_client):
    c = await exsim_client()
    await step(c, 8 * 60 - 2)  # the last bar before 08:00 has closed: sim time 07:59
    _, rows = await get(c, "/fapi/v1/premiumIndexKlines", symbol="BTCUSDT", interval="1d")
    _, rates = await get(c, "/fapi/v1/fundingRate", symbol="BTCUSDT")
    assert [r["fundingTime"] for r in rates] == [T0]
    assert rows[0][1:5] == [premium_for(rates[0]["fundingRate"])] * 4


async def test_premium_without_funding_rows_comes_from_the_configured_rate(exsim_client, db_path):
    con = duckdb.connect(db_path)
    con.execute("DELETE FROM funding")
    con.close()
    c = await exsim_client(funding_rate=0.0003)
    await step(c, 5)
    _, rows = await get(c, "/fapi/v1/premiumIndexKlines", symbol="BTCUSDT", interval="1m")
    assert len(rows) == 6 and all(r[1:5] == ["0.00080000"] * 4 for r in rows)


async def test_continuous_klines_are_the_perpetuals_klines(exsim_client):
    c = await exsim_client()
    await step(c, 40)
    for interval in ("1m", "15m", "1h"):
        _, klines = await get(c, "/fapi/v1/klines", symbol="ETHUSDT", interval=interval, limit=7)
        status, rows = await get(c, "/fapi/v1/continuousKlines", pair="ETHUSDT", contractType="PERPETUAL",
                                 interval=interval, limit=7)
        assert status == 200 and rows == klines


async def test_bad_queries_get_binance_errors(exsim_client):
    c = await exsim_client()
    cases = [
        ("/fapi/v1/indexPriceKlines", {"pair": "NOPE", "interval": "1m"}, -1121),
        ("/fapi/v1/indexPriceKlines", {"interval": "1m"}, -1102),
        ("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT"}, -1102),
        ("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT", "interval": "7m"}, -1120),
        ("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT", "interval": "1m", "limit": "1501"}, -1130),
        ("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT", "interval": "1m", "startTime": "x"}, -1100),
        ("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT", "interval": "1m", "startTime": "9", "endTime": "1"},
         -1023),
        ("/fapi/v1/premiumIndexKlines", {"symbol": "NOPE", "interval": "1m"}, -1121),
        ("/fapi/v1/premiumIndexKlines", {"pair": "BTCUSDT", "interval": "1m"}, -1102),
        ("/fapi/v1/premiumIndexKlines", {"symbol": "BTCUSDT", "interval": "2m"}, -1120),
        ("/fapi/v1/premiumIndexKlines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "0"}, -1130),
        ("/fapi/v1/continuousKlines", {"pair": "BTCUSDT", "interval": "1m"}, -1102),
        ("/fapi/v1/continuousKlines", {"pair": "BTCUSDT", "contractType": "FOREVER", "interval": "1m"}, -1130),
        ("/fapi/v1/continuousKlines", {"pair": "BTCUSDT", "contractType": "CURRENT_QUARTER", "interval": "1m"},
         -1121),
        ("/fapi/v1/continuousKlines", {"pair": "NOPE", "contractType": "PERPETUAL", "interval": "1m"}, -1121),
        ("/fapi/v1/continuousKlines", {"pair": "BTCUSDT", "contractType": "PERPETUAL", "interval": "1s"}, -1120),
    ]
    for path, params, code in cases:
        status, body = await get(c, path, **params)
        assert (status, body["code"]) == (400, code), (path, params, body)
        assert isinstance(body["msg"], str)

"""/fapi/v1/fundingInfo: one entry per replayed symbol in Binance's shape; the funding interval
follows the funding table's spacing (8 h without one, as the engine settles)."""
import duckdb

from tests.conftest import T0
from tests.wire.test_market_data_rest import get, step

HOUR = 3_600_000


async def test_every_symbol_in_binances_shape(exsim_client):
    c = await exsim_client()
    status, info = await get(c, "/fapi/v1/fundingInfo")
    assert status == 200 and [i["symbol"] for i in info] == ["BTCUSDT", "ETHUSDT"]
    for item in info:
        assert set(item) == {"symbol", "adjustedFundingRateCap", "adjustedFundingRateFloor",
                             "fundingIntervalHours", "disclaimer", "updateTime"}
        assert item["adjustedFundingRateCap"] == "0.02000000" and item["adjustedFundingRateFloor"] == "-0.02000000"
        assert item["fundingIntervalHours"] == 8 and item["disclaimer"] is False
        assert item["updateTime"] == T0


async def test_the_interval_follows_the_funding_tables_spacing(exsim_client, db_path):
    con = duckdb.connect(db_path)
    con.execute("UPDATE funding SET funding_time = ? + (funding_time - ?) // 2 WHERE symbol = 'ETHUSDT'", [T0, T0])
    con.close()
    c = await exsim_client()
    await step(c, 5 * 60)
    _, info = await get(c, "/fapi/v1/fundingInfo")
    assert {i["symbol"]: i["fundingIntervalHours"] for i in info} == {"BTCUSDT": 8, "ETHUSDT": 4}
    _, prem = await get(c, "/fapi/v1/premiumIndex", symbol="ETHUSDT")
    assert prem["nextFundingTime"] == T0 + 8 * HOUR  # the engine settles on the same 4 h grid


async def test_without_funding_rows_the_engines_8_hours(exsim_client, db_path):
    con = duckdb.connect(db_path)
    con.execute("DELETE FROM funding")
    con.close()
    c = await exsim_client()
    _, info = await get(c, "/fapi/v1/fundingInfo")
    assert [i["fundingIntervalHours"] for i in info] == [8, 8]

"""X-MBX-USED-WEIGHT-1M grows by Binance's weight of each request: by path, by `limit` for the
klines family and depth, by symbol or not for forceOrders."""
import pytest

CASES = [("/fapi/v1/ping", {}, 1), ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "50"}, 1),
         ("/fapi/v1/markPriceKlines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "1000"}, 5),
         ("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT", "interval": "1m", "limit": "1500"}, 10),
         ("/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "5"}, 2),
         ("/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "1000"}, 20),
         ("/fapi/v1/trades", {"symbol": "BTCUSDT"}, 5), ("/fapi/v1/aggTrades", {"symbol": "BTCUSDT"}, 20),
         ("/fapi/v1/historicalTrades", {"symbol": "BTCUSDT"}, 20),
         ("/fapi/v1/forceOrders", {"symbol": "BTCUSDT"}, 20), ("/fapi/v1/forceOrders", {}, 50),
         ("/fapi/v1/adlQuantile", {}, 5), ("/fapi/v1/multiAssetsMargin", {}, 30)]


@pytest.mark.parametrize("path,params,weight", CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
async def test_weight_of_a_request(exsim_client, path, params, weight):
    c = await exsim_client()
    before = int((await c.get("/fapi/v1/ping")).headers["X-MBX-USED-WEIGHT-1M"])
    r = await c.get(path, params=params)
    assert r.status == 200, await r.text()
    assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) - before == weight

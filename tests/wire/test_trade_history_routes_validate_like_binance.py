"""REST trade history: Binance's defaults, limits and error codes for `/fapi/v1/trades` (default
500, max 1000), `/fapi/v1/historicalTrades` (default 100, max 500) and `/fapi/v1/aggTrades`
(default 500, max 1000; startTime/endTime at most an hour apart, -1127 otherwise)."""
from tests.conftest import T0

HOUR = 3_600_000


async def call(c, path, **params):
    r = await c.get(path, params=params)
    return r.status, await r.json()


async def test_defaults_limits_and_windows(exsim_client):
    c = await exsim_client()
    await c.post("/admin/step", json={"bars": 700})  # one trade per 1m bar
    status, recent = await call(c, "/fapi/v1/trades", symbol="BTCUSDT")
    assert status == 200 and len(recent) == 500
    _, hist = await call(c, "/fapi/v1/historicalTrades", symbol="BTCUSDT")
    assert len(hist) == 100 and hist == recent[-100:]
    _, aggs = await call(c, "/fapi/v1/aggTrades", symbol="BTCUSDT")
    assert len(aggs) == 500 and [a["a"] for a in aggs] == [t["id"] for t in recent]
    # ccxt's fetch_trades(since) sends endTime = since + exactly one hour
    status, hour = await call(c, "/fapi/v1/aggTrades", symbol="BTCUSDT", startTime=T0, endTime=T0 + HOUR)
    assert status == 200 and len(hour) == 60 and all(T0 <= a["T"] <= T0 + HOUR for a in hour)
    _, first = await call(c, "/fapi/v1/aggTrades", symbol="BTCUSDT", startTime=T0, limit=3)
    assert [a["T"] for a in first] == [T0 + 60_000 * k - 1 for k in (1, 2, 3)]
    _, upto = await call(c, "/fapi/v1/aggTrades", symbol="BTCUSDT", endTime=T0 + 10 * 60_000, limit=2)
    assert [a["T"] for a in upto] == [T0 + 9 * 60_000 - 1, T0 + 10 * 60_000 - 1]


async def test_bad_queries_get_binance_errors(exsim_client):
    c = await exsim_client()
    cases = [
        ("/fapi/v1/trades", {"symbol": "BTCUSDT", "limit": "1001"}, -1130),
        ("/fapi/v1/trades", {"symbol": "BTCUSDT", "limit": "0"}, -1130),
        ("/fapi/v1/trades", {"symbol": "NOPE"}, -1121),
        ("/fapi/v1/trades", {}, -1102),
        ("/fapi/v1/historicalTrades", {"symbol": "BTCUSDT", "limit": "501"}, -1130),
        ("/fapi/v1/historicalTrades", {"symbol": "BTCUSDT", "fromId": "x"}, -1100),
        ("/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "startTime": str(T0), "endTime": str(T0 + HOUR + 1)}, -1127),
        ("/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "startTime": "5", "endTime": "1"}, -1023),
        ("/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "limit": "1001"}, -1130),
    ]
    for path, params, code in cases:
        status, body = await call(c, path, **params)
        assert status == 400 and body["code"] == code, (path, params, body)

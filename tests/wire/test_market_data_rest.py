"""Market-data routes: Binance shapes, sim-time view (no look-ahead), Binance error codes."""
from tests.conftest import T0

MIN = 60_000


async def step(client, bars):
    r = await client.post("/admin/step", json={"bars": bars})
    assert r.status == 200
    return await r.json()


async def get(client, path, **params):
    r = await client.get(path, params=params)
    return r.status, await r.json()


async def test_time_is_sim_time_and_moves_only_with_the_clock(exsim_client):
    c = await exsim_client()
    _, t0 = await get(c, "/fapi/v1/time")
    assert t0["serverTime"] == T0 + MIN  # first bar revealed at start
    await step(c, 9)
    _, t1 = await get(c, "/fapi/v1/time")
    assert t1["serverTime"] == T0 + 10 * MIN


async def test_klines_never_return_a_bar_beyond_sim_time(exsim_client):
    c = await exsim_client()
    await step(c, 29)
    _, now = await get(c, "/fapi/v1/time")
    status, rows = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=1500)
    assert status == 200 and len(rows) == 30
    assert rows[-1][6] < now["serverTime"] and rows[-1][0] == T0 + 29 * MIN
    _, future = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", startTime=now["serverTime"])
    assert future == []
    _, hourly = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1h")
    assert len(hourly) == 1 and hourly[0][0] == T0  # the forming hour, from 30 closed minutes


async def test_kline_row_shape_and_windows(exsim_client):
    c = await exsim_client()
    await step(c, 99)
    _, rows = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", startTime=T0 + 10 * MIN, limit=5)
    assert [r[0] for r in rows] == [T0 + (10 + i) * MIN for i in range(5)]
    row = rows[0]
    assert len(row) == 12 and isinstance(row[0], int) and isinstance(row[6], int) and row[6] == row[0] + MIN - 1
    assert all(isinstance(x, str) for x in row[1:6]) and float(row[2]) >= max(float(row[1]), float(row[4]))
    _, last = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", endTime=T0 + 50 * MIN, limit=3)
    assert [r[0] for r in last] == [T0 + 48 * MIN, T0 + 49 * MIN, T0 + 50 * MIN]
    _, both = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", startTime=T0, endTime=T0 + 4 * MIN)
    assert len(both) == 5
    _, default = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m")
    assert len(default) == 100  # all 100 replayed bars (< default limit 500)


async def test_intra_bar_ticks_show_the_forming_bar_as_known_so_far(exsim_client):
    c = await exsim_client(ticks_per_bar=4)
    sim = c.server.app[__import__("exsim.wire.keys", fromlist=["SIM"]).SIM]
    clock = c.server.app[__import__("exsim.wire.keys", fromlist=["CLOCK"]).CLOCK]
    async with clock._lock:
        clock._advance_tick()  # one quarter into the second bar
    _, rows = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m")
    assert rows[-1][0] == T0 + MIN and len(rows) == 2
    assert rows[-1][4] == sim.market.inst.price.fmt(sim.market.last)
    assert sim.sim_time == T0 + MIN + 15_000


async def test_tickers_premium_index_depth_and_exchange_info(exsim_client):
    c = await exsim_client()
    await step(c, 5)
    _, rows = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=1)
    close = rows[-1][4]
    _, price = await get(c, "/fapi/v1/ticker/price", symbol="BTCUSDT")
    assert price["price"] == close and price["symbol"] == "BTCUSDT"
    _, prices = await get(c, "/fapi/v2/ticker/price")
    assert isinstance(prices, list) and prices[0]["price"] == close
    _, book = await get(c, "/fapi/v1/ticker/bookTicker", symbol="BTCUSDT")
    assert float(book["bidPrice"]) < float(close) < float(book["askPrice"])
    _, t24 = await get(c, "/fapi/v1/ticker/24hr", symbol="BTCUSDT")
    assert t24["lastPrice"] == close and t24["count"] == 6
    _, prem = await get(c, "/fapi/v1/premiumIndex", symbol="BTCUSDT")
    assert prem["markPrice"] == close and prem["nextFundingTime"] == T0 + 8 * 3_600_000
    _, depth = await get(c, "/fapi/v1/depth", symbol="BTCUSDT", limit=5)
    assert len(depth["bids"]) == 5 and depth["bids"][0][0] == book["bidPrice"] and depth["asks"][0][0] == book["askPrice"]
    _, info = await get(c, "/fapi/v1/exchangeInfo")
    sym = info["symbols"][0]
    filters = {f["filterType"]: f for f in sym["filters"]}
    assert sym["status"] == "TRADING" and sym["contractType"] == "PERPETUAL"
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10" and filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert set(filters) == {"PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "MAX_NUM_ORDERS", "MIN_NOTIONAL",
                            "PERCENT_PRICE"}


async def test_funding_rate_history_only_up_to_sim_time(exsim_client):
    c = await exsim_client()
    await step(c, 8 * 60 + 5)  # past the 08:00 settlement
    _, rows = await get(c, "/fapi/v1/fundingRate", symbol="BTCUSDT")
    assert [r["fundingTime"] for r in rows] == [T0, T0 + 8 * 3_600_000]
    assert rows[-1]["markPrice"] != "" and float(rows[-1]["fundingRate"]) != 0


async def test_bad_queries_get_binance_errors(exsim_client):
    c = await exsim_client()
    cases = [
        ("/fapi/v1/klines", {"symbol": "NOPE", "interval": "1m"}, 400, -1121),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT"}, 400, -1102),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "7m"}, 400, -1120),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "2000"}, 400, -1130),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": "abc"}, 400, -1100),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": "5", "endTime": "1"}, 400, -1023),
        ("/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "7"}, 400, -1130),
        ("/fapi/v1/ticker/price", {"symbol": "XYZ"}, 400, -1121),
    ]
    for path, params, status, code in cases:
        got_status, body = await get(c, path, **params)
        assert (got_status, body["code"]) == (status, code), (path, params, body)
        assert isinstance(body["msg"], str)
    r = await c.get("/fapi/v1/nothing-here")
    assert r.status == 404 and (await r.json())["code"] < 0
    r = await c.put("/fapi/v1/time")
    assert r.status == 405 and (await r.json())["code"] < 0


async def test_weight_header_on_every_response(exsim_client):
    c = await exsim_client()
    r = await c.get("/fapi/v1/ping")
    assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) >= 1
    r = await c.get("/fapi/v1/klines", params={"symbol": "NOPE", "interval": "1m"})
    assert "X-MBX-USED-WEIGHT-1M" in r.headers


async def test_klines_from_memory_match_the_database(exsim_client):
    """Every replayed symbol's recent bars come from the clock's memory (the database is not
    asked), and they are the database's bars."""
    from exsim.store import reader
    from exsim.wire.keys import CLOCK, SIM, STORE
    c = await exsim_client()
    await step(c, 120)
    sim, clock = c.server.app[SIM], c.server.app[CLOCK]
    assert len(sim.markets) >= 2
    for symbol, market in sim.markets.items():
        assert clock.recent_bars(market.index, None, None, 50) is not None, symbol
        _, served = await get(c, "/fapi/v1/klines", symbol=symbol, interval="1m", limit=50)
        rows = await c.server.app[STORE].query(reader.klines, symbol, "1m", None, None, 50, sim.sim_time)
        assert len(served) == 50 and [r[0] for r in served] == [r[0] for r in rows]
        for got, want in zip(served, rows):
            assert [float(x) for x in got[1:6]] == [round(x, 3) for x in want[1:6]] and got[6] == want[6]

async def test_klines_windows_from_memory_match_the_database(exsim_client):
    """startTime / endTime / limit windows served from memory equal the database's bars: the
    window is cut from the end of memory (limit only) or from startTime, across chunks."""
    from exsim.store import reader
    from exsim.wire.keys import CLOCK, SIM, STORE
    c = await exsim_client()
    await step(c, 200)
    sim, clock = c.server.app[SIM], c.server.app[CLOCK]
    market = sim.markets["BTCUSDT"]
    newest = clock.recent_bars(market.index, None, None, 1)[0][0]
    minute = 60_000
    windows = [(None, None, 1), (None, None, 150), (None, newest - 30 * minute, 40),
               (newest - 100 * minute, None, 25), (newest - 100 * minute, newest - 90 * minute, 500),
               (newest - 10 * minute, None, 500), (newest - 150 * minute, newest - 20 * minute, 60)]
    for start, end, limit in windows:
        mem = clock.recent_bars(market.index, start, end, limit)
        assert mem is not None, (start, end, limit)
        rows = await c.server.app[STORE].query(reader.klines, "BTCUSDT", "1m", start, end, limit, sim.sim_time)
        assert [r[0] for r in mem] == [r[0] for r in rows], (start, end, limit)
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": limit}
        params.update({k: v for k, v in (("startTime", start), ("endTime", end)) if v is not None})
        _, served = await get(c, "/fapi/v1/klines", **params)
        assert [r[0] for r in served] == [r[0] for r in rows], (start, end, limit)

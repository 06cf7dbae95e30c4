"""Kline streams and REST klines of intervals coarser than the replayed one are built from the
base bars: a frame per base bar while the period is open (x=false), the final frame (x=true)
exactly with the period's last base bar, o/h/l/c/v the merge of its base bars; a stream
subscribed mid-period starts from the period's first base bar (seeded from the database);
REST shows the open period as it stands. Periods follow Binance's boundaries: weeks open on
Monday 00:00 UTC, 1M on the first of the calendar month."""
import asyncio
import json
import shutil
from datetime import datetime, timezone
from decimal import Decimal

import duckdb
from aiohttp import WSMsgType

from exsim.store.schema import ensure_schema, ohlc_ddl
from exsim.timeutil import period_end, period_open
from tests.conftest import T0

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


async def subscribe(ws, streams, req_id=1):
    await ws.send_json({"method": "SUBSCRIBE", "params": streams, "id": req_id})
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == WSMsgType.TEXT, msg  # not a broken connection
    assert json.loads(msg.data) == {"result": None, "id": req_id}


async def frames(ws, n):
    """The next n combined-stream messages as (stream, k)."""
    out = []
    for _ in range(n):
        msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        assert msg["data"]["e"] == "kline", msg
        out.append((msg["stream"], msg["data"]["k"]))
    return out


async def nothing_more(ws):
    """No stray frame is queued: the next message is the reply to this request."""
    await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 99})
    msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
    assert msg.get("id") == 99, msg


async def step(c, bars):
    r = await c.post("/admin/step", json={"bars": bars})
    body = await r.json()
    assert body["bars"] == bars, body
    return body


async def klines(c, symbol, interval, **params):
    r = await c.get("/fapi/v1/klines", params={"symbol": symbol, "interval": interval, **params})
    assert r.status == 200, await r.text()
    return await r.json()


def merged(rows):
    """(o, h, l, c, v) as Decimals of REST kline rows merged into one bar."""
    D = Decimal
    return (D(rows[0][1]), max(D(r[2]) for r in rows), min(D(r[3]) for r in rows), D(rows[-1][4]),
            sum(D(r[5]) for r in rows))


def ohlcv(k):
    return tuple(Decimal(k[x]) for x in ("o", "h", "l", "c", "v"))


def row_ohlcv(row):
    return tuple(Decimal(x) for x in row[1:6])


async def test_1h_and_5m_streams_send_every_base_bar_and_close_with_the_last_one(exsim_client):
    c = await exsim_client()
    h1, m5 = "btcusdt@kline_1h", "ethusdt@kline_5m"
    async with c.ws_connect("/stream") as ws:
        await subscribe(ws, [h1, m5])
        finals_5m = []
        for k in range(1, 60):  # the bar T0 was revealed at start; these are minutes 1..59
            await step(c, 1)
            got = dict(await frames(ws, 2))  # exactly one frame of each stream per base bar
            assert set(got) == {h1, m5}
            hour, five = got[h1], got[m5]
            assert (hour["i"], hour["t"], hour["T"]) == ("1h", T0, T0 + HOUR - 1)
            assert hour["x"] is (k == 59), k  # final exactly with the 60th 1m bar of the hour
            assert (five["i"], five["t"], five["T"]) == ("5m", T0 + k // 5 * 5 * MIN, T0 + (k // 5 + 1) * 5 * MIN - 1)
            assert five["x"] is (k % 5 == 4), k
            assert hour["n"] == 60 and five["n"] == 5  # a full period's base bars
            if five["x"]:
                finals_5m.append(five)
        final = hour
        await nothing_more(ws)
        base = await klines(c, "BTCUSDT", "1m", startTime=T0, limit=60)
        assert [r[0] for r in base] == [T0 + i * MIN for i in range(60)]
        assert ohlcv(final) == merged(base)
        rest = await klines(c, "BTCUSDT", "1h", startTime=T0, limit=1)
        assert rest[0][0] == T0 and rest[0][6] == T0 + HOUR - 1
        assert row_ohlcv(rest[0]) == ohlcv(final)
        eth_5m = await klines(c, "ETHUSDT", "5m", startTime=T0, limit=12)
        assert len(finals_5m) == 12 and [r[0] for r in eth_5m] == [f["t"] for f in finals_5m]
        eth_1m = await klines(c, "ETHUSDT", "1m", startTime=T0, limit=60)
        for i, (f, row) in enumerate(zip(finals_5m, eth_5m)):
            assert ohlcv(f) == row_ohlcv(row) == merged(eth_1m[5 * i:5 * i + 5])
        await step(c, 1)  # the next hour's first bar opens a new period, not final
        got = dict(await frames(ws, 2))
        assert got[h1]["t"] == T0 + HOUR and got[h1]["x"] is False
        assert Decimal(got[h1]["o"]) == Decimal((await klines(c, "BTCUSDT", "1m", startTime=T0 + HOUR, limit=1))[0][1])


async def test_subscribing_mid_hour_starts_from_the_hours_first_bar(exsim_client):
    c = await exsim_client()
    await step(c, 30)  # minutes 0..30 closed
    async with c.ws_connect("/stream") as ws:
        await subscribe(ws, ["btcusdt@kline_1h", "ethusdt@kline_1h"])
        await step(c, 1)  # minute 31
        got = dict(await frames(ws, 2))
        for symbol in ("BTCUSDT", "ETHUSDT"):
            k = got[f"{symbol.lower()}@kline_1h"]
            base = await klines(c, symbol, "1m", startTime=T0, limit=32)
            assert len(base) == 32 and base[-1][0] == T0 + 31 * MIN
            assert k["t"] == T0 and k["x"] is False
            assert ohlcv(k) == merged(base)  # the open is the hour's first 1m open, from the DB
        await step(c, 28)  # minutes 32..59: the last one closes the hour
        last = [k for s, k in await frames(ws, 56) if s == "btcusdt@kline_1h"]
        assert [k["x"] for k in last] == [False] * 27 + [True]
        assert ohlcv(last[-1]) == merged(await klines(c, "BTCUSDT", "1m", startTime=T0, limit=60))


async def test_rest_1h_includes_the_open_hour_as_it_stands(exsim_client):
    c = await exsim_client()
    await step(c, 30)  # sim time T0 + 31 min: minutes 0..30 closed
    for symbol in ("BTCUSDT", "ETHUSDT"):
        rows = await klines(c, symbol, "1h")
        assert len(rows) == 1  # the data starts at T0: only the open hour
        row = rows[-1]
        assert row[0] == T0 and row[6] == T0 + HOUR - 1
        base = await klines(c, symbol, "1m", startTime=T0, limit=100)
        assert [r[0] for r in base] == [T0 + i * MIN for i in range(31)]  # nothing after sim time
        assert row_ohlcv(row) == merged(base)
    await step(c, 30)  # minutes 31..59 close the hour, minute 60 opens the next
    rows = await klines(c, "BTCUSDT", "1h")
    assert [r[0] for r in rows] == [T0, T0 + HOUR]
    assert row_ohlcv(rows[0]) == merged(await klines(c, "BTCUSDT", "1m", startTime=T0, limit=60))
    assert row_ohlcv(rows[1]) == merged(await klines(c, "BTCUSDT", "1m", startTime=T0 + HOUR, limit=60))


async def test_a_period_whose_last_base_bars_are_missing_is_closed_by_the_next_bar(exsim_client, db_path, tmp_path):
    path = str(tmp_path / "gap.duckdb")
    shutil.copy(db_path, path)
    con = duckdb.connect(path)
    con.execute(f"DELETE FROM ohlc_1m WHERE symbol = 'ETHUSDT' AND ts IN ({T0 + 3 * MIN}, {T0 + 4 * MIN})")
    con.close()
    c = await exsim_client(duckdb_path=path)
    m5 = "ethusdt@kline_5m"
    async with c.ws_connect("/stream") as ws:
        await subscribe(ws, [m5])
        await step(c, 2)  # minutes 1, 2
        assert [(k["t"], k["x"]) for _, k in await frames(ws, 2)] == [(T0, False), (T0, False)]
        await step(c, 2)  # minutes 3, 4: no ETH bar, no frame
        await step(c, 1)  # minute 5: closes the period 0..4 first, then opens 5..9
        (_, closed), (_, opened) = await frames(ws, 2)
        assert (closed["t"], closed["T"], closed["x"]) == (T0, T0 + 5 * MIN - 1, True)
        assert (opened["t"], opened["x"]) == (T0 + 5 * MIN, False)
        await nothing_more(ws)
    base = await klines(c, "ETHUSDT", "1m", startTime=T0, limit=6)
    assert [r[0] for r in base] == [T0, T0 + MIN, T0 + 2 * MIN, T0 + 5 * MIN]
    assert ohlcv(closed) == merged(base[:3]) and ohlcv(opened) == merged(base[3:])
    rest = await klines(c, "ETHUSDT", "5m", startTime=T0, limit=2)
    assert [row_ohlcv(r) for r in rest] == [ohlcv(closed), ohlcv(opened)]


# --- week and month boundaries: 1h base bars from Wednesday 2024-01-31 to Tuesday 2024-02-06 ---

START = int(datetime(2024, 1, 31, tzinfo=timezone.utc).timestamp() * 1000)
N_BARS = 6 * 24


def hourly_db(path) -> str:
    con = duckdb.connect(str(path))
    ensure_schema(con)
    con.execute(ohlc_ddl("ohlc_1h"))
    con.executemany("INSERT INTO ohlc_1h VALUES ('BTCUSDT', ?, ?, ?, ?, ?, ?, ?)", [
        (START + i * HOUR, 40000 + i, 40000 + i + 5, 40000 + i - 3 - (i % 7), 40000 + i + 1, 1.5,
         START + (i + 1) * HOUR - 1) for i in range(N_BARS)])
    con.close()
    return str(path)


def bar(i):
    """(o, h, l, c, v) of base bar i as Decimals."""
    return (Decimal(40000 + i), Decimal(40000 + i + 5), Decimal(40000 + i - 3 - (i % 7)), Decimal(40000 + i + 1),
            Decimal("1.5"))


def expected(first, last):
    bars = [bar(i) for i in range(first, last + 1)]
    return (bars[0][0], max(b[1] for b in bars), min(b[2] for b in bars), bars[-1][3],
            sum(b[4] for b in bars))


def utc(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


async def test_rest_weeks_open_on_monday_00_utc(exsim_client, tmp_path):
    c = await exsim_client(duckdb_path=hourly_db(tmp_path / "hourly.duckdb"), interval="1h")
    await step(c, N_BARS - 1)  # every bar replayed
    weeks = await klines(c, "BTCUSDT", "1w")
    assert [utc(r[0]) for r in weeks] == [datetime(2024, 1, 29, tzinfo=timezone.utc),
                                          datetime(2024, 2, 5, tzinfo=timezone.utc)]
    for r in weeks:
        assert utc(r[0]).weekday() == 0 and r[0] % DAY == 0 and r[0] == period_open("1w", r[0])
        assert r[6] == r[0] + 7 * DAY - 1
    assert (weeks[1][0] - START) // HOUR == 120  # 2024-02-05 00:00 is base bar 120
    assert row_ohlcv(weeks[0]) == expected(0, 119) and row_ohlcv(weeks[1]) == expected(120, N_BARS - 1)
    days = await klines(c, "BTCUSDT", "1d")
    assert [r[0] for r in days] == [START + d * DAY for d in range(6)]
    assert all(row_ohlcv(r) == expected(24 * d, 24 * d + 23) for d, r in enumerate(days))


JAN1, FEB1, MAR1 = (int(datetime(2024, m, 1, tzinfo=timezone.utc).timestamp() * 1000) for m in (1, 2, 3))


async def test_rest_months_open_on_the_first_and_close_before_the_next(exsim_client, tmp_path):
    c = await exsim_client(duckdb_path=hourly_db(tmp_path / "hourly.duckdb"), interval="1h")
    await step(c, 12)  # mid-January 31st: the open month as it stands
    months = await klines(c, "BTCUSDT", "1M")
    assert [(r[0], r[6]) for r in months] == [(JAN1, FEB1 - 1)]
    assert row_ohlcv(months[0]) == expected(0, 12)
    await step(c, N_BARS - 1 - 12)  # every bar replayed
    months = await klines(c, "BTCUSDT", "1M")
    assert [r[0] for r in months] == [JAN1, FEB1]
    assert [r[6] for r in months] == [FEB1 - 1, MAR1 - 1]  # close = next month's first ms - 1
    for r in months:
        assert r[0] == period_open("1M", r[0]) and r[6] == period_end("1M", r[0]) - 1
    assert row_ohlcv(months[0]) == expected(0, 23) and row_ohlcv(months[1]) == expected(24, N_BARS - 1)


async def test_day_and_week_streams_close_with_their_last_base_bar(exsim_client, tmp_path):
    c = await exsim_client(duckdb_path=hourly_db(tmp_path / "hourly.duckdb"), interval="1h")
    d1, w1 = "btcusdt@kline_1d", "btcusdt@kline_1w"
    monday = int(datetime(2024, 1, 29, tzinfo=timezone.utc).timestamp() * 1000)
    async with c.ws_connect("/stream") as ws:
        await subscribe(ws, [d1, w1])  # bar 0 (Wed 31 Jan 00:00) is replayed already
        await step(c, 22)  # bars 1..22
        assert not any(k["x"] for _, k in await frames(ws, 2 * 22))
        await step(c, 1)  # bar 23: Jan 31 23:00, the day's last
        got = dict(await frames(ws, 2))
        assert got[d1]["x"] is True and (got[d1]["t"], got[d1]["T"]) == (START, FEB1 - 1)
        assert ohlcv(got[d1]) == expected(0, 23)  # seeded with bar 0 from the DB
        assert got[w1]["x"] is False and (got[w1]["t"], got[w1]["T"]) == (monday, monday + 7 * DAY - 1)
        await step(c, 95)  # bars 24..118
        assert sum(k["x"] for s, k in await frames(ws, 2 * 95) if s == d1) == 3  # Feb 1, 2, 3 closed
        await step(c, 1)  # bar 119: Sunday Feb 4 23:00, the week's last
        got = dict(await frames(ws, 2))
        assert got[w1]["x"] is True and (got[w1]["t"], got[w1]["T"]) == (monday, START + 120 * HOUR - 1)
        assert ohlcv(got[w1]) == expected(0, 119)
        assert got[d1]["x"] is True
        await step(c, 1)  # bar 120: Monday Feb 5 00:00 opens the next week
        got = dict(await frames(ws, 2))
        assert got[w1]["t"] == START + 120 * HOUR and got[w1]["x"] is False
        assert ohlcv(got[w1]) == expected(120, 120)
        await nothing_more(ws)
        rest = await klines(c, "BTCUSDT", "1w", startTime=monday, limit=1)
        assert row_ohlcv(rest[0]) == expected(0, 119)


async def test_month_stream_closes_with_the_months_last_base_bar(exsim_client, tmp_path):
    c = await exsim_client(duckdb_path=hourly_db(tmp_path / "hourly.duckdb"), interval="1h")
    mo = "btcusdt@kline_1M"
    async with c.ws_connect("/stream") as ws:
        await subscribe(ws, [mo])  # seeded from the DB with bar 0 (Wed 31 Jan 00:00)
        await step(c, 22)  # bars 1..22
        early = [k for _, k in await frames(ws, 22)]
        assert all((k["i"], k["t"], k["T"], k["x"]) == ("1M", JAN1, FEB1 - 1, False) for k in early)
        assert ohlcv(early[0]) == expected(0, 1)
        await step(c, 1)  # bar 23: Jan 31 23:00, the month's last
        (_, k), = await frames(ws, 1)
        assert (k["t"], k["T"], k["x"]) == (JAN1, FEB1 - 1, True)
        assert ohlcv(k) == expected(0, 23)
        await step(c, 1)  # bar 24: Feb 1 00:00 opens February
        (_, k), = await frames(ws, 1)
        assert (k["t"], k["T"], k["x"]) == (FEB1, MAR1 - 1, False)
        assert ohlcv(k) == expected(24, 24)
        await nothing_more(ws)

"""load_api against a local fake of the Binance futures REST API (paging, rate limits, errors)."""
from __future__ import annotations

import asyncio

import duckdb
import pytest
from aiohttp import web

from exsim.store import loader
from exsim.store.loader import LoadError, load_api
from exsim.store.schema import ensure_schema, existing_tables

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000
FUNDING_STEP = 8 * 60 * MIN
N_BARS = 4000  # needs three pages of 1500
HOLE = range(2000, 2005)  # bars the exchange has no data for


def kline(i: int) -> list:
    ts, o = T0 + i * MIN, 100.0 + (i % 50)
    return [ts, f"{o:.1f}", f"{o + 2:.1f}", f"{o - 1:.1f}", f"{o + 1:.1f}", "12.5", ts + MIN - 1,
            "1250.0", 42, "6.0", "600.0", "0"]


class FakeBinance:
    """Serves N_BARS 1m bars from T0 and funding every 8 h, with Binance's paging rules."""

    def __init__(self, fail_first: int = 0, status: int = 429, retry_after: str | None = "0",
                 broken_bar: int | None = None):
        self.fail_first, self.status, self.retry_after = fail_first, status, retry_after
        self.broken_bar = broken_bar
        self.kline_calls: list[dict] = []
        self.funding_calls: list[dict] = []

    def _maybe_fail(self) -> web.Response | None:
        if self.fail_first > 0:
            self.fail_first -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return web.json_response({"code": -1003, "msg": "Too many requests"},
                                     status=self.status, headers=headers)
        return None

    async def klines(self, request: web.Request) -> web.Response:
        q = request.query
        self.kline_calls.append(dict(q))
        if q["symbol"] != "BTCUSDT":
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        if (failure := self._maybe_fail()) is not None:
            return failure
        start, end, limit = int(q["startTime"]), int(q["endTime"]), min(int(q["limit"]), 1500)
        rows = []
        for i in range(max(0, -(-(start - T0) // MIN)), N_BARS):
            ts = T0 + i * MIN
            if ts > end or len(rows) == limit:
                break
            if i not in HOLE:
                row = kline(i)
                if i == self.broken_bar:
                    row[2] = "1.0"  # high below low
                rows.append(row)
        return web.json_response(rows)

    async def funding(self, request: web.Request) -> web.Response:
        q = request.query
        self.funding_calls.append(dict(q))
        start, end, limit = int(q["startTime"]), int(q["endTime"]), int(q["limit"])
        times = [T0 + k * FUNDING_STEP for k in range(N_BARS * MIN // FUNDING_STEP + 1)]
        rows = [{"symbol": q["symbol"], "fundingTime": t, "fundingRate": "0.00010000", "markPrice": "100.0"}
                for t in times if start <= t <= end][:limit]
        return web.json_response(rows)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/fapi/v1/klines", self.klines)
        app.router.add_get("/fapi/v1/fundingRate", self.funding)
        return app


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "market.duckdb"))
    ensure_schema(connection)
    yield connection
    connection.close()


def snapshot(con) -> dict[str, list]:
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in sorted(existing_tables(con))}


async def serve(aiohttp_server, fake: FakeBinance) -> str:
    server = await aiohttp_server(fake.app())
    return str(server.make_url("")).rstrip("/")


async def test_pages_retries_429_and_is_idempotent(aiohttp_server, con, monkeypatch, capsys):
    # A long backoff proves the client waited Retry-After (0 s) instead of backing off.
    monkeypatch.setattr(loader, "BACKOFF_S", 30.0)
    fake = FakeBinance(fail_first=1, status=429, retry_after="0")
    waits: list[float] = []  # what the client chose to wait, recorded instead of slept
    get = loader._get
    monkeypatch.setattr(loader, "_get", lambda url, retries: get(url, retries, sleep=waits.append))
    url = await serve(aiohttp_server, fake)
    end = T0 + N_BARS * MIN
    report = await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, end, base_url=url, progress=True)
    assert waits == [0.0]  # Retry-After: 0, once; never the 30 s backoff

    # one 429, then three pages, each starting one interval after the last bar received
    # (page two spans the 5-bar hole, so it ends 5 bars later)
    starts = [int(c["startTime"]) for c in fake.kline_calls]
    assert starts == [T0, T0, T0 + 1500 * MIN, T0 + 3005 * MIN]
    assert {c["limit"] for c in fake.kline_calls} == {"1500"}
    assert {int(c["endTime"]) for c in fake.kline_calls} == {end - 1}
    assert [int(c["startTime"]) for c in fake.funding_calls][0] == T0

    expected_bars = N_BARS - len(HOLE)
    assert (report.rows_in, report.rows_new, report.rows_overlap) == (expected_bars, expected_bars, 0)
    assert (report.first_ts, report.last_ts) == (T0, end - MIN)
    assert report.gaps == [(T0 + 1999 * MIN, T0 + 2005 * MIN)]
    assert report.funding_rows == len(range(T0, end, FUNDING_STEP))
    row = con.execute("SELECT open, high, low, close, volume, close_ts FROM ohlc_1m "
                      "WHERE symbol = 'BTCUSDT' AND ts = ?", [T0 + 7 * MIN]).fetchone()
    assert row == (107.0, 109.0, 106.0, 108.0, 12.5, T0 + 8 * MIN - 1)
    assert con.execute("SELECT count(*) FROM ohlc_1m").fetchone()[0] == expected_bars
    err = capsys.readouterr().err
    assert "klines BTCUSDT 1m" in err and "100.0%" in err and "funding BTCUSDT" in err

    before = snapshot(con)
    again = await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, end, base_url=url, progress=False)
    assert (again.rows_new, again.rows_overlap, again.funding_rows) == (0, expected_bars, 0)
    assert snapshot(con) == before
    assert capsys.readouterr().err == ""


async def test_partial_range_and_other_interval_table(aiohttp_server, con):
    fake = FakeBinance()
    url = await serve(aiohttp_server, fake)
    start, end = T0 + 100 * MIN, T0 + 200 * MIN
    report = await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", start, end, base_url=url, progress=False)
    assert len(fake.kline_calls) == 1
    assert (report.rows_new, report.first_ts, report.last_ts) == (100, start, end - MIN)
    assert con.execute("SELECT min(ts), max(ts) FROM ohlc_1m").fetchone() == (start, end - MIN)


async def test_server_errors_exhaust_retries_and_write_nothing(aiohttp_server, con, monkeypatch):
    monkeypatch.setattr(loader, "BACKOFF_S", 0.0)
    fake = FakeBinance(fail_first=100, status=503, retry_after=None)
    url = await serve(aiohttp_server, fake)
    before = snapshot(con)
    with pytest.raises(LoadError, match=r"failed after 3 attempts: HTTP 503"):
        await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, T0 + 10 * MIN, base_url=url,
                                progress=False, max_retries=2)
    assert len(fake.kline_calls) == 3
    assert snapshot(con) == before


async def test_server_recovers_from_5xx(aiohttp_server, con, monkeypatch):
    monkeypatch.setattr(loader, "BACKOFF_S", 0.0)
    fake = FakeBinance(fail_first=2, status=502, retry_after=None)
    url = await serve(aiohttp_server, fake)
    report = await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, T0 + 10 * MIN, base_url=url,
                                     progress=False, max_retries=2)
    assert report.rows_new == 10 and len(fake.kline_calls) == 3


async def test_ban_with_long_retry_after_fails_fast(aiohttp_server, con):
    fake = FakeBinance(fail_first=1, status=418, retry_after="7200")
    url = await serve(aiohttp_server, fake)
    with pytest.raises(LoadError, match="HTTP 418: rate limited for 7200 s"):
        await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, T0 + 10 * MIN, base_url=url, progress=False)
    assert len(fake.kline_calls) == 1


async def test_client_error_is_not_retried(aiohttp_server, con):
    fake = FakeBinance()
    url = await serve(aiohttp_server, fake)
    with pytest.raises(LoadError, match=r"HTTP 400 .*Invalid symbol"):
        await asyncio.to_thread(load_api, con, "NOPEUSDT", "1m", T0, T0 + 10 * MIN, base_url=url, progress=False)
    assert len(fake.kline_calls) == 1


async def test_connection_refused_is_retried_then_fails(con, monkeypatch):
    monkeypatch.setattr(loader, "BACKOFF_S", 0.0)
    calls = []
    real_get = loader.urllib.request.urlopen

    def counting(url, timeout):
        calls.append(url)
        return real_get(url, timeout=timeout)

    monkeypatch.setattr(loader.urllib.request, "urlopen", counting)
    with pytest.raises(LoadError, match="failed after 2 attempts"):
        # port 9 on loopback: nothing listens there
        await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, T0 + 10 * MIN,
                                base_url="http://127.0.0.1:9", progress=False, max_retries=1)
    assert len(calls) == 2


async def test_invalid_bar_from_api_rolls_back(aiohttp_server, con):
    fake = FakeBinance(broken_bar=1600)
    url = await serve(aiohttp_server, fake)
    con.execute("INSERT INTO funding VALUES ('BTCUSDT', 1, 0.5)")
    before = snapshot(con)
    with pytest.raises(LoadError, match=f"inconsistent bar at ts {T0 + 1600 * MIN}"):
        await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, T0 + 2000 * MIN, base_url=url, progress=False)
    assert snapshot(con) == before


async def test_empty_range_rejected(con):
    with pytest.raises(LoadError, match="empty time range"):
        await asyncio.to_thread(load_api, con, "BTCUSDT", "1m", T0, T0, progress=False)

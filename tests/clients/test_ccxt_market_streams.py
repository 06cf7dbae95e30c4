"""ccxt 4.5.90 (ccxt.pro binanceusdm), unchanged, against a real ExSim server: watch_order_book
(the `@depth@100ms` diff stream plus a REST snapshot, synced by ccxt's own U/u/pu checks),
watch_trades (`@trade`) and fetch_trades (REST aggTrades) see the same book and trades.

Pointed at ExSim as docs/clients.md says (the `fapi*` REST entries and
`urls["api"]["ws"]["linear"]` = ws://127.0.0.1:<port>/ws, which ccxt.pro rewrites to
/public/ws/<n> for book and trade streams: <n> is its connection number, ignored as Binance
ignores it)."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import ccxt.pro as ccxtpro
import pytest

from exsim.wire.keys import FANOUT
from tests.conftest import T0
from tests.waiting import until

from .helpers import WS_WAIT

pytestmark = pytest.mark.timeout(60)
UNIFIED = "BTC/USDT:USDT"
BARS = 6


def exchange(server) -> ccxtpro.binanceusdm:
    ex = ccxtpro.binanceusdm({"options": {"fetchCurrencies": False}})
    api = ex.urls["api"]
    for name, url in list(api.items()):
        if name.startswith("fapi"):
            api[name] = server.url + urlsplit(url).path
    api["ws"]["linear"] = server.ws_url + "/ws"
    return ex


def levels(side) -> list[tuple[float, float]]:
    return [(float(p), float(q)) for p, q in side]


async def test_ccxt_watches_the_book_and_trades_and_fetches_the_same_trades(server):
    ex = exchange(server)
    fanout = server.app[FANOUT]
    try:
        book = await asyncio.wait_for(ex.watch_order_book(UNIFIED), WS_WAIT)  # the snapshot: paused
        snap = await ex.fetch_order_book(UNIFIED, 1000)
        assert book["nonce"] == snap["nonce"] and levels(book["bids"]) == levels(snap["bids"])
        watching = asyncio.ensure_future(ex.watch_trades(UNIFIED))
        await until(lambda: "btcusdt@trade" in fanout.subs, what="ccxt's @trade subscription")
        seen: list = []
        for _ in range(BARS):  # a bar at a time: a watch_* call returns what arrived since the last
            await asyncio.to_thread(server.step, 1)
            seen += await asyncio.wait_for(watching, WS_WAIT)
            watching = asyncio.ensure_future(ex.watch_trades(UNIFIED))
        watching.cancel()
        fetched = await ex.fetch_trades(UNIFIED, limit=BARS)
        assert [(t["id"], t["price"], t["amount"], t["timestamp"], t["side"]) for t in seen] == \
            [(t["id"], t["price"], t["amount"], t["timestamp"], t["side"]) for t in fetched]
        since = await ex.fetch_trades(UNIFIED, since=T0)  # startTime/endTime an hour apart
        assert [t["id"] for t in since[-BARS:]] == [t["id"] for t in fetched]

        final = await ex.fetch_order_book(UNIFIED, 1000)
        while book["nonce"] != final["nonce"] - 1:  # ccxt applies the deltas of the BARS steps
            book = await asyncio.wait_for(ex.watch_order_book(UNIFIED), WS_WAIT)
        assert levels(book["bids"]) == levels(final["bids"]) and levels(book["asks"]) == levels(final["asks"])
        assert book["bids"][0][0] < book["asks"][0][0]
    finally:
        await ex.close()

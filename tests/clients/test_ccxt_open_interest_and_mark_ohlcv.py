"""ccxt 4.5.90 (binanceusdm, unchanged) against a real ExSim server: fetch_open_interest,
fetch_open_interest_history and fetch_ohlcv with params={'price': 'index'}, {'price': 'mark'}
and {'price': 'premiumIndex'} parse ExSim's answers into what ExSim served.

Pointed at ExSim as docs/clients.md says: every `fapi*` entry of `exchange.urls["api"]`
(fapiData, /futures/data, included) rewritten to the server, `options.fetchCurrencies` off.
"""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from decimal import Decimal
from urllib.parse import urlsplit

import ccxt
import pytest

from tests.conftest import T0

from .helpers import SYMBOL

pytestmark = pytest.mark.timeout(60)
UNIFIED = "BTC/USDT:USDT"
MIN = 60_000


def exchange(server) -> ccxt.binanceusdm:
    ex = ccxt.binanceusdm({"options": {"fetchCurrencies": False}})
    api = ex.urls["api"]
    for name, url in list(api.items()):
        if name.startswith("fapi"):
            api[name] = server.url + urlsplit(url).path
    return ex


def raw(server, path: str, **params):
    with urllib.request.urlopen(f"{server.url}{path}?{urllib.parse.urlencode(params)}", timeout=10) as r:
        return json.loads(r.read())


def test_open_interest_and_its_history(server):
    server.step(99)
    ex = exchange(server)
    oi = ex.fetch_open_interest(UNIFIED)
    served = raw(server, "/fapi/v1/openInterest", symbol=SYMBOL)
    assert oi["symbol"] == UNIFIED and oi["timestamp"] == served["time"]
    assert oi["openInterestAmount"] == float(served["openInterest"])

    history = ex.fetch_open_interest_history(UNIFIED, "5m", limit=10)
    served = raw(server, "/futures/data/openInterestHist", symbol=SYMBOL, period="5m", limit=10)
    assert len(history) == len(served) == 10
    for parsed, item in zip(history, served):
        assert parsed["symbol"] == UNIFIED and parsed["timestamp"] == item["timestamp"]
        assert parsed["openInterestAmount"] == float(item["sumOpenInterest"])
        assert parsed["openInterestValue"] == float(item["sumOpenInterestValue"])

    since = T0 + 15 * MIN  # ccxt sends startTime and an endTime of since + limit periods
    window = ex.fetch_open_interest_history(UNIFIED, "15m", since=since, limit=3)
    assert [h["timestamp"] for h in window] == [since + k * 15 * MIN for k in range(3)]


@pytest.mark.parametrize("price, path", [("index", "/fapi/v1/indexPriceKlines"),
                                         ("mark", "/fapi/v1/markPriceKlines"),
                                         ("premiumIndex", "/fapi/v1/premiumIndexKlines")])
def test_fetch_ohlcv_of_another_price(server, price, path):
    server.step(59)
    ex = exchange(server)
    candles = ex.fetch_ohlcv(UNIFIED, "5m", limit=6, params={"price": price})
    served = raw(server, path, **({"pair": SYMBOL} if price == "index" else {"symbol": SYMBOL}),
                 interval="5m", limit=6)
    assert [c[0] for c in candles] == [r[0] for r in served] == [served[0][0] + k * 5 * MIN for k in range(6)]
    assert [c[1:5] for c in candles] == [[float(x) for x in r[1:5]] for r in served]
    assert all(c[5] == 0 for c in candles)  # the volume slot is "0" on these klines
    if price in ("index", "mark"):  # no index or mark data loaded: both are the contract's own price
        trades = ex.fetch_ohlcv(UNIFIED, "5m", limit=6)
        assert [c[:5] for c in candles] == [c[:5] for c in trades]
    else:
        assert all(Decimal(x) == Decimal(served[0][1]) for r in served for x in r[1:5])  # before 08:00

"""ccxt 4.5.90 (ccxt.pro binanceusdm): create_order_ws, fetch_order_ws, cancel_order_ws,
fetch_balance_ws and fetch_positions_ws against a real ExSim server's WebSocket API.

Pointed at ExSim through `exchange.urls["api"]["ws"]["ws-api"]["linear"]` =
ws://127.0.0.1:<port>/ws-fapi/v1 (plus the fapi* REST entries for load_markets), with
options.fetchCurrencies off. ccxt signs each request (apiKey, timestamp, recvWindow and
returnRateLimits=false, sorted, HMAC) and matches replies by their `id`.
"""
from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import ccxt.pro as ccxtpro
import pytest

from .helpers import STARTING_BALANCE, TICK
from .user_data import ALICE, KEYS

pytestmark = pytest.mark.timeout(60)
UNIFIED = "BTC/USDT:USDT"


def exchange(server, key: str, secret: str) -> ccxtpro.binanceusdm:
    ex = ccxtpro.binanceusdm({"apiKey": key, "secret": secret, "options": {"fetchCurrencies": False}})
    api = ex.urls["api"]
    for name, url in list(api.items()):
        if name.startswith("fapi"):
            api[name] = server.url + urlsplit(url).path
    api["ws"]["linear"] = server.ws_url + "/ws"
    api["ws"]["ws-api"]["linear"] = server.ws_url + "/ws-fapi/v1"
    return ex


async def test_orders_balance_and_positions_over_the_ws_api(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    ex = exchange(server, *ALICE)
    try:
        await ex.load_markets()
        market = await ex.create_order_ws(UNIFIED, "market", "buy", 0.01)
        assert market["status"] == "closed" and market["filled"] == 0.01 and market["id"]
        assert market["info"]["status"] == "FILLED"  # ccxt asks for newOrderRespType=RESULT
        fetched = await ex.fetch_order_ws(market["id"], UNIFIED)
        assert fetched["id"] == market["id"] and fetched["status"] == "closed"

        price = float((bars[0].close * Decimal("0.99") / TICK).quantize(Decimal(1)) * TICK)
        limit = await ex.create_order_ws(UNIFIED, "limit", "buy", 0.01, price)
        assert limit["status"] == "open" and limit["price"] == price
        canceled = await ex.cancel_order_ws(limit["id"], UNIFIED)
        assert canceled["status"] == "canceled" and canceled["id"] == limit["id"]
        with pytest.raises(ccxtpro.OrderNotFound):
            await ex.cancel_order_ws(limit["id"], UNIFIED)

        balance = await ex.fetch_balance_ws()
        fee = Decimal(market["info"]["cumQuote"]) * Decimal("0.0002")
        assert Decimal(str(balance["USDT"]["total"])) == STARTING_BALANCE - fee
        positions = await ex.fetch_positions_ws([UNIFIED])
        assert [(p["symbol"], p["contracts"], p["side"]) for p in positions] == [(UNIFIED, 0.01, "long")]
    finally:
        await ex.close()


async def test_edit_order_ws_amends_price_and_amount(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    ex = exchange(server, *ALICE)
    try:
        await ex.load_markets()
        price = (bars[0].close * Decimal("0.99") / TICK).quantize(Decimal(1)) * TICK
        limit = await ex.create_order_ws(UNIFIED, "limit", "buy", 0.01, float(price))
        lower = float(price - 10 * TICK)
        edited = await ex.edit_order_ws(limit["id"], UNIFIED, "limit", "buy", 0.02, lower)
        assert edited["id"] == limit["id"] and edited["price"] == lower and edited["amount"] == 0.02
        fetched = await ex.fetch_order_ws(limit["id"], UNIFIED)
        assert fetched["price"] == lower and fetched["amount"] == 0.02 and fetched["status"] == "open"
    finally:
        await ex.close()

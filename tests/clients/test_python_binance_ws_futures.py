"""python-binance 1.0.37, unmodified: its futures WebSocket API calls (ws_futures_*) against a
real ExSim server, with HMAC signing (auth = "verify").

Pointed at ExSim through the WS_FUTURES_URL class attribute (with API_URL and FUTURES_URL for
the REST calls AsyncClient.create makes), set on a throw-away subclass. The library signs every
request itself (apiKey + timestamp + signature, params sorted) and raises BinanceAPIException on
a non-200 status.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from binance.async_client import AsyncClient
from binance.exceptions import BinanceAPIException

from .helpers import STARTING_BALANCE, SYMBOL, TICK
from .user_data import ALICE, BOB, KEYS

pytestmark = pytest.mark.timeout(60)


async def ws_client(server, key: str, secret: str) -> AsyncClient:
    cls = type("ExSimWsClient", (AsyncClient,), {
        "API_URL": server.url + "/api", "FUTURES_URL": server.url + "/fapi",
        "WS_FUTURES_URL": server.ws_url + "/ws-fapi/v1"})
    client = await cls.create(key, secret)
    # its read loop only notices a close after a recv() timeout (10 s by default); the server is
    # local, so 2 s is ample for every answer and keeps closing quick
    client.ws_future.TIMEOUT = 2
    return client


async def close(client: AsyncClient) -> None:
    await client.close_connection()
    await client.ws_future.close()


async def test_place_query_cancel_and_account_over_the_ws_api(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    client = await ws_client(server, *ALICE)
    try:
        filled = await client.ws_futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="0.010",
                                                      newOrderRespType="RESULT")
        assert filled["status"] == "FILLED" and filled["executedQty"] == "0.010"
        assert filled["clientOrderId"].startswith("x-")  # the library's own prefix reached the engine
        got = await client.ws_futures_get_order(symbol=SYMBOL, orderId=filled["orderId"])
        assert got["orderId"] == filled["orderId"] and got["status"] == "FILLED"
        assert got == client_rest(server, got)

        price = str((bars[0].close * Decimal("0.99") / TICK).quantize(Decimal(1)) * TICK)
        resting = await client.ws_futures_create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                                       quantity="0.010", price=price)
        assert resting["status"] == "NEW" and Decimal(resting["price"]) == Decimal(price)
        canceled = await client.ws_futures_cancel_order(symbol=SYMBOL, orderId=resting["orderId"])
        assert canceled["status"] == "CANCELED"
        with pytest.raises(BinanceAPIException) as err:
            await client.ws_futures_cancel_order(symbol=SYMBOL, orderId=resting["orderId"])
        assert err.value.code == -2011 and err.value.status_code == 400

        positions = await client.ws_futures_account_position(symbol=SYMBOL)
        assert positions[0]["symbol"] == SYMBOL and positions[0]["positionAmt"] == "0.010"
        v2_positions = await client.ws_futures_v2_account_position()
        assert [p["symbol"] for p in v2_positions] == [SYMBOL]
        balance = await client.ws_futures_account_balance()
        fee = Decimal(filled["cumQuote"]) * Decimal("0.0002")
        assert Decimal(balance[0]["balance"]) == STARTING_BALANCE - fee
        assert (await client.ws_futures_v2_account_balance())[0]["asset"] == "USDT"
        status = await client.ws_futures_account_status()
        assert Decimal(status["totalWalletBalance"]) == STARTING_BALANCE - fee and "positions" in status
        v2_status = await client.ws_futures_v2_account_status()
        assert [p["symbol"] for p in v2_status["positions"]] == [SYMBOL]
    finally:
        await close(client)

    # another key's account saw none of it
    bob = await ws_client(server, *BOB)
    try:
        assert Decimal((await bob.ws_futures_account_balance())[0]["balance"]) == STARTING_BALANCE
    finally:
        await close(bob)


def client_rest(server, order: dict) -> dict:
    """The same order read over REST (the default account's view is not it: use the key)."""
    import hashlib
    import hmac
    import json
    import time
    import urllib.request
    query = f"symbol={SYMBOL}&orderId={order['orderId']}&timestamp={int(time.time() * 1000)}"
    sig = hmac.new(ALICE[1].encode(), query.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{server.url}/fapi/v1/order?{query}&signature={sig}",
                                 headers={"X-MBX-APIKEY": ALICE[0]})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


async def test_conditional_order_goes_to_algo_order_place(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    client = await ws_client(server, *ALICE)
    try:
        trigger = str((bars[0].close * Decimal("0.9") / TICK).quantize(Decimal(1)) * TICK)
        algo = await client.ws_futures_create_order(symbol=SYMBOL, side="SELL", type="STOP_MARKET",
                                                    quantity="0.010", stopPrice=trigger)
        assert algo["algoStatus"] == "NEW" and Decimal(algo["triggerPrice"]) == Decimal(trigger)
        done = await client.ws_futures_cancel_order(symbol=SYMBOL, algoId=algo["algoId"])
        assert done["algoId"] == algo["algoId"] and done["code"] == "200"
    finally:
        await close(client)

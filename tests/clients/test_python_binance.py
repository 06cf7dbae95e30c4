"""python-binance 1.0.37, unmodified, against a real ExSim server.

Pointed at ExSim only through its URL class attributes (API_URL, FUTURES_URL on the clients,
FSTREAM_URL on BinanceSocketManager), set on throw-away subclasses so tests never leak a port
into the library's classes. Imports use the submodules because binance-futures-connector ships
its own top-level `binance/__init__.py`.
"""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from binance.async_client import AsyncClient
from binance.client import Client
from binance.exceptions import BinanceAPIException
from binance.ws.streams import BinanceSocketManager

from exsim.config import ApiKey

from .helpers import (MAKER, STARTING_BALANCE, SYMBOL, TAKER, TICK, WS_WAIT, await_subscribed, find,
                      price_falling_through)

pytestmark = pytest.mark.timeout(30)
QTY = Decimal("0.010")
D8 = Decimal("0.00000001")


def sync_client(server, key: str = "key", secret: str = "secret") -> Client:
    cls = type("ExSimClient", (Client,), {"API_URL": server.url + "/api", "FUTURES_URL": server.url + "/fapi"})
    return cls(key, secret)  # pings GET /api/v3/ping on construction


async def async_client(server, key: str = "key", secret: str = "secret") -> AsyncClient:
    cls = type("ExSimAsyncClient", (AsyncClient,),
               {"API_URL": server.url + "/api", "FUTURES_URL": server.url + "/fapi"})
    return await cls.create(key, secret)  # /api/v3/ping + /api/v3/time -> timestamp_offset


def socket_manager(server, client: AsyncClient) -> BinanceSocketManager:
    cls = type("ExSimSocketManager", (BinanceSocketManager,), {"FSTREAM_URL": server.ws_url + "/"})
    return cls(client)


def api_error(excinfo) -> tuple[int, int]:
    exc = excinfo.value
    assert isinstance(exc, BinanceAPIException)
    return exc.status_code, exc.code


def test_time_sync_and_exchange_info(server, bars):
    client = sync_client(server)
    try:
        # the sim clock, not the wall clock: first bar revealed, so time = its close
        assert client.futures_time()["serverTime"] == bars[1].ts
        assert client.get_server_time()["serverTime"] == bars[1].ts  # spot alias, used by AsyncClient
        info = client.futures_exchange_info()
        assert info["serverTime"] == bars[1].ts
        sym = find(info["symbols"], symbol=SYMBOL)
        assert sym["contractType"] == "PERPETUAL" and sym["status"] == "TRADING"
        assert (sym["baseAsset"], sym["quoteAsset"], sym["marginAsset"]) == ("BTC", "USDT", "USDT")
        filters = {f["filterType"]: f for f in sym["filters"]}
        assert Decimal(filters["PRICE_FILTER"]["tickSize"]) == TICK
        assert Decimal(filters["LOT_SIZE"]["stepSize"]) == Decimal("0.001")
        assert Decimal(filters["MIN_NOTIONAL"]["notional"]) == 100
        assert "STOP_MARKET" in sym["orderTypes"]
        server.step(2)
        assert client.futures_time()["serverTime"] == bars[3].ts
    finally:
        client.close_connection()


def test_klines_follow_the_clock(server, bars):
    client = sync_client(server)
    try:
        rows = client.futures_klines(symbol=SYMBOL, interval="1m", limit=10)
        assert len(rows) == 1  # nothing after the revealed bar, ever
        server.step(3)
        rows = client.futures_klines(symbol=SYMBOL, interval="1m", limit=10)
        assert [r[0] for r in rows] == [b.ts for b in bars[:4]]
        for row, bar in zip(rows, bars):
            assert [Decimal(x) for x in row[1:5]] == [bar.open, bar.high, bar.low, bar.close]
            assert row[6] == row[0] + 59_999
        assert Decimal(client.futures_symbol_ticker(symbol=SYMBOL)["price"]) == bars[3].close  # /fapi/v2
        window = client.futures_klines(symbol=SYMBOL, interval="1m", startTime=bars[1].ts, limit=2)
        assert [r[0] for r in window] == [bars[1].ts, bars[2].ts]
    finally:
        client.close_connection()


def test_orders_positions_balance_and_settings(server, bars):
    client = sync_client(server)
    try:
        # leverage and margin type
        assert client.futures_change_leverage(symbol=SYMBOL, leverage=10)["leverage"] == 10
        with pytest.raises(BinanceAPIException) as err:
            client.futures_change_margin_type(symbol=SYMBOL, marginType="CROSSED")
        assert api_error(err) == (400, -4046)
        assert client.futures_change_margin_type(symbol=SYMBOL, marginType="ISOLATED")["code"] == 200
        v2 = client.futures_position_information(symbol=SYMBOL, version=2)[0]
        assert (v2["marginType"], v2["leverage"]) == ("isolated", "10")
        with pytest.raises(BinanceAPIException) as err:
            client.futures_change_margin_type(symbol=SYMBOL, marginType="ISOLATED")
        assert api_error(err) == (400, -4046)
        assert client.futures_change_margin_type(symbol=SYMBOL, marginType="CROSSED")["code"] == 200

        # MARKET: fills at the close of the last kline, taker fee off the wallet
        last = Decimal(client.futures_klines(symbol=SYMBOL, interval="1m", limit=1)[-1][4])
        assert last == bars[0].close
        ack = client.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=str(QTY))
        assert ack["clientOrderId"].startswith("x-Cb7ytekJ")  # the library's own id, accepted
        order = client.futures_get_order(symbol=SYMBOL, orderId=ack["orderId"])
        assert order["status"] == "FILLED" and Decimal(order["avgPrice"]) == last
        assert Decimal(order["executedQty"]) == QTY
        pos = client.futures_position_information(symbol=SYMBOL)[0]  # /fapi/v3/positionRisk
        assert Decimal(pos["positionAmt"]) == QTY and Decimal(pos["entryPrice"]) == last
        fee1 = last * QTY * TAKER
        balance = find(client.futures_account_balance(), asset="USDT")  # /fapi/v3/balance
        assert Decimal(balance["balance"]) == (STARTING_BALANCE - fee1).quantize(D8)

        # LIMIT far below: rests, shows in openOrders, cancels once
        low = (last * Decimal("0.97") // TICK) * TICK
        limit = client.futures_create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                            quantity=str(QTY), price=str(low))
        assert limit["status"] == "NEW" and Decimal(limit["price"]) == low

        # STOP_MARKET closePosition: python-binance routes it to /fapi/v1/algoOrder
        trigger, j = price_falling_through(bars)
        algo = client.futures_create_order(symbol=SYMBOL, side="SELL", type="STOP_MARKET",
                                           stopPrice=str(trigger), closePosition="true")
        assert algo["algoType"] == "CONDITIONAL" and algo["algoStatus"] == "NEW"
        assert Decimal(algo["triggerPrice"]) == trigger and algo["clientAlgoId"].startswith("x-Cb7ytekJ")
        regular = client.futures_get_open_orders(symbol=SYMBOL)
        assert [o["orderId"] for o in regular] == [limit["orderId"]]  # untriggered algo orders live apart
        assert [o["algoId"] for o in client.futures_get_open_orders(symbol=SYMBOL, conditional=True)] \
            == [algo["algoId"]]

        assert client.futures_cancel_order(symbol=SYMBOL, orderId=limit["orderId"])["status"] == "CANCELED"
        with pytest.raises(BinanceAPIException) as err:
            client.futures_cancel_order(symbol=SYMBOL, orderId=limit["orderId"])
        assert api_error(err) == (400, -2011)

        # the stop triggers on bar j at its trigger price and closes the position
        server.step(j)
        assert client.futures_position_information(symbol=SYMBOL) == []  # v3 lists open positions only
        done = client.futures_get_order(symbol=SYMBOL, algoId=algo["algoId"])  # GET /fapi/v1/algoOrder
        assert done["algoStatus"] == "FINISHED" and done["actualOrderId"] != ""
        fill = client.futures_get_order(symbol=SYMBOL, orderId=int(done["actualOrderId"]))
        assert (fill["status"], fill["type"], Decimal(fill["avgPrice"])) == ("FILLED", "MARKET", trigger)
        trade = client.futures_account_trades(symbol=SYMBOL)[-1]
        pnl = (trigger - last) * QTY
        fee2 = trigger * QTY * TAKER
        assert Decimal(trade["price"]) == trigger and Decimal(trade["qty"]) == QTY
        assert Decimal(trade["realizedPnl"]) == pnl and Decimal(trade["commission"]) == fee2.quantize(D8)
        assert client.futures_get_open_orders(symbol=SYMBOL, conditional=True) == []
        wallet = Decimal(find(client.futures_account_balance(), asset="USDT")["balance"])
        assert wallet == (STARTING_BALANCE - fee1 - fee2 + pnl).quantize(D8)
        v2 = client.futures_position_information(symbol=SYMBOL, version=2)[0]
        assert Decimal(v2["positionAmt"]) == 0
    finally:
        client.close_connection()


def test_resting_limit_fills_as_maker(server, bars):
    client = sync_client(server)
    try:
        price, j = price_falling_through(bars)
        order = client.futures_create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                            quantity=str(QTY), price=str(price))
        if j > 1:
            server.step(j - 1)
        assert client.futures_get_order(symbol=SYMBOL, orderId=order["orderId"])["status"] == "NEW"
        assert [o["orderId"] for o in client.futures_get_open_orders(symbol=SYMBOL)] == [order["orderId"]]
        server.step(1)
        filled = client.futures_get_order(symbol=SYMBOL, orderId=order["orderId"])
        assert filled["status"] == "FILLED" and Decimal(filled["avgPrice"]) == price
        trade = client.futures_account_trades(symbol=SYMBOL)[-1]
        assert trade["maker"] is True and Decimal(trade["commission"]) == (price * QTY * MAKER).quantize(D8)
    finally:
        client.close_connection()


def test_errors_are_binance_api_exceptions(server):
    client = sync_client(server)
    try:
        with pytest.raises(BinanceAPIException) as err:
            client.futures_klines(symbol="NOPEUSDT", interval="1m")
        assert api_error(err) == (400, -1121)
        with pytest.raises(BinanceAPIException) as err:
            client.futures_create_order(symbol="NOPEUSDT", side="BUY", type="MARKET", quantity="1")
        assert api_error(err) == (400, -1121)
        with pytest.raises(BinanceAPIException) as err:
            client.futures_get_order(symbol=SYMBOL, orderId=987654)
        assert api_error(err) == (400, -2013)
        with pytest.raises(BinanceAPIException) as err:
            client.futures_cancel_order(symbol=SYMBOL, orderId=987654)
        assert api_error(err) == (400, -2011)
        with pytest.raises(BinanceAPIException) as err:  # 100 BTC at 20x needs ~210k USDT of margin
            client.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="100")
        assert api_error(err) == (400, -2019)
        assert err.value.message == "Margin is insufficient."
        with pytest.raises(BinanceAPIException) as err:
            client.futures_change_margin_type(symbol=SYMBOL, marginType="CROSSED")
        assert api_error(err) == (400, -4046)
        assert client.futures_position_information(symbol=SYMBOL) == []  # nothing was opened
    finally:
        client.close_connection()


async def test_async_client_trades_with_synced_offset(server, bars):
    client = await async_client(server)
    try:
        # AsyncClient.create keeps serverTime - local: here sim time (2024) minus the wall clock
        assert abs(client.timestamp_offset - (bars[1].ts - time.time() * 1000)) < 5_000
        assert (await client.futures_time())["serverTime"] == bars[1].ts
        info = await client.futures_exchange_info()
        assert find(info["symbols"], symbol=SYMBOL) is not None
        last = Decimal((await client.futures_klines(symbol=SYMBOL, interval="1m", limit=1))[-1][4])
        order = await client.futures_create_order(symbol=SYMBOL, side="SELL", type="MARKET", quantity=str(QTY),
                                                  newOrderRespType="RESULT")
        assert order["status"] == "FILLED" and Decimal(order["avgPrice"]) == last
        pos = (await client.futures_position_information(symbol=SYMBOL))[0]
        assert Decimal(pos["positionAmt"]) == -QTY
        wallet = Decimal(find(await client.futures_account_balance(), asset="USDT")["balance"])
        assert wallet == (STARTING_BALANCE - last * QTY * TAKER).quantize(D8)
        with pytest.raises(BinanceAPIException) as err:
            await client.futures_get_order(symbol=SYMBOL, orderId=424242)
        assert api_error(err) == (400, -2013)
        # the stop goes through the algo route here too; cancel it by algoId
        algo = await client.futures_create_order(symbol=SYMBOL, side="BUY", type="STOP_MARKET",
                                                 stopPrice=str(last + 500), closePosition="true")
        canceled = await client.futures_cancel_order(symbol=SYMBOL, algoId=algo["algoId"])
        assert canceled["algoId"] == algo["algoId"] and str(canceled["code"]) == "200"
    finally:
        await client.close_connection()


async def _closed_klines(socket, count: int) -> list[dict]:
    closed = []
    while len(closed) < count:
        msg = await asyncio.wait_for(socket.recv(), WS_WAIT)
        assert msg.get("e") != "error", msg
        data = msg.get("data", msg)  # combined streams wrap the payload
        if data["k"]["x"]:
            closed.append(data)
    return closed


async def test_kline_websocket_sees_closed_bars(server, bars):
    client = await async_client(server)
    by_ts = {b.ts: b for b in bars}
    try:
        bsm = socket_manager(server, client)
        # futures_multiplex_socket -> /market/stream?streams=btcusdt@kline_1m (combined payloads)
        async with bsm.futures_multiplex_socket([f"{SYMBOL.lower()}@kline_1m"]) as socket:
            await await_subscribed(server, "btcusdt@kline_1m")
            await asyncio.to_thread(server.step, 2)
            got = await _closed_klines(socket, 2)
            await _run_while_leaving(server)
        await asyncio.to_thread(server.admin, "/admin/pause")
        assert [k["k"]["t"] for k in got] == [bars[1].ts, bars[2].ts]
        assert [Decimal(k["k"]["c"]) for k in got] == [bars[1].close, bars[2].close]
        assert [Decimal(k["k"]["o"]) for k in got] == [bars[1].open, bars[2].open]
        assert all(k["e"] == "kline" and k["s"] == SYMBOL and k["k"]["i"] == "1m" for k in got)

        # kline_futures_socket -> /market/ws/btcusdt_perpetual@continuousKline_1m (raw payloads)
        async with bsm.kline_futures_socket(SYMBOL) as socket:
            await await_subscribed(server, "btcusdt_perpetual@continuousKline_1m")
            stepped = await asyncio.to_thread(server.step, 1)
            got = await _closed_klines(socket, 1)
            await _run_while_leaving(server)
        await asyncio.to_thread(server.admin, "/admin/pause")
        k = got[0]
        assert k["e"] == "continuous_kline" and k["ps"] == SYMBOL and k["ct"] == "PERPETUAL"
        assert k["k"]["T"] == stepped["sim_time"] - 1  # the bar the step closed
        bar = by_ts[k["k"]["t"]]
        assert (Decimal(k["k"]["h"]), Decimal(k["k"]["l"]), Decimal(k["k"]["c"])) == (bar.high, bar.low, bar.close)
    finally:
        await client.close_connection()


async def _run_while_leaving(server) -> None:
    """python-binance's socket exit waits for its read loop, which only wakes on a message (or
    after 10 s): let the replay run while the `async with` block is left; pause afterwards."""
    await asyncio.to_thread(server.admin, "/admin/replay", {"speed_bars_per_sec": 50})


async def test_auth_verify(live_server, bars):
    server = live_server(auth="verify", api_keys=[ApiKey(key="alice-key", secret="alice-secret"),
                                                  ApiKey(key="bob-key", secret="bob-secret")])
    alice = await asyncio.to_thread(sync_client, server, "alice-key", "alice-secret")
    bob = await asyncio.to_thread(sync_client, server, "bob-key", "bob-secret")
    wrong = await asyncio.to_thread(sync_client, server, "alice-key", "not-the-secret")
    stranger = await asyncio.to_thread(sync_client, server, "mallory-key", "whatever")
    synced = await async_client(server, "alice-key", "alice-secret")
    try:
        # valid signatures: the sync client stamps wall time, the async one synced sim time
        assert Decimal(find(alice.futures_account_balance(), asset="USDT")["balance"]) == STARTING_BALANCE
        assert Decimal(find(await synced.futures_account_balance(), asset="USDT")["balance"]) == STARTING_BALANCE
        assert len(stranger.futures_klines(symbol=SYMBOL, interval="1m")) == 1  # public needs no key

        with pytest.raises(BinanceAPIException) as err:
            wrong.futures_account_balance()
        assert api_error(err) == (400, -1022)
        with pytest.raises(BinanceAPIException) as err:
            stranger.futures_account_balance()
        assert api_error(err) == (401, -2015)
        alice.timestamp_offset = -120_000  # a clock two minutes slow, beyond recvWindow=10000
        with pytest.raises(BinanceAPIException) as err:
            alice.futures_account_balance()
        assert api_error(err) == (400, -1021)
        alice.timestamp_offset = 0

        # two keys, one replay: each sees only its own orders and position
        last = bars[0].close
        a_fill = alice.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="0.010")
        a_rest = alice.futures_create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                            quantity="0.010", price=str((last * Decimal("0.97") // TICK) * TICK))
        assert bob.futures_get_open_orders(symbol=SYMBOL) == []
        assert bob.futures_position_information(symbol=SYMBOL) == []
        assert Decimal(find(bob.futures_account_balance(), asset="USDT")["balance"]) == STARTING_BALANCE
        with pytest.raises(BinanceAPIException) as err:
            bob.futures_get_order(symbol=SYMBOL, orderId=a_fill["orderId"])
        assert api_error(err) == (400, -2013)
        with pytest.raises(BinanceAPIException) as err:
            bob.futures_cancel_order(symbol=SYMBOL, orderId=a_rest["orderId"])
        assert api_error(err) == (400, -2011)
        bob.futures_create_order(symbol=SYMBOL, side="SELL", type="MARKET", quantity="0.020")
        await asyncio.to_thread(server.step, 1)
        assert Decimal(alice.futures_position_information(symbol=SYMBOL)[0]["positionAmt"]) == Decimal("0.010")
        assert Decimal(bob.futures_position_information(symbol=SYMBOL)[0]["positionAmt"]) == Decimal("-0.020")
        assert [o["orderId"] for o in alice.futures_get_open_orders(symbol=SYMBOL)] == [a_rest["orderId"]]
        assert bob.futures_get_open_orders(symbol=SYMBOL) == []
        assert [(t["side"], t["qty"]) for t in alice.futures_account_trades(symbol=SYMBOL)] == [("BUY", "0.010")]
        assert [(t["side"], t["qty"]) for t in bob.futures_account_trades(symbol=SYMBOL)] == [("SELL", "0.020")]

        # the async client's offset stays valid after the clock moved and another client synced
        await asyncio.to_thread(server.step, 5)
        assert bob.futures_time()["serverTime"] == bars[7].ts
        pos = (await synced.futures_position_information(symbol=SYMBOL))[0]
        assert Decimal(pos["positionAmt"]) == Decimal("0.010")
    finally:
        await synced.close_connection()
        for c in (alice, bob, wrong, stranger):
            c.close_connection()

"""binance-futures-connector 4.2.0, unmodified, against a real ExSim server.

Pointed at ExSim with the constructor arguments its docs describe:
`UMFutures(key, secret, base_url=...)` and `UMFuturesWebsocketClient(stream_url=...)`.
The connector sends every parameter in the query string (empty body, JSON content type), has
no algo-order support and posts STOP_MARKET to /fapi/v1/order, which ExSim accepts by default
(`conditional_on_order_endpoint = true`, the legacy behaviour).
"""
from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from binance.error import ClientError
from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

from exsim.config import ApiKey

from .helpers import (MAKER, STARTING_BALANCE, SYMBOL, TAKER, TICK, DelayProxy, find, price_falling_through,
                      wait_for)

pytestmark = pytest.mark.timeout(30)
QTY = Decimal("0.010")
D8 = Decimal("0.00000001")


@pytest.fixture
def connector():
    """UMFutures(...) factory whose HTTP sessions are closed after the test."""
    made: list[UMFutures] = []

    def make(key=None, secret=None, base_url=None) -> UMFutures:
        made.append(UMFutures(key=key, secret=secret, base_url=base_url))
        return made[-1]

    yield make
    for client in made:
        client.session.close()


def client_error(excinfo) -> tuple[int, int]:
    exc = excinfo.value
    assert isinstance(exc, ClientError)
    return exc.status_code, exc.error_code


def wallet(client: UMFutures) -> Decimal:
    return Decimal(find(client.balance(), asset="USDT")["balance"])  # /fapi/v3/balance


def test_time_and_exchange_info(server, bars, connector):
    client = connector(base_url=server.url)
    assert client.ping() == {}
    assert client.time()["serverTime"] == bars[1].ts
    info = client.exchange_info()
    sym = find(info["symbols"], symbol=SYMBOL)
    filters = {f["filterType"]: f for f in sym["filters"]}
    assert Decimal(filters["PRICE_FILTER"]["tickSize"]) == TICK
    assert Decimal(filters["MARKET_LOT_SIZE"]["stepSize"]) == Decimal("0.001")
    assert Decimal(filters["PERCENT_PRICE"]["multiplierUp"]) == Decimal("1.05")
    assert {r["rateLimitType"] for r in info["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS"}


def test_klines_and_ticker(server, bars, connector):
    client = connector(base_url=server.url)
    server.step(4)
    rows = client.klines(SYMBOL, "1m", limit=3)
    assert [r[0] for r in rows] == [b.ts for b in bars[2:5]]
    assert [Decimal(r[4]) for r in rows] == [b.close for b in bars[2:5]]
    assert all(r[6] - r[0] == 59_999 for r in rows)
    assert Decimal(client.ticker_price(SYMBOL)["price"]) == bars[4].close  # /fapi/v1/ticker/price
    assert client.klines(SYMBOL, "1m", endTime=bars[1].ts, limit=5)[-1][0] == bars[1].ts


def test_orders_positions_and_settings(server, bars, connector):
    client = connector(key="any", secret="any", base_url=server.url)  # auth "off": one account
    assert client.change_leverage(symbol=SYMBOL, leverage=5)["leverage"] == 5
    with pytest.raises(ClientError) as err:
        client.change_margin_type(symbol=SYMBOL, marginType="CROSSED")
    assert client_error(err) == (400, -4046)
    assert client.change_margin_type(symbol=SYMBOL, marginType="ISOLATED") == {"code": 200, "msg": "success"}

    # MARKET with RESULT: filled at the last close, taker fee charged
    last = Decimal(client.klines(SYMBOL, "1m", limit=1)[-1][4])
    market = client.new_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=str(QTY), newOrderRespType="RESULT")
    assert market["status"] == "FILLED" and Decimal(market["avgPrice"]) == last
    assert Decimal(market["cumQuote"]) == last * QTY
    fee1 = last * QTY * TAKER
    assert wallet(client) == (STARTING_BALANCE - fee1).quantize(D8)
    account = client.account()  # /fapi/v3/account
    assert Decimal(account["totalWalletBalance"]) == (STARTING_BALANCE - fee1).quantize(D8)
    assert [(p["symbol"], p["positionAmt"]) for p in account["positions"]] == [(SYMBOL, "0.010")]
    pos = find(client.get_position_risk(symbol=SYMBOL), symbol=SYMBOL)  # /fapi/v3/positionRisk
    assert Decimal(pos["positionAmt"]) == QTY and Decimal(pos["entryPrice"]) == last
    assert Decimal(pos["notional"]) == last * QTY
    with pytest.raises(ClientError) as err:  # a position exists now
        client.change_margin_type(symbol=SYMBOL, marginType="CROSSED")
    assert client_error(err) == (400, -4048)

    # LIMIT far below rests; query it by id, via openOrder and openOrders; cancel it
    low = (last * Decimal("0.97") // TICK) * TICK
    limit = client.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity=str(QTY),
                             price=str(low))
    assert limit["status"] == "NEW" and Decimal(limit["price"]) == low
    assert client.query_order(symbol=SYMBOL, orderId=limit["orderId"])["status"] == "NEW"
    assert client.get_open_orders(symbol=SYMBOL, orderId=limit["orderId"])["orderId"] == limit["orderId"]

    # STOP_MARKET on /fapi/v1/order (legacy path): an ordinary open order with a stopPrice
    trigger, j = price_falling_through(bars)
    stop = client.new_order(symbol=SYMBOL, side="SELL", type="STOP_MARKET", stopPrice=str(trigger),
                            closePosition="true")
    assert (stop["status"], stop["type"], Decimal(stop["stopPrice"])) == ("NEW", "STOP_MARKET", trigger)
    assert sorted(o["orderId"] for o in client.get_orders(symbol=SYMBOL)) == sorted([limit["orderId"], stop["orderId"]])
    assert client.cancel_order(symbol=SYMBOL, orderId=limit["orderId"])["status"] == "CANCELED"
    with pytest.raises(ClientError) as err:
        client.get_open_orders(symbol=SYMBOL, orderId=limit["orderId"])
    assert client_error(err) == (400, -2013)

    server.step(j)
    done = client.query_order(symbol=SYMBOL, orderId=stop["orderId"])
    assert (done["status"], done["origType"], Decimal(done["avgPrice"])) == ("FILLED", "STOP_MARKET", trigger)
    assert client.get_position_risk(symbol=SYMBOL) == []  # flat, no open orders
    pnl = (trigger - last) * QTY
    fee2 = trigger * QTY * TAKER
    trades = client.get_account_trades(symbol=SYMBOL)
    assert [Decimal(t["price"]) for t in trades] == [last, trigger]
    assert Decimal(trades[-1]["realizedPnl"]) == pnl
    assert wallet(client) == (STARTING_BALANCE - fee1 - fee2 + pnl).quantize(D8)
    assert client.get_orders(symbol=SYMBOL) == []


def test_resting_limit_fills_as_maker(server, bars, connector):
    client = connector(key="any", secret="any", base_url=server.url)
    price, j = price_falling_through(bars)
    order = client.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity=str(QTY),
                             price=str(price))
    server.step(j)
    done = client.query_order(symbol=SYMBOL, orderId=order["orderId"])
    assert done["status"] == "FILLED" and Decimal(done["avgPrice"]) == price
    assert wallet(client) == (STARTING_BALANCE - price * QTY * MAKER).quantize(D8)


def test_conditional_orders_refused_when_legacy_switch_off(live_server, connector):
    server = live_server(conditional_on_order_endpoint=False)
    client = connector(key="any", secret="any", base_url=server.url)
    with pytest.raises(ClientError) as err:
        client.new_order(symbol=SYMBOL, side="SELL", type="STOP_MARKET", stopPrice="30000", quantity="0.010")
    assert client_error(err) == (400, -4120)


def test_errors_are_client_errors(server, connector):
    client = connector(key="any", secret="any", base_url=server.url)
    with pytest.raises(ClientError) as err:
        client.klines("NOPEUSDT", "1m")
    assert client_error(err) == (400, -1121)
    with pytest.raises(ClientError) as err:
        client.new_order(symbol="NOPEUSDT", side="BUY", type="MARKET", quantity="0.010")
    assert client_error(err) == (400, -1121)
    with pytest.raises(ClientError) as err:
        client.query_order(symbol=SYMBOL, orderId=31337)
    assert client_error(err) == (400, -2013)
    with pytest.raises(ClientError) as err:
        client.cancel_order(symbol=SYMBOL, orderId=31337)
    assert client_error(err) == (400, -2011)
    with pytest.raises(ClientError) as err:
        client.new_order(symbol=SYMBOL, side="SELL", type="MARKET", quantity="100")
    assert client_error(err) == (400, -2019)
    assert err.value.error_message == "Margin is insufficient."
    assert int(err.value.header["X-MBX-USED-WEIGHT-1M"]) > 0
    assert wallet(client) == STARTING_BALANCE


class Collector:
    """on_message sink for the connector's reader thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict] = []

    def __call__(self, _socket, text: str) -> None:
        with self.lock:
            self.messages.append(json.loads(text))

    def replies(self) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if "result" in m or "error" in m]

    def closed(self, count: int) -> list[dict]:
        with self.lock:
            data = [m.get("data", m) for m in self.messages if "result" not in m and "error" not in m]
        closed = [d for d in data if d.get("k", {}).get("x")]
        return closed if len(closed) >= count else []


def test_kline_websocket_raw_and_combined(server, bars):
    raw, combined = Collector(), Collector()
    ws_raw = UMFuturesWebsocketClient(stream_url=server.ws_url, on_message=raw)  # -> /ws
    ws_combined = UMFuturesWebsocketClient(stream_url=server.ws_url, on_message=combined, is_combined=True)
    try:
        ws_raw.kline(symbol="btcusdt", interval="1m", id=7)
        ws_combined.continuous_kline(pair="btcusdt", contractType="perpetual", interval="1m")
        # SUBSCRIBE replies echo the ids: ours, and the connector's millisecond timestamp
        assert wait_for(raw.replies) == [{"result": None, "id": 7}]
        reply = wait_for(combined.replies)[0]
        assert reply["result"] is None and isinstance(reply["id"], int)
        server.step(2)
        got = wait_for(lambda: raw.closed(2))
        assert [(k["k"]["t"], Decimal(k["k"]["c"])) for k in got] == [(b.ts, b.close) for b in bars[1:3]]
        assert all(k["e"] == "kline" for k in got)
        cont = wait_for(lambda: combined.closed(2))
        assert [(k["k"]["t"], Decimal(k["k"]["c"])) for k in cont] == [(b.ts, b.close) for b in bars[1:3]]
        assert {m["stream"] for m in combined.messages if "stream" in m} == {"btcusdt_perpetual@continuousKline_1m"}
    finally:
        ws_raw.stop()
        ws_combined.stop()


def test_auth_verify(live_server, bars, connector):
    server = live_server(auth="verify", api_keys=[ApiKey(key="alice-key", secret="alice-secret"),
                                                  ApiKey(key="bob-key", secret="bob-secret")])
    alice = connector(key="alice-key", secret="alice-secret", base_url=server.url)
    bob = connector(key="bob-key", secret="bob-secret", base_url=server.url)
    assert wallet(alice) == STARTING_BALANCE  # signed over the query string, wall-clock timestamp

    with pytest.raises(ClientError) as err:
        connector(key="alice-key", secret="wrong", base_url=server.url).balance()
    assert client_error(err) == (400, -1022)
    with pytest.raises(ClientError) as err:
        connector(key="mallory-key", secret="whatever", base_url=server.url).balance()
    assert client_error(err) == (401, -2015)
    proxy = DelayProxy(server.port, delay=1.3)  # a slow network: arrives 1.3 s after signing
    try:
        slow = connector(key="alice-key", secret="alice-secret", base_url=proxy.url)
        with pytest.raises(ClientError) as err:
            slow.balance(recvWindow=1000)
        assert client_error(err) == (400, -1021)
    finally:
        proxy.close()

    last = bars[0].close
    a = alice.new_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="0.010", newOrderRespType="RESULT")
    assert Decimal(a["avgPrice"]) == last
    b_rest = bob.new_order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.030",
                           price=str((last * Decimal("1.03") // TICK) * TICK))
    assert alice.get_orders(symbol=SYMBOL) == []
    assert [o["orderId"] for o in bob.get_orders(symbol=SYMBOL)] == [b_rest["orderId"]]
    assert bob.get_position_risk(symbol=SYMBOL)[0]["positionAmt"] == "0.000"  # listed: open order
    assert Decimal(alice.get_position_risk(symbol=SYMBOL)[0]["positionAmt"]) == Decimal("0.010")
    with pytest.raises(ClientError) as err:
        alice.cancel_order(symbol=SYMBOL, orderId=b_rest["orderId"])
    assert client_error(err) == (400, -2011)
    assert wallet(bob) == STARTING_BALANCE
    assert wallet(alice) == (STARTING_BALANCE - last * Decimal("0.010") * TAKER).quantize(D8)

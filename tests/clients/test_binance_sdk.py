"""binance-sdk-derivatives-trading-usds-futures 18.1.0 (+ binance-common 4.7.0), unmodified,
against a real ExSim server.

Pointed at ExSim with the configuration its README describes:
`ConfigurationRestAPI(base_path=...)` and `ConfigurationWebSocketStreams(stream_url=...)`.
The SDK validates every response against its pydantic models and only *warns* when a field has
the wrong type or cannot be parsed, so the `no_model_warnings` fixture turns those warnings
into failures: ExSim's JSON must match Binance's declared shapes.
"""
from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketStreams
from binance_common.errors import BadRequestError, UnauthorizedError
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import \
    DerivativesTradingUsdsFutures

from exsim.config import ApiKey

from .helpers import (MAKER, STARTING_BALANCE, SYMBOL, TAKER, TICK, WS_WAIT, DelayProxy, await_subscribed,
                      price_falling_through)

pytestmark = pytest.mark.timeout(30)
QTY = Decimal("0.010")
D8 = Decimal("0.00000001")


@pytest.fixture(autouse=True)
def no_model_warnings(caplog):
    caplog.set_level(logging.WARNING)
    yield
    bad = [r.getMessage() for r in caplog.records
           if "did not match the declared types" in r.getMessage() or "Failed to parse" in r.getMessage()]
    assert not bad, bad


def sdk(server, key: str = "key", secret: str = "secret", base_path: str | None = None,
        **rest) -> DerivativesTradingUsdsFutures:
    return DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(api_key=key, api_secret=secret, base_path=base_path or server.url,
                                             **rest),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=server.ws_url))


def code_of(excinfo) -> int:
    return excinfo.value.status_code  # binance-common puts Binance's code here, not the HTTP status


def wallet(rest) -> Decimal:
    [usdt] = [b for b in rest.futures_account_balance_v3().data() if b.asset == "USDT"]
    return Decimal(usdt.balance)


def test_time_and_exchange_info(server, bars):
    rest = sdk(server).rest_api
    assert rest.check_server_time().data().server_time == bars[1].ts
    info = rest.exchange_information().data()
    [sym] = [s for s in info.symbols if s.symbol == SYMBOL]
    assert (sym.contract_type, sym.status, sym.margin_asset) == ("PERPETUAL", "TRADING", "USDT")
    filters = {f.filter_type: f for f in sym.filters}
    assert Decimal(filters["PRICE_FILTER"].tick_size) == TICK
    assert Decimal(filters["LOT_SIZE"].step_size) == Decimal("0.001")
    assert Decimal(filters["MIN_NOTIONAL"].notional) == 100
    assert filters["PERCENT_PRICE"].multiplier_decimal == "4"
    response = rest.exchange_information()
    assert response.rate_limits  # parsed from the X-MBX-USED-WEIGHT-1M header


def test_klines(server, bars):
    rest = sdk(server).rest_api
    server.step(2)
    rows = rest.kline_candlestick_data(SYMBOL, "1m", limit=10).data()
    assert [r[0] for r in rows] == [b.ts for b in bars[:3]]
    assert [Decimal(r[4]) for r in rows] == [b.close for b in bars[:3]]
    ticker = rest.symbol_price_ticker(symbol=SYMBOL).data().actual_instance
    assert Decimal(ticker.price) == bars[2].close


def test_orders_positions_and_settings(server, bars):
    rest = sdk(server).rest_api
    assert rest.change_initial_leverage(symbol=SYMBOL, leverage=25).data().leverage == 25
    with pytest.raises(BadRequestError) as err:
        rest.change_margin_type(symbol=SYMBOL, margin_type="CROSSED")
    assert code_of(err) == -4046 and err.value.error_message == "No need to change margin type."
    changed = rest.change_margin_type(symbol=SYMBOL, margin_type="ISOLATED").data()
    assert (changed.code, changed.msg) == (200, "success")
    v2 = rest.position_information_v2(symbol=SYMBOL).data()[0]
    assert (v2.margin_type, v2.leverage) == ("isolated", "25")

    # MARKET (RESULT): filled at the last close
    last = Decimal(rest.kline_candlestick_data(SYMBOL, "1m", limit=1).data()[-1][4])
    market = rest.new_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=float(QTY),
                            new_order_resp_type="RESULT").data()
    # avgPrice is not in the SDK's NewOrderResponse model: it lands in additional_properties
    assert market.status == "FILLED" and Decimal(market.additional_properties["avgPrice"]) == last
    assert Decimal(market.executed_qty) == QTY
    fee1 = last * QTY * TAKER
    assert wallet(rest) == (STARTING_BALANCE - fee1).quantize(D8)
    [pos] = rest.position_information_v3(symbol=SYMBOL).data()
    assert Decimal(pos.position_amt) == QTY and Decimal(pos.entry_price) == last
    account = rest.account_information_v3().data()
    assert Decimal(account.total_wallet_balance) == (STARTING_BALANCE - fee1).quantize(D8)

    # LIMIT rests; STOP_MARKET goes to the algo service (new_algo_order)
    low = (last * Decimal("0.97") // TICK) * TICK
    limit = rest.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", time_in_force="GTC", quantity=float(QTY),
                           price=float(low)).data()
    assert limit.status == "NEW" and Decimal(limit.price) == low
    trigger, j = price_falling_through(bars)
    algo = rest.new_algo_order(algo_type="CONDITIONAL", symbol=SYMBOL, side="SELL", type="STOP_MARKET",
                               trigger_price=float(trigger), close_position="true").data()
    assert algo.algo_status == "NEW" and Decimal(algo.trigger_price) == trigger
    assert algo.client_algo_id  # generated when none is sent, as Binance does
    assert [o.order_id for o in rest.current_all_open_orders(symbol=SYMBOL).data()] == [limit.order_id]
    assert [o.algo_id for o in rest.current_all_algo_open_orders(symbol=SYMBOL).data()] == [algo.algo_id]
    assert rest.query_order(symbol=SYMBOL, order_id=limit.order_id).data().status == "NEW"
    assert rest.cancel_order(symbol=SYMBOL, order_id=limit.order_id).data().status == "CANCELED"

    server.step(j)
    done = rest.query_algo_order(algo_id=algo.algo_id).data()
    assert done.algo_status == "FINISHED" and done.actual_order_id
    fill = rest.query_order(symbol=SYMBOL, order_id=int(done.actual_order_id)).data()
    assert (fill.status, Decimal(fill.avg_price)) == ("FILLED", trigger)
    assert rest.position_information_v3(symbol=SYMBOL).data() == []
    pnl = (trigger - last) * QTY
    fee2 = trigger * QTY * TAKER
    trades = rest.account_trade_list(symbol=SYMBOL).data()
    assert [(t.side, Decimal(t.price)) for t in trades] == [("BUY", last), ("SELL", trigger)]
    assert Decimal(trades[-1].realized_pnl) == pnl and Decimal(trades[-1].commission) == fee2.quantize(D8)
    assert wallet(rest) == (STARTING_BALANCE - fee1 - fee2 + pnl).quantize(D8)

    # an algo order can also be cancelled, by its clientAlgoId
    again = rest.new_algo_order(algo_type="CONDITIONAL", symbol=SYMBOL, side="BUY", type="STOP_MARKET",
                                trigger_price=float(trigger + 1000), quantity=float(QTY),
                                client_algo_id="my-stop-1").data()
    cancelled = rest.cancel_algo_order(client_algo_id="my-stop-1").data()
    assert (cancelled.algo_id, cancelled.code) == (again.algo_id, "200")
    assert rest.current_all_algo_open_orders(symbol=SYMBOL).data() == []


def test_resting_limit_fills_as_maker(server, bars):
    rest = sdk(server).rest_api
    price, j = price_falling_through(bars)
    order = rest.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", time_in_force="GTC", quantity=float(QTY),
                           price=float(price)).data()
    server.step(j)
    done = rest.query_order(symbol=SYMBOL, order_id=order.order_id).data()
    assert done.status == "FILLED" and Decimal(done.avg_price) == price
    [trade] = rest.account_trade_list(symbol=SYMBOL).data()
    assert trade.maker is True and Decimal(trade.commission) == (price * QTY * MAKER).quantize(D8)


def test_errors_are_typed(server):
    rest = sdk(server).rest_api
    with pytest.raises(BadRequestError) as err:
        rest.kline_candlestick_data("NOPEUSDT", "1m")
    assert code_of(err) == -1121
    with pytest.raises(BadRequestError) as err:
        rest.new_order(symbol="NOPEUSDT", side="BUY", type="MARKET", quantity=0.01)
    assert code_of(err) == -1121
    with pytest.raises(BadRequestError) as err:
        rest.query_order(symbol=SYMBOL, order_id=555)
    assert code_of(err) == -2013
    with pytest.raises(BadRequestError) as err:
        rest.cancel_order(symbol=SYMBOL, order_id=555)
    assert code_of(err) == -2011
    with pytest.raises(BadRequestError) as err:
        rest.query_algo_order(algo_id=555)
    assert code_of(err) == -2013
    with pytest.raises(BadRequestError) as err:
        rest.new_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=100.0)
    assert code_of(err) == -2019 and err.value.error_message == "Margin is insufficient."
    assert wallet(rest) == STARTING_BALANCE


async def test_kline_websocket_streams(server, bars):
    client = sdk(server)
    connection = await client.websocket_streams.create_connection()  # /market, /public, /private
    try:
        klines, continuous = [], []
        stream = await connection.kline_candlestick_streams(symbol="btcusdt", interval="1m")
        stream.on("message", klines.append)
        cstream = await connection.continuous_contract_kline_candlestick_streams(
            pair="btcusdt", contract_type="perpetual", interval="1m")
        cstream.on("message", continuous.append)
        await await_subscribed(server, "btcusdt@kline_1m")
        await await_subscribed(server, "btcusdt_perpetual@continuousKline_1m")
        await asyncio.to_thread(server.step, 2)
        deadline = asyncio.get_running_loop().time() + WS_WAIT
        while len([k for k in klines if k.k.x]) < 2 or len([k for k in continuous if k.k.x]) < 2:
            assert asyncio.get_running_loop().time() < deadline, (klines, continuous)
            await asyncio.sleep(0.02)
        closed = [k for k in klines if k.k.x]
        assert [(k.k.t, Decimal(k.k.c)) for k in closed] == [(b.ts, b.close) for b in bars[1:3]]
        assert all(k.e == "kline" and k.s == SYMBOL and k.k.i == "1m" for k in closed)
        assert [(k.k.t, Decimal(k.k.h)) for k in continuous if k.k.x] == [(b.ts, b.high) for b in bars[1:3]]
    finally:
        await connection.close_connection(close_session=True)


def test_auth_verify(live_server, bars):
    server = live_server(auth="verify", api_keys=[ApiKey(key="alice-key", secret="alice-secret"),
                                                  ApiKey(key="bob-key", secret="bob-secret")])
    alice = sdk(server, "alice-key", "alice-secret").rest_api
    bob = sdk(server, "bob-key", "bob-secret").rest_api
    assert wallet(alice) == STARTING_BALANCE
    # public calls: the SDK sends an empty X-MBX-APIKEY header when it has no key
    assert len(sdk(server, key=None, secret=None).rest_api.kline_candlestick_data(SYMBOL, "1m").data()) == 1

    with pytest.raises(BadRequestError) as err:
        sdk(server, "alice-key", "wrong").rest_api.futures_account_balance_v3()
    assert code_of(err) == -1022
    with pytest.raises(UnauthorizedError) as err:  # HTTP 401
        sdk(server, "mallory-key", "whatever").rest_api.futures_account_balance_v3()
    assert code_of(err) == -2015
    proxy = DelayProxy(server.port, delay=1.3)  # a slow network: arrives 1.3 s after signing
    try:
        slow = sdk(server, "alice-key", "alice-secret", base_path=proxy.url, timeout=5000, retries=0).rest_api
        with pytest.raises(BadRequestError) as err:
            slow.futures_account_balance_v3(recv_window=1000)
        assert code_of(err) == -1021
    finally:
        proxy.close()

    last = bars[0].close
    mine = alice.new_order(symbol=SYMBOL, side="SELL", type="MARKET", quantity=0.02, new_order_resp_type="RESULT").data()
    assert Decimal(mine.additional_properties["avgPrice"]) == last
    stop = alice.new_algo_order(algo_type="CONDITIONAL", symbol=SYMBOL, side="BUY", type="STOP_MARKET",
                                trigger_price=float(last + 2000), close_position="true").data()
    assert bob.position_information_v3(symbol=SYMBOL).data() == []
    assert bob.current_all_algo_open_orders(symbol=SYMBOL).data() == []
    with pytest.raises(BadRequestError) as err:
        bob.cancel_algo_order(algo_id=stop.algo_id)
    assert code_of(err) == -2011
    theirs = bob.new_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=0.005, new_order_resp_type="RESULT").data()
    server.step(1)
    assert Decimal(alice.position_information_v3(symbol=SYMBOL).data()[0].position_amt) == Decimal("-0.020")
    assert Decimal(bob.position_information_v3(symbol=SYMBOL).data()[0].position_amt) == Decimal("0.005")
    assert [t.order_id for t in bob.account_trade_list(symbol=SYMBOL).data()] == [theirs.order_id]
    assert [o.algo_id for o in alice.current_all_algo_open_orders(symbol=SYMBOL).data()] == [stop.algo_id]

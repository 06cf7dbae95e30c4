"""binance-sdk-derivatives-trading-usds-futures 18.1.0: the user-data stream
(websocket_streams connection .user_data(listenKey)) against a real ExSim server.

rest_api.start_user_data_stream() makes the key (POST /fapi/v1/listenKey); user_data(key)
SUBSCRIBEs it on the /private/stream connection (UUID string id) and the SDK dispatches each
combined payload by its `stream` field, which must be the key. Every payload is validated into
the SDK's UserDataStreamEventsResponse (OrderTradeUpdate, TradeLite, AccountUpdate, AlgoUpdate,
AccountConfigUpdate, ...): `no_model_warnings` fails the test on any payload the SDK could not
parse, and each model must give back exactly the payload a raw reference socket received.
"""
from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models import (
    AccountConfigUpdate, AccountUpdate, AlgoUpdate, OrderTradeUpdate, TradeLite)

from .helpers import SYMBOL, WS_WAIT
from .test_binance_sdk import sdk
from .user_data import (ALICE, BOB, KEYS, QTY, SENTINEL_LEVERAGE, RawListener, algo, check_scripted,
                        listeners, plan, scripted, summary, until)

pytestmark = pytest.mark.timeout(30)
MODELS = {"ORDER_TRADE_UPDATE": OrderTradeUpdate, "TRADE_LITE": TradeLite, "ACCOUNT_UPDATE": AccountUpdate,
          "ALGO_UPDATE": AlgoUpdate, "ACCOUNT_CONFIG_UPDATE": AccountConfigUpdate}


@pytest.fixture(autouse=True)
def no_model_warnings(caplog):
    caplog.set_level(logging.INFO)
    yield
    bad = [r.getMessage() for r in caplog.records
           if r.levelno >= logging.WARNING and r.name == "root"  # the SDK logs to root: parse failures, callback errors
           or "Received message" in r.getMessage()]  # a frame no stream callback claimed
    assert not bad, bad


def blocking(fn, *args, **kwargs):
    """The SDK's REST client is synchronous: run it off the loop the stream reads on."""
    return asyncio.to_thread(lambda: fn(*args, **kwargs).data())


async def test_user_data_events_parse_into_models_that_give_back_the_payloads(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    p = plan(bars)
    client = sdk(server, *ALICE)
    alice, bob = client.rest_api, sdk(server, *BOB).rest_api
    connection = await client.websocket_streams.create_connection()  # /market, /public, /private
    raw = None
    try:
        key = (await blocking(alice.start_user_data_stream)).listen_key
        got = []
        stream = await connection.user_data(key)  # sends the SUBSCRIBE, does not wait for the reply
        stream.on("message", got.append)
        await until(lambda: listeners(server, key) == 1)
        raw = await asyncio.to_thread(RawListener, server, key)

        new_order = alice.new_order
        market = await blocking(new_order, symbol=SYMBOL, side="BUY", type="MARKET", quantity=float(QTY))
        await blocking(bob.new_order, symbol=SYMBOL, side="SELL", type="MARKET", quantity=float(QTY))  # not alice's
        sell = await blocking(new_order, symbol=SYMBOL, side="SELL", type="LIMIT", time_in_force="GTC",
                              quantity=float(QTY), price=float(p.sell))
        low = await blocking(new_order, symbol=SYMBOL, side="BUY", type="LIMIT", time_in_force="GTC",
                             quantity=float(QTY), price=float(p.low))
        assert (await blocking(alice.cancel_order, symbol=SYMBOL, order_id=low.order_id)).status == "CANCELED"
        stop = await blocking(alice.new_algo_order, algo_type="CONDITIONAL", symbol=SYMBOL, side="SELL",
                              type="STOP_MARKET", trigger_price=float(p.low), close_position="true")
        assert (await blocking(alice.cancel_algo_order, algo_id=stop.algo_id)).code == "200"
        await asyncio.to_thread(server.step, p.j)
        await blocking(alice.change_initial_leverage, symbol=SYMBOL, leverage=SENTINEL_LEVERAGE)

        sent = await asyncio.to_thread(raw.until_sentinel)
        await until(lambda: got and isinstance(got[-1].actual_instance, AccountConfigUpdate))
        events = [m.actual_instance for m in got]
        # the SDK's models keep no `e`: the event type is the model class
        assert [type(ev) for ev in events] == [MODELS[ev["e"]] for ev in sent]
        assert [{"e": ev["e"], **model.to_dict()} for model, ev in zip(events, sent)] == sent  # nothing lost or changed

        expected = scripted(market.order_id, sell.order_id, low.order_id)
        expected[7:7] = [algo(stop.algo_id, "NEW"), algo(stop.algo_id, "CANCELED")]  # after the cancel
        assert [summary(ev) for ev in sent] == expected
        fills = [ev.o for ev in events if isinstance(ev, OrderTradeUpdate) and ev.o.x == "TRADE"]
        assert [(f.i, Decimal(f.L), f.m) for f in fills] == [(market.order_id, p.last, False),
                                                            (sell.order_id, p.sell, True)]
        trades = [t.to_dict() for t in await blocking(alice.account_trade_list, symbol=SYMBOL)]
        [usdt] = [b for b in await blocking(alice.futures_account_balance_v3) if b.asset == "USDT"]
        check_scripted(sent, p, trades, Decimal(usdt.balance))
        await blocking(alice.keepalive_user_data_stream)  # PUT: the key stays valid
    finally:
        if raw is not None:
            raw.close()
        await asyncio.wait_for(connection.close_connection(close_session=True), WS_WAIT)

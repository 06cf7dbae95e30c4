"""python-binance 1.0.37: the futures user-data stream (BinanceSocketManager.futures_user_socket)
against a real ExSim server.

futures_user_socket() creates the listenKey itself (unsigned POST /fapi/v1/listenKey through
the AsyncClient) and connects to FSTREAM_URL + "private/ws?listenKey=<key>"; recv() hands out
each payload as parsed JSON. The library is pointed at ExSim as in test_python_binance.py.
A raw socket on the same key (user_data.RawListener) records what ExSim sent: the library
must hand out exactly that, in that order.
"""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from binance.ws.constants import WSListenerState

from .helpers import SYMBOL, WS_WAIT, find, price_falling_through
from .test_python_binance import async_client, socket_manager
from .user_data import (ALICE, BOB, KEYS, QTY, SENTINEL_LEVERAGE, RawListener, algo, check_fills, check_scripted,
                        fill, is_sentinel, listeners, new, plan, scripted, sentinel, summary, until)

pytestmark = pytest.mark.timeout(30)


async def read_until_sentinel(socket) -> list[dict]:
    got: list[dict] = []
    while not got or not is_sentinel(got[-1]):
        msg = await asyncio.wait_for(socket.recv(), WS_WAIT)
        assert msg.get("e") != "error", msg  # the library reports its socket errors in-band
        got.append(msg)
    return got


async def leave(socket, client) -> None:
    """Leave the socket without waiting out its 10 s receive timeout: the library's exit waits
    for its read loop, which only looks at the EXITING state after a message. Start the exit,
    wait for that state, then make the stream send one more event (a leverage change)."""
    exiting = asyncio.ensure_future(socket.__aexit__(None, None, None))
    await until(lambda: socket.ws_state == WSListenerState.EXITING or exiting.done())
    if not exiting.done():
        await client.futures_change_leverage(symbol=SYMBOL, leverage=SENTINEL_LEVERAGE + 1)
    await asyncio.wait_for(exiting, WS_WAIT)


async def wallet(client) -> Decimal:
    return Decimal(find(await client.futures_account_balance(), asset="USDT")["balance"])


async def test_user_socket_hands_out_every_event_as_sent_and_in_order(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    p = plan(bars)
    alice = await async_client(server, *ALICE)
    bob = await async_client(server, *BOB)
    socket = socket_manager(server, alice).futures_user_socket()
    await socket.__aenter__()  # POST /fapi/v1/listenKey, then /private/ws?listenKey=<key>
    raw = None
    try:
        key = await alice.futures_stream_get_listen_key()  # the account's active key: the socket's
        assert socket.ws.request.path == f"/private/ws?listenKey={key}"
        await until(lambda: listeners(server, key) == 1)
        raw = await asyncio.to_thread(RawListener, server, key)

        market = await alice.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=str(QTY))
        await bob.futures_create_order(symbol=SYMBOL, side="SELL", type="MARKET", quantity=str(QTY))  # not alice's
        sell = await alice.futures_create_order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                                                quantity=str(QTY), price=str(p.sell))
        low = await alice.futures_create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                               quantity=str(QTY), price=str(p.low))
        assert (await alice.futures_cancel_order(symbol=SYMBOL, orderId=low["orderId"]))["status"] == "CANCELED"
        await asyncio.to_thread(server.step, p.j)
        await alice.futures_change_leverage(symbol=SYMBOL, leverage=SENTINEL_LEVERAGE)

        got = await read_until_sentinel(socket)
        sent = await asyncio.to_thread(raw.until_sentinel)
        assert got == sent  # unchanged and in order, nothing lost or added
        assert [summary(ev) for ev in got] == scripted(market["orderId"], sell["orderId"], low["orderId"])
        assert got[0]["o"]["c"] == market["clientOrderId"] and got[0]["o"]["c"].startswith("x-Cb7ytekJ")
        check_scripted(got, p, await alice.futures_account_trades(symbol=SYMBOL), await wallet(alice))
    finally:
        if raw is not None:
            raw.close()
        await leave(socket, alice)
        await alice.close_connection()
        await bob.close_connection()


async def test_user_socket_follows_an_algo_stop_through_its_trigger(live_server, bars):
    """futures_create_order sends STOP_MARKET to /fapi/v1/algoOrder: the stream reports the algo
    order in ALGO_UPDATE, then the order it triggers in ORDER_TRADE_UPDATE (§8.8)."""
    server = live_server(auth="verify", api_keys=KEYS)
    alice = await async_client(server, *ALICE)
    socket = socket_manager(server, alice).futures_user_socket()
    await socket.__aenter__()
    raw = None
    try:
        key = await alice.futures_stream_get_listen_key()
        await until(lambda: listeners(server, key) == 1)
        raw = await asyncio.to_thread(RawListener, server, key)

        market = await alice.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=str(QTY))
        trigger, j = price_falling_through(bars)
        stop = await alice.futures_create_order(symbol=SYMBOL, side="SELL", type="STOP_MARKET",
                                                stopPrice=str(trigger), closePosition="true")
        await asyncio.to_thread(server.step, j)
        await alice.futures_change_leverage(symbol=SYMBOL, leverage=SENTINEL_LEVERAGE)

        got = await read_until_sentinel(socket)
        assert got == await asyncio.to_thread(raw.until_sentinel)
        done = await alice.futures_get_order(symbol=SYMBOL, algoId=stop["algoId"])
        assert done["algoStatus"] == "FINISHED"
        aid, actual = stop["algoId"], int(done["actualOrderId"])
        head = [new(market["orderId"]), *fill(market["orderId"], QTY),
                algo(aid, "NEW"), algo(aid, "TRIGGERING"), algo(aid, "TRIGGERED"),
                new(actual), *fill(actual, Decimal(0))[:2]]
        seen = [summary(ev) for ev in got]
        assert seen[:len(head)] == head and seen[-1] == sentinel()
        # then the algo order finishes and the position is flat: Binance orders events only within
        # one type (§8.8), so ALGO_UPDATE FINISHED and the ACCOUNT_UPDATE may come either way round
        assert sorted(seen[len(head):-1], key=str) == sorted([algo(aid, "FINISHED"), fill(actual, Decimal(0))[2]],
                                                            key=str)
        updates = [ev["o"] for ev in got if ev["e"] == "ALGO_UPDATE"]
        assert {(u["caid"], u["o"], Decimal(u["tp"]), u["cp"]) for u in updates} \
            == {(stop["clientAlgoId"], "STOP_MARKET", trigger, True)}
        ai = [u["ai"] for u in updates]  # the order in the matching engine: none while NEW
        assert ai[0] == "" and ai[2:] == [str(actual), str(actual)]
        assert (Decimal(updates[-1]["ap"]), Decimal(updates[-1]["aq"])) == (trigger, QTY)
        triggered = [ev["o"] for ev in got if ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["i"] == actual]
        assert all(o["o"] == "MARKET" and o["ot"] == "STOP_MARKET" and o["cp"] for o in triggered)
        trades = await alice.futures_account_trades(symbol=SYMBOL)
        assert [t["orderId"] for t in trades] == [market["orderId"], actual]
        check_fills(got, trades)
    finally:
        if raw is not None:
            raw.close()
        await leave(socket, alice)
        await alice.close_connection()

"""binance-futures-connector 4.2.0: the user-data stream (UMFuturesWebsocketClient.user_data)
against a real ExSim server.

The connector has no listenKey logic of its own in the socket: UMFutures.new_listen_key()
makes the key (POST /fapi/v1/listenKey) and user_data(listen_key) SUBSCRIBEs it as a stream
name on /ws (raw payloads) or, with is_combined=True, on /stream (payloads wrapped in
{"stream": <listenKey>, "data": ...}). on_message gets each frame's text as received: both
sockets must get exactly the frames a raw reference socket on the key got, in that order.
"""
from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

from .helpers import SYMBOL, find, wait_for
from .user_data import (ALICE, BOB, KEYS, QTY, SENTINEL_LEVERAGE, RawListener, check_scripted, is_sentinel,
                        listeners, plan, scripted, summary)

pytestmark = pytest.mark.timeout(30)


class Frames:
    """on_message sink for the connector's reader thread: every text frame, as received."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.texts: list[str] = []

    def __call__(self, _socket, text: str) -> None:
        with self.lock:
            self.texts.append(text)

    def parsed(self) -> list[dict]:
        with self.lock:
            return [json.loads(t) for t in self.texts]

    def replies(self) -> list[dict]:
        return [m for m in self.parsed() if "result" in m or "error" in m]

    def events(self) -> list[str]:
        """The event frames (not SUBSCRIBE replies), up to and including the sentinel."""
        with self.lock:
            texts = list(self.texts)
        out = []
        for text in texts:
            msg = json.loads(text)
            if "result" in msg or "error" in msg:
                continue
            out.append(text)
            if is_sentinel(msg.get("data", msg)):
                return out
        return []


def test_user_data_on_ws_and_stream_gets_every_frame_as_sent(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    p = plan(bars)
    alice = UMFutures(*ALICE, base_url=server.url)
    bob = UMFutures(*BOB, base_url=server.url)
    raw_frames, combined_frames = Frames(), Frames()
    ws_raw = UMFuturesWebsocketClient(stream_url=server.ws_url, on_message=raw_frames)  # -> /ws
    ws_combined = UMFuturesWebsocketClient(stream_url=server.ws_url, on_message=combined_frames, is_combined=True)
    raw = None
    try:
        key = alice.new_listen_key()["listenKey"]
        assert alice.renew_listen_key(key) == {"listenKey": key}  # PUT: the same key, extended
        ws_raw.user_data(listen_key=key, id=1)
        ws_combined.user_data(listen_key=key)  # id: the connector's millisecond timestamp
        assert wait_for(raw_frames.replies) == [{"result": None, "id": 1}]
        assert wait_for(combined_frames.replies)[0]["result"] is None
        wait_for(lambda: listeners(server, key) == 2)
        raw = RawListener(server, key)

        market = alice.new_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=str(QTY))
        bob.new_order(symbol=SYMBOL, side="SELL", type="MARKET", quantity=str(QTY))  # not in alice's stream
        sell = alice.new_order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC", quantity=str(QTY),
                               price=str(p.sell))
        low = alice.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity=str(QTY),
                              price=str(p.low))
        assert alice.cancel_order(symbol=SYMBOL, orderId=low["orderId"])["status"] == "CANCELED"
        server.step(p.j)
        alice.change_leverage(symbol=SYMBOL, leverage=SENTINEL_LEVERAGE)

        sent = raw.until_sentinel()
        got_raw = wait_for(raw_frames.events)
        assert [json.loads(t) for t in got_raw] == sent  # /ws: the payloads themselves, unchanged, in order
        assert got_raw == raw.frames()[:len(sent)]  # byte for byte
        got_combined = [json.loads(t) for t in wait_for(combined_frames.events)]
        assert got_combined == [{"stream": key, "data": ev} for ev in sent]  # /stream: wrapped, named by the key

        assert [summary(ev) for ev in sent] == scripted(market["orderId"], sell["orderId"], low["orderId"])
        wallet = Decimal(find(alice.balance(), asset="USDT")["balance"])
        check_scripted(sent, p, alice.get_account_trades(symbol=SYMBOL), wallet)
        assert alice.close_listen_key(key) == {}  # DELETE: ExSim closes the key's sockets
        wait_for(lambda: listeners(server, key) == 0)
    finally:
        if raw is not None:
            raw.close()
        ws_raw.stop()
        ws_combined.stop()
        alice.session.close()
        bob.session.close()

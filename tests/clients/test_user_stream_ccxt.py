"""ccxt 4.5.90 (ccxt.pro binanceusdm): watch_orders, watch_my_trades, watch_balance and
watch_positions against a real ExSim server.

Pointed at ExSim as docs/clients.md says: the `fapi*` entries of `exchange.urls["api"]` (REST)
and `urls["api"]["ws"]["linear"]` = ws://127.0.0.1:<port>/ws, which ccxt.pro rewrites to
/private/ws?listenKey=<key> for user data after its own POST /fapi/v1/listenKey; with
`options.fetchCurrencies` off (no /sapi call). Each watch_* runs in a loop, as a bot runs it,
and the test waits for each step's update before taking the next one, so every batch a watcher
returns is known. ccxt keeps one cached state per order, so watch_orders may skip an order's
intermediate states (a MARKET order's NEW and TRADE arrive together); every state it does
return must be one ExSim sent (its `info` is the payload's "o", unchanged), in the order sent.
"""
from __future__ import annotations

import asyncio
import copy
from decimal import Decimal
from urllib.parse import urlsplit

import ccxt.pro as ccxtpro
import pytest

from .helpers import STARTING_BALANCE, SYMBOL, WS_WAIT
from .user_data import (ALICE, BOB, KEYS, QTY, SENTINEL_LEVERAGE, RawListener, algo, check_scripted, listeners,
                        plan, scripted, summary, until)

pytestmark = pytest.mark.timeout(30)
UNIFIED = "BTC/USDT:USDT"


def exchange(server, key: str, secret: str) -> ccxtpro.binanceusdm:
    ex = ccxtpro.binanceusdm({"apiKey": key, "secret": secret, "options": {"fetchCurrencies": False}})
    api = ex.urls["api"]
    for name, url in list(api.items()):
        if name.startswith("fapi"):  # fapiPublic(V2, V3), fapiPrivate(V2, V3), fapiData
            api[name] = server.url + urlsplit(url).path
    api["ws"]["linear"] = server.ws_url + "/ws"
    return ex


class Watch:
    """One watch_* method called in a loop; every batch it returned, deep-copied (ccxt updates
    its cached dicts in place)."""

    def __init__(self, method, *args) -> None:
        self.batches: list = []
        self.task = asyncio.ensure_future(self._run(method, args))

    async def _run(self, method, args) -> None:
        while True:
            self.batches.append(copy.deepcopy(await method(*args)))

    def got(self, n: int):
        """Has the n-th batch arrived? (Raises what the watcher raised, if it stopped.)"""
        if self.task.done():
            self.task.result()
        return len(self.batches) >= n

    @property
    def items(self) -> list:
        return [item for batch in self.batches for item in batch]

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def in_order(seen: list, sent: list) -> bool:
    """`seen` is `sent` with some items left out, nothing added or reordered."""
    rest = iter(sent)
    return all(any(s == x for x in rest) for s in seen)


def D(x) -> Decimal:
    return Decimal(str(x))


async def test_watchers_see_orders_trades_balance_and_positions_as_sent(live_server, bars):
    server = live_server(auth="verify", api_keys=KEYS)
    p = plan(bars)
    ex, bob = exchange(server, *ALICE), exchange(server, *BOB)
    watches: list[Watch] = []
    raw = None
    try:
        await ex.load_markets()  # GET /fapi/v1/exchangeInfo
        assert ex.market(UNIFIED)["id"] == SYMBOL
        positions = Watch(ex.watch_positions, [UNIFIED])  # listenKey; the first batch: the REST snapshot
        await until(lambda: positions.got(1))
        assert positions.batches == [[]]  # nothing open yet
        orders, trades = Watch(ex.watch_orders, UNIFIED), Watch(ex.watch_my_trades, UNIFIED)
        balance = Watch(ex.watch_balance)
        watches = [positions, orders, trades, balance]
        key = (await ex.fapiPrivatePostListenKey())["listenKey"]  # the account's active key: ccxt's
        await until(lambda: listeners(server, key) == 1)
        assert f"{server.ws_url}/private/ws?listenKey={key}" in ex.clients  # one socket for all four
        raw = await asyncio.to_thread(RawListener, server, key)

        # MARKET BUY: the order closes, one trade, one balance, one position update
        market = await ex.create_order(UNIFIED, "market", "buy", float(QTY))
        assert market["status"] == "closed"  # newOrderRespType=RESULT
        await bob.create_order(UNIFIED, "market", "sell", float(QTY))  # not in alice's stream
        await until(lambda: trades.got(1) and balance.got(1) and positions.got(2)
                    and any(o["id"] == market["id"] and o["status"] == "closed" for o in orders.items))
        sell = await ex.create_order(UNIFIED, "limit", "sell", float(QTY), float(p.sell))
        await until(lambda: any(o["id"] == sell["id"] for o in orders.items))
        low = await ex.create_order(UNIFIED, "limit", "buy", float(QTY), float(p.low))
        await until(lambda: any(o["id"] == low["id"] for o in orders.items))
        await ex.cancel_order(low["id"], UNIFIED)
        await until(lambda: any(o["id"] == low["id"] and o["status"] == "canceled" for o in orders.items))
        # a stop: ccxt sends it to /fapi/v1/algoOrder, and reads its ALGO_UPDATE as an order
        stop = await ex.create_order(UNIFIED, "market", "sell", float(QTY), None, {"triggerPrice": float(p.low)})
        await until(lambda: any(o["id"] == stop["id"] for o in orders.items))
        await ex.cancel_order(stop["id"], UNIFIED, {"trigger": True})
        await until(lambda: any(o["id"] == stop["id"] and o["status"] == "canceled" for o in orders.items))
        # the bar that reaches the SELL
        await asyncio.to_thread(server.step, p.j)
        await until(lambda: trades.got(2) and balance.got(2) and positions.got(3)
                    and any(o["id"] == sell["id"] and o["status"] == "closed" for o in orders.items))
        await ex.set_leverage(SENTINEL_LEVERAGE, UNIFIED)
        sent = await asyncio.to_thread(raw.until_sentinel)

        expected = scripted(int(market["id"]), int(sell["id"]), int(low["id"]))
        expected[7:7] = [algo(int(stop["id"]), "NEW"), algo(int(stop["id"]), "CANCELED")]  # after the cancel
        assert [summary(ev) for ev in sent] == expected
        rest_trades = await ex.fetch_my_trades(UNIFIED)  # GET /fapi/v1/userTrades
        rest_balance = await ex.fetch_balance()  # GET /fapi/v3/account
        check_scripted(sent, p, [t["info"] for t in rest_trades], D(rest_balance["USDT"]["total"]))

        # watch_orders: states ExSim sent, in order; each order ends as its last payload says
        order_payloads = [ev["o"] if ev["e"] == "ORDER_TRADE_UPDATE" else {**ev["o"], "T": ev["T"]}  # ccxt adds
                          for ev in sent if ev["e"] in ("ORDER_TRADE_UPDATE", "ALGO_UPDATE")]  # the event time
        seen = orders.items
        assert in_order([o["info"] for o in seen], order_payloads)
        last = {o["id"]: o for o in seen}
        assert list(last) == [market["id"], sell["id"], low["id"], stop["id"]]
        assert [(o["status"], o["type"], o["side"], D(o["amount"])) for o in last.values()] == [
            ("closed", "market", "buy", QTY), ("closed", "limit", "sell", QTY),
            ("canceled", "limit", "buy", QTY), ("canceled", "market", "sell", QTY)]
        assert [D(o["filled"]) for o in last.values() if o["filled"] is not None] == [QTY, QTY, 0]  # none: algo
        assert (D(last[market["id"]]["average"]), D(last[sell["id"]]["average"])) == (p.last, p.sell)
        assert D(last[stop["id"]]["triggerPrice"]) == p.low
        assert [D(last[i]["fee"]["cost"]) for i in (market["id"], sell["id"])] == [p.market_fee, p.sell_fee]

        # watch_my_trades: both fills, one batch each, as REST fetch_my_trades has them
        assert [len(b) for b in trades.batches] == [1, 1]
        fields = ("id", "order", "side", "price", "amount", "takerOrMaker", "timestamp")
        assert [tuple(t[f] for f in fields) for t in trades.items] == [tuple(t[f] for f in fields) for t in rest_trades]
        assert [(t["fee"]["currency"], D(t["fee"]["cost"])) for t in trades.items] \
            == [(t["fee"]["currency"], D(t["fee"]["cost"])) for t in rest_trades] == [("USDT", p.market_fee),
                                                                                        ("USDT", p.sell_fee)]
        assert [t["info"] for t in trades.items] == [o for o in order_payloads if o.get("x") == "TRADE"]

        # watch_balance: the wallet after each fill (ACCOUNT_UPDATE "wb")
        after_market = STARTING_BALANCE - p.market_fee
        assert [D(b["USDT"]["total"]) for b in balance.batches] == [after_market, after_market - p.sell_fee + p.pnl]
        assert [b["info"] for b in balance.batches] == [ev for ev in sent if ev["e"] == "ACCOUNT_UPDATE"]

        # watch_positions: the REST snapshot, then long 0.010 at the MARKET price, then flat
        assert [[(q["symbol"], q["side"], D(q["contracts"]), D(q["entryPrice"])) for q in b]
                for b in positions.batches[1:]] == [[(UNIFIED, "long", QTY, p.last)],
                                                    [(UNIFIED, "both", 0, 0)]]  # ccxt's side of a flat one-way position
        assert [b[0]["info"] for b in positions.batches[1:]] \
            == [ev["a"]["P"][0] for ev in sent if ev["e"] == "ACCOUNT_UPDATE"]
    finally:
        for w in watches:
            await w.stop()
        if raw is not None:
            raw.close()
        await asyncio.wait_for(asyncio.gather(ex.close(), bob.close()), WS_WAIT)

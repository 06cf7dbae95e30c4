"""store.event_log = true: every engine event of a run is stored in table event_log (seq, ts,
type, account, JSON body), and trading with it on works exactly as with it off (the requests
answer as usual, the other tables get their rows)."""
import json

from exsim.wire.keys import STORE


async def test_orders_with_the_event_log_on_answer_and_every_event_is_stored(exsim_client):
    c = await exsim_client(store={"event_log": True})
    r = await c.post("/fapi/v1/order", params={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                               "quantity": "0.01"})
    assert r.status == 200, await r.text()
    r = await c.post("/fapi/v1/order", params={"symbol": "ETHUSDT", "side": "SELL", "type": "LIMIT",
                                               "quantity": "0.1", "price": "2400", "timeInForce": "GTC"})
    assert r.status == 200, await r.text()
    r = await c.post("/fapi/v1/leverage", params={"symbol": "BTCUSDT", "leverage": "5"})
    assert r.status == 200, await r.text()
    r = await c.post("/admin/step", json={"bars": 3})
    assert r.status == 200 and (await r.json())["bars"] == 3
    store = c.server.app[STORE]
    await store.writer.flush()
    rows = await store.query(lambda con: con.execute(
        "SELECT seq, ts, type, account, body FROM event_log ORDER BY seq").fetchall())
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))  # every event, none missing
    types = [row[2] for row in rows]
    assert types[0] == "RunStarted"
    assert {"OrderUpdated", "AccountUpdated", "IncomeBooked", "EquityMarked", "LeverageChanged"} <= set(types)
    for seq, ts, kind, account, body in rows:
        data = json.loads(body)
        assert data["type"] == kind and data["seq"] == seq and data["time"] == ts
        if kind == "OrderUpdated":
            assert account == "default" and data["order"]["symbol"] in ("BTCUSDT", "ETHUSDT")
    orders = await store.query(lambda con: con.execute("SELECT count(*) FROM orders").fetchall()[0][0])
    assert orders == types.count("OrderUpdated") == 3  # NEW + FILLED of the market order, NEW of the limit

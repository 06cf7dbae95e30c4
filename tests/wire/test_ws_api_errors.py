"""WebSocket API failures are answered, never dropped: malformed JSON, a non-object request or
params, an unknown method, engine rejections; the socket stays usable after each."""
import pytest


async def roundtrip(ws, text: str):
    await ws.send_str(text)
    return await ws.receive_json(timeout=10)


@pytest.mark.parametrize("text, msg_part", [
    ("{not json", "JSON"),
    ("[1, 2]", "expected an object"),
    ('{"id": 1, "params": {}}', "'method'"),
    ('{"id": {"a": 1}, "method": "session.status"}', "'id'"),
    ('{"id": 2, "method": "order.place", "params": [1]}', "'params'"),
])
async def test_unreadable_requests_get_a_400_with_null_id(exsim_client, text, msg_part):
    c = await exsim_client()
    async with c.ws_connect("/ws-fapi/v1") as ws:
        reply = await roundtrip(ws, text)
        assert reply["id"] is None and reply["status"] == 400
        assert reply["error"]["code"] == -1000 and msg_part in reply["error"]["msg"]
        ok = await roundtrip(ws, '{"id": "next", "method": "session.status"}')
        assert ok["id"] == "next" and ok["status"] == 200


async def test_unknown_method_echoes_the_id(exsim_client):
    c = await exsim_client()
    async with c.ws_connect("/ws-fapi/v1") as ws:
        reply = await roundtrip(ws, '{"id": "u1", "method": "order.teleport", "params": {}}')
        assert reply["id"] == "u1" and reply["status"] == 400 and reply["error"]["code"] == -1020
        assert "order.teleport" in reply["error"]["msg"] and reply["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
        versioned = await roundtrip(ws, '{"id": 3, "method": "v1/session.status"}')
        assert versioned["status"] == 200


async def test_engine_rejections_keep_binance_codes(exsim_client):
    c = await exsim_client()
    cases = [
        ({"symbol": "NOPEUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}, -1121, "Invalid symbol."),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}, -1102, None),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "1",
          "timeInForce": "GTC"}, None, None),
        ({"symbol": "BTCUSDT", "side": "UP", "type": "MARKET", "quantity": "0.01"}, None, None),
    ]
    async with c.ws_connect("/ws-fapi/v1") as ws:
        for i, (params, code, msg) in enumerate(cases):
            await ws.send_json({"id": i, "method": "order.place", "params": params})
            reply = await ws.receive_json(timeout=10)
            rest = await (await c.post("/fapi/v1/order", data=params)).json()
            assert reply["id"] == i and reply["status"] == 400
            assert reply["error"] == {"code": rest["code"], "msg": rest["msg"]}
            if code is not None:
                assert reply["error"]["code"] == code
            if msg is not None:
                assert reply["error"]["msg"] == msg
        await ws.send_json({"id": "j", "method": "order.place",
                            "params": {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01,
                                       "newOrderRespType": "RESULT"}})
        assert (await ws.receive_json(timeout=10))["result"]["status"] == "FILLED"  # JSON numbers read too


async def test_a_bug_answers_500_and_the_socket_survives(exsim_client, monkeypatch):
    from exsim.wire import ws_api
    c = await exsim_client()

    def boom(*_a, **_k):
        raise RuntimeError("boom")
    monkeypatch.setattr(ws_api, "balance_json", boom)
    async with c.ws_connect("/ws-fapi/v1") as ws:
        reply = await roundtrip(ws, '{"id": 9, "method": "account.balance"}')
        assert reply["id"] == 9 and reply["status"] == 500 and reply["error"]["code"] == -1000
        assert "Traceback" not in str(reply)
        assert (await roundtrip(ws, '{"id": 10, "method": "session.status"}'))["status"] == 200

"""listenKeys and the ways to connect to them: every path form delivers the same events (raw on
/ws forms, {"stream": key, "data": ...} on /stream forms, also mixed with market streams); the
key's lifecycle (POST returns the active key, PUT extends, DELETE closes, expiry closes, unknown
keys are refused with a reason); and with auth="verify" each account's stream carries only its
own account (../shared/spec/binance_api.md §8.1)."""
import asyncio
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from aiohttp import WSMsgType

BTC = "BTCUSDT"
MARKET_BUY = {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.010"}
FAKE_KEY = "Zx" * 32  # well-formed (64 alphanumerics), never issued
KEYS = [{"key": "alice-key", "secret": "alice-secret"}, {"key": "bob-key", "secret": "bob-secret"}]


async def ok(resp, status=200):
    body = await resp.json()
    assert resp.status == status, body
    return body


async def receive(ws, timeout=5.0) -> dict:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def closed(ws, timeout=5.0) -> tuple[int, str]:
    """Wait (bounded) for the server's close frame: (code, reason)."""
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == WSMsgType.CLOSE, msg
    return msg.data, msg.extra


async def new_key(c, headers=None) -> str:
    return (await ok(await c.post("/fapi/v1/listenKey", headers=headers)))["listenKey"]


async def sim_time(c) -> int:
    return (await ok(await c.get("/admin/status")))["sim_time"]


def user_events(frames: list, combined: bool, key: str) -> list:
    """The user-data payloads of a socket's frames (unwrapped from {"stream","data"} where combined)."""
    out = []
    for f in frames:
        if combined:
            assert set(f) == {"stream", "data"}, f
            if f["stream"] != key:
                continue
            f = f["data"]
        out.append(f)
    return out


# --- every way in -----------------------------------------------------------------------------

async def test_every_path_form_delivers_the_same_events(exsim_client):
    c = await exsim_client()
    key = await new_key(c)
    raw_paths = [f"/ws/{key}", f"/ws?listenKey={key}", f"/private/ws?listenKey={key}", f"/private/ws/{key}"]
    combined_paths = [f"/stream?streams={key}", f"/stream?streams={key}/btcusdt@kline_1m",
                      f"/stream?streams=btcusdt@kline_1m/{key}"]
    sockets = [(await c.ws_connect(p), False, p) for p in raw_paths]
    sockets += [(await c.ws_connect(p), True, p) for p in combined_paths]
    sub_raw = await c.ws_connect("/ws")
    sub_combined = await c.ws_connect("/private/stream")
    for i, ws in enumerate((sub_raw, sub_combined)):
        await ws.send_json({"method": "SUBSCRIBE", "params": [key], "id": i})
        assert await receive(ws) == {"result": None, "id": i}
    sockets += [(sub_raw, False, "/ws SUBSCRIBE"), (sub_combined, True, "/private/stream SUBSCRIBE")]
    # each socket is live (a URL's subscription is in place once its handshake is done)
    await ok(await c.post("/fapi/v1/leverage", data={"symbol": BTC, "leverage": "9"}))
    order = await ok(await c.post("/fapi/v1/order", data=MARKET_BUY))
    now = await sim_time(c)
    seen = {}
    for ws, combined, path in sockets:
        frames = [await receive(ws) for _ in range(5)]
        seen[path] = user_events(frames, combined, key)
        if combined:
            assert [f["stream"] for f in frames] == [key] * 5, path
    reference = seen[raw_paths[0]]
    assert [(ev["e"], ev.get("o", {}).get("x")) for ev in reference] == [
        ("ACCOUNT_CONFIG_UPDATE", None), ("ORDER_TRADE_UPDATE", "NEW"), ("TRADE_LITE", None),
        ("ORDER_TRADE_UPDATE", "TRADE"), ("ACCOUNT_UPDATE", None)]
    assert reference[1]["o"]["i"] == order["orderId"] and all(ev["E"] == now for ev in reference)
    for path, events in seen.items():
        assert events == reference, path
    # the clock: a kline arrives only where it was asked for, wrapped; the user stream stays quiet
    await ok(await c.post("/admin/step", json={"bars": 1}))
    for ws, combined, path in sockets:
        if "kline" in path:
            frame = await receive(ws)
            assert frame["stream"] == "btcusdt@kline_1m" and frame["data"]["e"] == "kline", path
    # then one more user event reaches every socket, and it is the next frame everywhere
    await ok(await c.post("/fapi/v1/leverage", data={"symbol": BTC, "leverage": "8"}))
    for ws, combined, path in sockets:
        [ev] = user_events([await receive(ws)], combined, key)
        assert ev["e"] == "ACCOUNT_CONFIG_UPDATE" and ev["ac"] == {"s": BTC, "l": 8}, path
    for ws, _, _ in sockets:
        await ws.close()


async def test_unknown_key_in_the_url_is_closed_1008_with_a_reason(exsim_client):
    c = await exsim_client()
    for path in (f"/ws/{FAKE_KEY}", f"/ws?listenKey={FAKE_KEY}", f"/private/ws/{FAKE_KEY}",
                 f"/stream?streams={FAKE_KEY}", f"/stream?streams=btcusdt@kline_1m/{FAKE_KEY}"):
        ws = await c.ws_connect(path)
        code, reason = await closed(ws)
        assert code == 1008, path
        assert FAKE_KEY[:20] in reason and "listenKey" in reason, (path, reason)


async def test_unknown_key_in_subscribe_is_error_code_2(exsim_client):
    c = await exsim_client()
    key = await new_key(c)
    for path in ("/ws", "/private/stream"):
        ws = await c.ws_connect(path)
        await ws.send_json({"method": "SUBSCRIBE", "params": [FAKE_KEY], "id": 7})
        reply = await receive(ws)
        assert reply["id"] == 7 and reply["error"]["code"] == 2 and "listenKey" in reply["error"]["msg"]
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
        assert await receive(ws) == {"result": [], "id": 8}  # nothing half-subscribed
        await ws.send_json({"method": "SUBSCRIBE", "params": [key], "id": 9})  # the real one works
        assert await receive(ws) == {"result": None, "id": 9}
        await ws.close()


# --- the key's lifecycle ----------------------------------------------------------------------

async def test_post_returns_the_active_key_and_put_extends_it(exsim_client):
    c = await exsim_client()
    for method in (c.put, c.delete):  # no key yet
        r = await method("/fapi/v1/listenKey")
        assert (await ok(r, 400)) == {"code": -1125, "msg": "This listenKey does not exist."}
    key = await new_key(c)
    assert len(key) == 64 and key.isalnum()
    assert await new_key(c) == key  # the active key again
    assert await ok(await c.put("/fapi/v1/listenKey")) == {"listenKey": key}
    assert await ok(await c.put("/fapi/v1/listenKey", params={"listenKey": key})) == {"listenKey": key}
    async with c.ws_connect(f"/ws/{key}") as ws:  # still the live key
        await ok(await c.post("/fapi/v1/leverage", data={"symbol": BTC, "leverage": "3"}))
        assert (await receive(ws))["ac"] == {"s": BTC, "l": 3}


async def test_delete_closes_the_sockets_with_a_reason_and_the_key(exsim_client):
    c = await exsim_client()
    key = await new_key(c)
    raw = await c.ws_connect(f"/ws/{key}")
    combined = await c.ws_connect(f"/stream?streams={key}/btcusdt@kline_1m")
    assert await ok(await c.delete("/fapi/v1/listenKey")) == {}
    for ws in (raw, combined):
        assert await closed(ws) == (1008, "listenKey closed")
    for method in (c.put, c.delete):
        assert (await ok(await method("/fapi/v1/listenKey"), 400))["code"] == -1125
    late = await c.ws_connect(f"/ws/{key}")  # the old key is gone
    code, reason = await closed(late)
    assert code == 1008 and "listenKey" in reason
    fresh = await new_key(c)
    assert fresh != key
    async with c.ws_connect(f"/ws/{fresh}") as ws:
        order = await ok(await c.post("/fapi/v1/order", data=MARKET_BUY))
        ev = await receive(ws)
        assert ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["i"] == order["orderId"]


async def test_an_expired_key_sends_listen_key_expired_then_closes(exsim_client):
    c = await exsim_client(ws={"listen_key_ttl": 0.3})
    key = await new_key(c)
    ws = await c.ws_connect(f"/ws/{key}")
    combined = await c.ws_connect(f"/stream?streams={key}")
    now = await sim_time(c)
    assert await receive(ws) == {"e": "listenKeyExpired", "E": now, "listenKey": key}
    assert await closed(ws) == (1008, "listenKey expired")
    assert await receive(combined) == {"stream": key, "data": {"e": "listenKeyExpired", "E": now, "listenKey": key}}
    assert await closed(combined) == (1008, "listenKey expired")
    assert (await ok(await c.put("/fapi/v1/listenKey"), 400))["code"] == -1125
    assert await new_key(c) != key


def signed_query(secret: str, params: dict) -> str:
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    return query + "&signature=" + hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


async def test_put_before_expiry_keeps_the_key_alive(exsim_client):
    """Alice's key is made first, Bob's second, then Alice PUTs. A socket on both keys gets
    Alice's events, then one listenKeyExpired, and is closed with it: had the PUT not extended
    Alice's key, hers (the older) would have expired first; it is Bob's, so at Bob's expiry, past
    Alice's original expiry, her key was still alive and that socket still got events. Her own
    socket gets her events, then her expiry, one ttl after the PUT (the clock of this test is
    the expiry frames, never a sleep)."""
    c = await exsim_client(auth="verify", api_keys=KEYS, ws={"listen_key_ttl": 0.3})
    alice, bob = ({"X-MBX-APIKEY": k["key"]} for k in KEYS)
    alice_key = await new_key(c, alice)
    bob_key = await new_key(c, bob)
    both = await c.ws_connect(f"/stream?streams={alice_key}/{bob_key}")
    own = await c.ws_connect(f"/ws/{alice_key}")
    put_sent = time.monotonic()
    assert await ok(await c.put("/fapi/v1/listenKey", headers=alice)) == {"listenKey": alice_key}
    order = await ok(await c.post("/fapi/v1/order?" + signed_query(KEYS[0]["secret"], MARKET_BUY), headers=alice))
    alice_events = ["ORDER_TRADE_UPDATE", "TRADE_LITE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
    frames = [await receive(both) for _ in range(5)]
    assert [f["stream"] for f in frames] == [alice_key] * 4 + [bob_key]
    assert [f["data"]["e"] for f in frames] == alice_events + ["listenKeyExpired"]
    assert frames[0]["data"]["o"]["i"] == order["orderId"] and frames[4]["data"]["listenKey"] == bob_key
    # Alice's expiry is due a moment later: when both timers fire in one loop turn, her frame
    # may still go out before the close that Bob's expiry began
    msg = await asyncio.wait_for(both.receive(), 5)
    if msg.type == WSMsgType.TEXT:
        assert json.loads(msg.data) == {"stream": alice_key, "data": {
            "e": "listenKeyExpired", "E": frames[4]["data"]["E"], "listenKey": alice_key}}
        msg = await asyncio.wait_for(both.receive(), 5)
    assert (msg.type, msg.data, msg.extra) == (WSMsgType.CLOSE, 1008, "listenKey expired")
    frames = [await receive(own) for _ in range(5)]
    expired_at = time.monotonic()
    assert [f["e"] for f in frames] == alice_events + ["listenKeyExpired"]
    assert frames[4]["listenKey"] == alice_key
    assert expired_at - put_sent >= 0.3  # a ttl after the keepalive
    assert await closed(own) == (1008, "listenKey expired")
    assert (await ok(await c.put("/fapi/v1/listenKey", headers=alice), 400))["code"] == -1125


# --- accounts ---------------------------------------------------------------------------------

async def test_each_account_key_carries_only_its_own_account(exsim_client):
    c = await exsim_client(auth="verify", api_keys=KEYS)
    alice, bob = ({"X-MBX-APIKEY": k["key"]} for k in KEYS)
    alice_key, bob_key = await new_key(c, alice), await new_key(c, bob)
    assert alice_key != bob_key
    assert await new_key(c, alice) == alice_key  # each account its own active key
    sockets = {"alice": await c.ws_connect(f"/ws/{alice_key}"), "bob": await c.ws_connect(f"/ws/{bob_key}")}
    secrets = {"alice": KEYS[0]["secret"], "bob": KEYS[1]["secret"]}
    headers = {"alice": alice, "bob": bob}

    async def signed_post(who, path, params):
        return await ok(await c.post(path + "?" + signed_query(secrets[who], params), headers=headers[who]))

    a = await signed_post("alice", "/fapi/v1/order", MARKET_BUY)
    b = await signed_post("bob", "/fapi/v1/order", {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET",
                                                    "quantity": "0.100"})
    await signed_post("bob", "/fapi/v1/leverage", {"symbol": BTC, "leverage": "4"})
    for who in ("alice", "bob"):  # a fence per account: its own leverage change
        await signed_post(who, "/fapi/v1/leverage", {"symbol": "ETHUSDT", "leverage": "20"})
    got = {}
    for who, ws in sockets.items():
        frames = []
        while not frames or frames[-1]["e"] != "ACCOUNT_CONFIG_UPDATE" or frames[-1]["ac"]["s"] != "ETHUSDT":
            frames.append(await receive(ws))
        got[who] = frames
    assert [(f["e"], f.get("o", {}).get("i", f.get("i"))) for f in got["alice"]] == [
        ("ORDER_TRADE_UPDATE", a["orderId"]), ("TRADE_LITE", a["orderId"]), ("ORDER_TRADE_UPDATE", a["orderId"]),
        ("ACCOUNT_UPDATE", None), ("ACCOUNT_CONFIG_UPDATE", None)]
    assert [(f["e"], f.get("o", {}).get("i", f.get("i"))) for f in got["bob"]] == [
        ("ORDER_TRADE_UPDATE", b["orderId"]), ("TRADE_LITE", b["orderId"]), ("ORDER_TRADE_UPDATE", b["orderId"]),
        ("ACCOUNT_UPDATE", None), ("ACCOUNT_CONFIG_UPDATE", None), ("ACCOUNT_CONFIG_UPDATE", None)]
    assert got["alice"][3]["a"]["P"][0]["s"] == BTC and got["alice"][3]["a"]["P"][0]["pa"] == "0.010"
    assert got["bob"][3]["a"]["P"][0]["s"] == "ETHUSDT" and got["bob"][3]["a"]["P"][0]["pa"] == "-0.100"
    assert got["bob"][4]["ac"] == {"s": BTC, "l": 4}
    # each wallet as that account's REST sees it
    for who in ("alice", "bob"):
        query = signed_query(secrets[who], {})
        bal = await ok(await c.get("/fapi/v2/balance?" + query, headers=headers[who]))
        assert got[who][3]["a"]["B"][0]["wb"] == bal[0]["balance"]
    for ws in sockets.values():
        await ws.close()


async def test_listen_key_requests_need_a_known_api_key(exsim_client):
    c = await exsim_client(auth="verify", api_keys=KEYS)
    for method in (c.post, c.put, c.delete):
        r = await method("/fapi/v1/listenKey", headers={"X-MBX-APIKEY": "mallory-key"})
        assert (await ok(r, r.status))["code"] == -2015 and r.status in (400, 401)
        r = await method("/fapi/v1/listenKey")
        assert (await ok(r, r.status))["code"] == -2014 and r.status in (400, 401)
    assert await new_key(c, {"X-MBX-APIKEY": "alice-key"})  # no signature needed

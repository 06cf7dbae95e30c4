"""WebSocket API account reads, user-data-stream keys and sessions: the same JSON as the REST
routes; with auth = "verify" each request is signed (HMAC or Ed25519) unless the session logged on."""
import base64
import hashlib
import hmac
import time

KEY, SECRET = "wsapi-key-1", "wsapi-secret-1"
ED_KEY = "wsapi-ed25519-key"


def hmac_sign(params: dict, secret: str = SECRET) -> dict:
    params = {"apiKey": KEY, "timestamp": int(time.time() * 1000), **params}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "signature": hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()}


async def call(ws, method, params=None, req_id="1"):
    msg = {"id": req_id, "method": method}
    if params is not None:
        msg["params"] = params
    await ws.send_json(msg)
    return await ws.receive_json(timeout=10)


async def test_account_reads_equal_rest(exsim_client):
    c = await exsim_client()
    await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"})
    pairs = [("account.status", "/fapi/v2/account"), ("v2/account.status", "/fapi/v3/account"),
             ("account.balance", "/fapi/v2/balance"), ("v2/account.balance", "/fapi/v3/balance"),
             ("account.position", "/fapi/v2/positionRisk"), ("v2/account.position", "/fapi/v3/positionRisk")]
    async with c.ws_connect("/ws-fapi/v1") as ws:
        for method, path in pairs:
            got = await call(ws, method, req_id=method)
            rest = await (await c.get(path)).json()
            assert got["status"] == 200 and got["id"] == method
            assert got["result"] == rest, method
        one = await call(ws, "account.position", {"symbol": "BTCUSDT"})
        assert [p["symbol"] for p in one["result"]] == ["BTCUSDT"] and one["result"][0]["positionAmt"] == "0.010"
        v3 = await call(ws, "v2/account.position")
        assert [p["symbol"] for p in v3["result"]] == ["BTCUSDT"]


async def test_user_data_stream_start_ping_stop(exsim_client):
    c = await exsim_client()
    async with c.ws_connect("/ws-fapi/v1") as ws:
        started = await call(ws, "userDataStream.start", {"apiKey": "anything"})
        key = started["result"]["listenKey"]
        rest = await (await c.post("/fapi/v1/listenKey")).json()
        assert rest["listenKey"] == key  # the account's one active key
        assert (await call(ws, "userDataStream.ping"))["result"] == {"listenKey": key}
        assert (await call(ws, "userDataStream.stop"))["result"] == {}
        gone = await call(ws, "userDataStream.ping")
        assert gone["status"] == 400 and gone["error"]["code"] == -1125


async def test_session_status_logon_logout_with_auth_off(exsim_client):
    c = await exsim_client()
    async with c.ws_connect("/ws-fapi/v1") as ws:
        before = (await call(ws, "session.status"))["result"]
        assert before["apiKey"] is None and before["authorizedSince"] is None
        assert isinstance(before["connectedSince"], int) and before["returnRateLimits"] is True
        logon = await call(ws, "session.logon", {"apiKey": "k", "timestamp": 1, "signature": "x"})
        assert logon["status"] == 200 and logon["result"]["apiKey"] == "k"
        assert isinstance(logon["result"]["authorizedSince"], int)
        out = (await call(ws, "session.logout"))["result"]
        assert out["apiKey"] is None and out["authorizedSince"] is None


async def test_signed_requests_with_auth_verify(exsim_client):
    c = await exsim_client(auth="verify", api_keys=[{"key": KEY, "secret": SECRET}])
    async with c.ws_connect("/ws-fapi/v1") as ws:
        ok = await call(ws, "account.balance", hmac_sign({}))
        assert ok["status"] == 200 and ok["result"][0]["asset"] == "USDT"
        # python-binance signs booleans as str(True), the SDK url-encodes: both verify
        flag = {"apiKey": KEY, "timestamp": int(time.time() * 1000), "returnRateLimits": True}
        payload = "&".join(f"{k}={v}" for k, v in sorted(flag.items()))
        flag["signature"] = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        assert (await call(ws, "account.balance", flag))["status"] == 200
        bad = await call(ws, "account.balance", hmac_sign({}, "wrong"))
        assert bad["status"] == 400 and bad["error"]["code"] == -1022
        unsigned = await call(ws, "account.balance", {"apiKey": KEY, "timestamp": int(time.time() * 1000)})
        assert unsigned["error"]["code"] == -1102 and "signature" in unsigned["error"]["msg"]
        nokey = await call(ws, "account.balance")
        assert nokey["status"] == 401 and nokey["error"]["code"] == -2014
        stranger = await call(ws, "account.balance", {**hmac_sign({}), "apiKey": "who"})
        assert stranger["status"] == 401 and stranger["error"]["code"] == -2015
        stale = await call(ws, "account.balance", hmac_sign({"timestamp": 1_000_000_000_000}))
        assert stale["error"]["code"] == -1021
        # user-stream methods need the key, not a signature
        lk = await call(ws, "userDataStream.start", {"apiKey": KEY})
        assert lk["status"] == 200 and len(lk["result"]["listenKey"]) >= 32
        # after session.logon the key and signature may be left out
        logon = await call(ws, "session.logon", hmac_sign({}))
        assert logon["status"] == 200 and logon["result"]["apiKey"] == KEY
        assert (await call(ws, "account.balance"))["status"] == 200
        placed = await call(ws, "order.place", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                "quantity": "0.010", "newOrderRespType": "RESULT"})
        assert placed["result"]["status"] == "FILLED"
        await call(ws, "session.logout")
        assert (await call(ws, "account.balance"))["error"]["code"] == -2014
    # the order traded the key's own account, not the default one
    r = await c.get("/fapi/v2/positionRisk", params={"symbol": "BTCUSDT", **_rest_signed({"symbol": "BTCUSDT"})},
                    headers={"X-MBX-APIKEY": KEY})
    assert (await r.json())[0]["positionAmt"] == "0.010"


def _rest_signed(params: dict) -> dict:
    params = {**params, "timestamp": int(time.time() * 1000)}
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return {"timestamp": params["timestamp"],
            "signature": hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()}


async def test_ed25519_logon_and_signed_request(exsim_client):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    private = Ed25519PrivateKey.generate()
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    c = await exsim_client(auth="verify", api_keys=[{"key": ED_KEY, "secret": public_pem}])

    def sign(params: dict) -> dict:
        params = {"apiKey": ED_KEY, "timestamp": int(time.time() * 1000), **params}
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return {**params, "signature": base64.b64encode(private.sign(payload.encode())).decode()}

    async with c.ws_connect("/ws-fapi/v1") as ws:
        assert (await call(ws, "account.status", sign({})))["status"] == 200
        forged = sign({})
        forged["timestamp"] += 1
        assert (await call(ws, "account.status", forged))["error"]["code"] == -1022
        logon = await call(ws, "session.logon", sign({}))
        assert logon["status"] == 200 and logon["result"]["apiKey"] == ED_KEY
        status = (await call(ws, "session.status"))["result"]
        assert status["apiKey"] == ED_KEY and status["authorizedSince"] == logon["result"]["authorizedSince"]
        assert (await call(ws, "v2/account.status"))["status"] == 200

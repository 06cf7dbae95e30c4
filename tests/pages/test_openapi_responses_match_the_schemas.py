"""Real answers of the running app match the response schemas the document gives them."""
from __future__ import annotations

import jsonschema

from exsim.wire import openapi

CALLS = [
    ("GET", "/fapi/v1/time", {}), ("GET", "/fapi/v1/exchangeInfo", {}),
    ("GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "3"}),
    ("GET", "/fapi/v1/ticker/price", {"symbol": "BTCUSDT"}), ("GET", "/fapi/v1/ticker/price", {}),
    ("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}), ("GET", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "5"}),
    ("GET", "/fapi/v2/balance", {}), ("GET", "/fapi/v2/account", {}), ("GET", "/fapi/v3/account", {}),
    ("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"}), ("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}),
    ("GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT"}), ("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}),
    ("GET", "/fapi/v1/income", {}), ("GET", "/fapi/v1/leverageBracket", {"symbol": "BTCUSDT"}),
    ("GET", "/admin/status", {}), ("POST", "/admin/pause", None), ("POST", "/admin/step", None),
]


def check(doc: dict, method: str, path: str, body, status: int = 200) -> None:
    op = doc["paths"][path][method.lower()]
    key = "200" if status == 200 else "4XX"
    schema = next(iter(op["responses"][key]["content"].values()))["schema"]
    jsonschema.validate(body, {**schema, "components": doc["components"]},
                        cls=jsonschema.Draft202012Validator)


async def test_answers_match_their_documented_schemas(exsim_client):
    client = await exsim_client()
    doc = openapi.build()
    await client.post("/admin/step", json={"bars": 5})
    resp = await client.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                     "quantity": "0.01"})
    check(doc, "POST", "/fapi/v1/order", await resp.json())
    await client.post("/admin/step", json={"bars": 5})
    for method, path, params in CALLS:
        if method == "GET":
            resp = await client.get(path, params=params)
        else:
            resp = await client.post(path, json={})
        assert resp.status == 200, (path, await resp.text())
        check(doc, method, path, await resp.json())
    resp = await client.get("/fapi/v1/klines", params={"symbol": "NOPE", "interval": "1m"})
    assert resp.status == 400
    check(doc, "GET", "/fapi/v1/klines", await resp.json(), 400)

"""/openapi.json documents every route the app serves, and nothing it does not serve: a route
added without an entry in exsim/wire/openapi.py fails here."""
from __future__ import annotations

import msgspec

from exsim.wire import openapi
from exsim.wire.app import create_app


def served(app) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # aiohttp adds one to every GET
            continue
        out.add((route.method, route.resource.canonical))
    return out


def test_every_served_route_is_documented_and_every_documented_one_is_served(make_config):
    app = create_app(make_config())
    routes = served(app)
    ws = {("GET", path) for path in openapi.ws_paths()}
    documented = openapi.operations()
    undocumented = routes - documented - ws
    assert not undocumented, f"routes without an entry in exsim/wire/openapi.py ROUTES/WS_PATHS: {sorted(undocumented)}"
    assert not documented - routes, f"documented but not served: {sorted(documented - routes)}"
    assert not ws - routes, f"WebSocket paths documented but not served: {sorted(ws - routes)}"
    assert not documented & ws


def test_the_document_paths_are_the_route_table():
    doc = openapi.build()
    in_doc = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert in_doc == openapi.operations()
    for path in openapi.ws_paths():  # WebSockets: in the description and in x-websockets
        assert f"`{path}`" in doc["info"]["description"]
    assert {w["path"] for w in doc["x-websockets"]} == openapi.ws_paths()


def test_every_rest_family_is_there():
    paths = openapi.build()["paths"]
    for prefix in ("/fapi/", "/futures/data/", "/api/v3/", "/sapi/", "/admin/"):
        assert any(p.startswith(prefix) for p in paths), prefix
    assert {"get", "post", "put", "delete"} <= set(paths["/fapi/v1/order"])


async def test_the_served_document_is_the_built_one(exsim_client):
    client = await exsim_client()
    resp = await client.get("/openapi.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert "X-MBX-USED-WEIGHT-1M" not in resp.headers  # pages carry no request weight
    assert msgspec.json.decode(await resp.read()) == msgspec.json.decode(msgspec.json.encode(openapi.build()))

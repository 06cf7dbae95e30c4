"""Without the `docs` extra (drf-spectacular-sidecar), /docs and /redoc say which extra to
install instead of failing; /openapi.json still answers."""
from __future__ import annotations

from exsim.wire import pages


async def test_docs_pages_name_the_docs_extra(exsim_client, monkeypatch):
    monkeypatch.setattr(pages, "sidecar_static", lambda: None)
    client = await exsim_client()
    for path in ("/docs", "/redoc", "/docs/assets/swagger-ui.css"):
        resp = await client.get(path)
        assert resp.status == 503
        body = await resp.json()
        assert body["code"] == -1000 and "pip install 'exsim[docs]'" in body["msg"]
    resp = await client.get("/docs", headers={"Accept": "text/html"})
    assert resp.status == 503 and "exsim[docs]" in await resp.text()
    assert (await client.get("/openapi.json")).status == 200


async def test_docs_assets_are_a_fixed_set(exsim_client):
    client = await exsim_client()
    assert (await client.get("/docs/assets/swagger-ui-bundle.js")).status == 200
    assert (await client.get("/docs/assets/..%2F..%2F__init__.py")).status == 404
    assert (await client.get("/static/live.js")).status == 200
    assert (await client.get("/static/..%2Fpages.py")).status == 404

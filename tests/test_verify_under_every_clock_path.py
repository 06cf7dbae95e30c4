"""`verify` re-executes exactly whichever way the live clock moved: ticks inside bars
(ticks_per_bar), coarser bars refined on finer ones (fill_resolution), orders that reach the
book after a latency, bars watched by a WebSocket subscriber (replayed one by one live, jumped
offline), and the clock running at "max" speed between commands (batches of any size)."""
from __future__ import annotations

import asyncio

import pytest

from exsim.rerun import verify

from tests.conftest import T0

MIN = 60_000

CASES = {
    "ticks": dict(ticks_per_bar=4),
    "refined": dict(interval="5m", fill_resolution="1m"),
    "latency": dict(latency_ms=90_000.0, latency_jitter_ms=30_000.0),
    "watched": dict(),
    "max_speed": dict(),
}


async def _ok(resp) -> dict:
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.mark.parametrize("case", list(CASES))
async def test_verify_passes(case, exsim_client, db_path):
    c = await exsim_client(symbol="BTCUSDT", start=T0 + 100 * MIN, end=T0 + 1300 * MIN, **CASES[case])
    ws = await c.ws_connect("/ws/btcusdt@kline_1m") if case == "watched" else None
    post = lambda path, **data: c.post(path, data=data)  # noqa: E731
    step = lambda n: c.post("/admin/step", json={"bars": n})  # noqa: E731
    for k in range(6):
        price = float((await _ok(await c.get("/fapi/v1/ticker/price", params={"symbol": "BTCUSDT"})))["price"])
        side = "BUY" if k % 2 == 0 else "SELL"
        await _ok(await post("/fapi/v1/order", symbol="BTCUSDT", side=side, type="MARKET", quantity="0.02"))
        await _ok(await post("/fapi/v1/order", symbol="BTCUSDT", side=side, type="LIMIT", quantity="0.01",
                             timeInForce="GTC", price=f"{price * (0.999 if side == 'BUY' else 1.001):.1f}"))
        if case == "max_speed":
            await c.post("/admin/speed", json={"speed": "max"})
            status = await _ok(await c.get("/admin/status"))
            for _ in range(200):  # a few batches go by at max speed, then pause again
                await asyncio.sleep(0)
            await c.post("/admin/pause")
            assert (await _ok(await c.get("/admin/status")))["bars_done"] >= status["bars_done"]
        else:
            await step(7)
    await step(20)
    run_id = (await _ok(await c.get("/admin/status")))["run_id"]
    if ws is not None:
        assert (await ws.receive_json())["e"] == "kline"
        await ws.close()
    await c.close()
    ok, text = verify(db_path, run_id)
    assert ok, text

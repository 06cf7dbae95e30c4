"""The synthetic book and trades are a function of the replayed bars only: two servers replaying
the same range send byte-identical depth, partial depth, trade and aggTrade frames, and serve
the same REST depth and trades."""
import asyncio

STREAMS = ["btcusdt@depth@100ms", "btcusdt@depth10", "btcusdt@trade", "btcusdt@aggTrade"]


async def replay(c) -> tuple[list, dict, list]:
    async with c.ws_connect("/stream?streams=" + "/".join(STREAMS)) as ws:
        await c.post("/admin/step", json={"bars": 40})
        frames = [(await asyncio.wait_for(ws.receive(), 5)).data for _ in range(4 * 40 * 2)]
    depth = await (await c.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})).read()
    trades = await (await c.get("/fapi/v1/aggTrades", params={"symbol": "BTCUSDT", "limit": 1000})).read()
    return frames, depth, trades


async def test_two_replays_send_the_same_bytes(exsim_client):
    first = await replay(await exsim_client(ticks_per_bar=2))
    second = await replay(await exsim_client(ticks_per_bar=2))
    assert first == second

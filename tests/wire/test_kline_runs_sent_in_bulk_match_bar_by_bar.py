"""At "max" speed, with only kline subscribers and no order or position, the clock hands runs of
closed bars to the fan-out at once (their payloads were made by the reader). Clients must get
exactly what bar-by-bar replay sends them: every bar once, in order, the same bytes; the Sim
must end where bar-by-bar leaves it; and a position or a ticker subscriber switches back."""
import asyncio

from exsim.wire.keys import FANOUT, SIM
from tests.conftest import T0
from tests.waiting import until

MIN = 60_000
STREAM = "btcusdt@kline_1m"


async def _receive(ws, count):
    return [(await asyncio.wait_for(ws.receive(), 10)).data for _ in range(count)]


async def _replay_max(c, bars):
    """Restart on [T0, T0 + bars): reveals the first bar, then replays the rest at max."""
    await c.post("/admin/replay", json={"restart": True, "start": T0, "end": T0 + bars * MIN,
                                        "speed_bars_per_sec": "max"})


async def _wait_finished(c):
    async def finished() -> bool:
        return (await (await c.get("/admin/status")).json())["finished"]

    await until(finished, what="replay did not finish")


async def test_bulk_runs_equal_bar_by_bar_bytes_and_state(exsim_client):
    c = await exsim_client()
    fanout, sim = c.server.app[FANOUT], c.server.app[SIM]
    n = 3000
    async with c.ws_connect(f"/ws/{STREAM}") as raw, c.ws_connect(f"/stream?streams={STREAM}") as combined:
        # bar by bar: the revealed first bar, then `n - 1` steps
        await c.post("/admin/replay", json={"restart": True, "start": T0, "end": T0 + n * MIN})
        await _receive(raw, 1), await _receive(combined, 1)
        await c.post("/admin/step", json={"bars": n - 1})
        by_bar_raw, by_bar_combined = await _receive(raw, n - 1), await _receive(combined, n - 1)
        by_bar_state = (sim.sim_time, sim.bars_done, sim.market.last, sim.market.bar)
        assert fanout.bars_in_bulk == 0

        await c.post("/admin/replay", json={"speed_bars_per_sec": 0})
        await _replay_max(c, n)
        await _receive(raw, 1), await _receive(combined, 1)
        bulk_raw, bulk_combined = await _receive(raw, n - 1), await _receive(combined, n - 1)
        await _wait_finished(c)
        assert fanout.bars_in_bulk > n // 2  # the runs went through on_bars
        assert (sim.sim_time, sim.bars_done, sim.market.last, sim.market.bar) == by_bar_state

    assert bulk_raw == by_bar_raw
    assert bulk_combined == by_bar_combined
    times = [int(m.split('"t":')[1].split(",")[0]) for m in bulk_raw]
    assert times == [T0 + k * MIN for k in range(1, n)]  # every bar once, in order


async def test_a_position_or_a_ticker_subscriber_turns_bulk_off(exsim_client):
    c = await exsim_client()
    fanout = c.server.app[FANOUT]
    n = 1500
    async with c.ws_connect(f"/ws/{STREAM}") as raw:
        await _replay_max(c, n)
        reference = await _receive(raw, n)
        await _wait_finished(c)
        assert fanout.bars_in_bulk > 0

        # an open position: every bar moves its PnL (and is matched), one at a time
        await c.post("/admin/replay", json={"restart": True, "start": T0, "end": T0 + n * MIN})
        await _receive(raw, 1)
        r = await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                 "quantity": "0.010"})
        assert r.status == 200, await r.text()
        before = fanout.bars_in_bulk
        await c.post("/admin/replay", json={"speed_bars_per_sec": "max"})
        with_order = await _receive(raw, n - 1)
        await _wait_finished(c)
        assert fanout.bars_in_bulk == before
        assert [reference[0]] + with_order == reference

        async with c.ws_connect("/ws/btcusdt@ticker"):
            await _replay_max(c, n)  # a new run: fresh accounts, no position
            with_ticker = await _receive(raw, n)
            await _wait_finished(c)
        assert fanout.bars_in_bulk == before  # 24h ticker stats must see every bar
        assert with_ticker == reference

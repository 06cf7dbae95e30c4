"""Admin API: speed, pause/resume, exact stepping, restart into a new run, status fields."""
import asyncio
import time

from tests.conftest import DAY_MS, T0
from tests.waiting import until

MIN = 60_000


async def status(c):
    r = await c.get("/admin/status")
    assert r.status == 200
    return await r.json()


async def test_status_has_every_spec_field_and_more(exsim_client):
    c = await exsim_client()
    s = await status(c)
    for key in ("symbol", "interval", "run_id", "ws_clients", "bars_loaded", "equity_now", "position", "leverage",
                "margin_type", "dual_side", "sim_time", "progress", "bars_per_sec_actual", "dropped_clients",
                "data_source"):
        assert key in s, key
    assert s["data_source"] == "synthetic" and s["bars_loaded"] == 3 * 1440 and s["position"] == {"qty": 0.0, "avg_price": 0.0}


async def test_step_is_exact_and_pauses(exsim_client):
    c = await exsim_client(speed=5.0)
    r = await c.post("/admin/step", json={"bars": 7})
    body = await r.json()
    assert body["ok"] and body["bars"] == 7
    s1 = await status(c)
    assert s1["paused"] and s1["bars_done"] == body["bars_done"]
    await asyncio.sleep(0.3)
    assert (await status(c))["bars_done"] == s1["bars_done"]


async def test_speed_change_pause_resume(exsim_client):
    c = await exsim_client()
    began = time.perf_counter()  # the clock's own time source
    r = await c.post("/admin/replay", json={"speed_bars_per_sec": 200})
    body = await r.json()
    assert body["ok"] and body["bars"] == 3 * 1440 and body["run_id"]
    moved = (await until(lambda: bars_past(c, 20)))["bars_done"]
    # paced, not as fast as it can: never ahead of 200 bars/s over the time that has passed
    # (bounded by the time measured, so a slow machine cannot fail it)
    assert moved <= 1 + 200 * (time.perf_counter() - began)
    await c.post("/admin/pause")
    frozen = (await status(c))["bars_done"]
    await asyncio.sleep(0.2)  # a window in which a paused clock must not move
    assert (await status(c))["bars_done"] == frozen
    await c.post("/admin/resume")
    await until(lambda: bars_past(c, frozen))


async def bars_past(c, n: int):
    s = await status(c)
    return s if s["bars_done"] > n else None


async def test_restart_opens_a_new_run_over_a_new_range(exsim_client):
    c = await exsim_client()
    first = (await status(c))["run_id"]
    await c.post("/admin/step", json={"bars": 50})
    await c.post("/fapi/v1/order", data={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"})
    r = await c.post("/admin/replay", json={"restart": True, "start": T0 + DAY_MS, "end": T0 + 2 * DAY_MS})
    body = await r.json()
    assert body["run_id"] != first and body["bars"] == 1440
    s = await status(c)
    assert s["sim_time"] == T0 + DAY_MS + MIN and s["bars_done"] == 1
    assert s["position"]["qty"] == 0.0 and s["equity_now"] == 100000.0  # a new run starts clean


async def test_replay_to_the_end_marks_the_run_finished(exsim_client):
    c = await exsim_client()
    await c.post("/admin/replay", json={"restart": True, "start": T0, "end": T0 + 30 * MIN})
    r = await c.post("/admin/step", json={"bars": 100})
    body = await r.json()
    assert body["bars"] == 29 and body["finished"]
    s = await status(c)
    assert s["run_status"] == "finished" and s["progress"] == 1.0


async def test_bad_admin_requests(exsim_client):
    c = await exsim_client()
    for path, payload in (("/admin/replay", {"speed_bars_per_sec": -1}), ("/admin/replay", {"bogus": 1}),
                          ("/admin/step", {"bars": 0}), ("/admin/replay", {"start": "never"})):
        r = await c.post(path, json=payload)
        assert r.status == 400 and (await r.json())["code"] < 0
    r = await c.post("/admin/replay", data=b"not json")
    assert r.status == 400


async def test_admin_token_required_when_configured(exsim_client):
    c = await exsim_client(admin_token="s3cret")
    r = await c.get("/admin/status")
    assert r.status == 401 and (await r.json())["code"] == -2015
    r = await c.get("/admin/status", headers={"Authorization": "Bearer s3cret"})
    assert r.status == 200


async def test_restart_in_the_middle_of_a_multi_chunk_replay(aiohttp_client, tmp_path):
    """A restart abandons a feed with a DuckDB read in flight; the new run replays cleanly."""
    from exsim.config import Config
    from exsim.wire.app import create_app
    from tests.conftest import make_dataset
    db = make_dataset(str(tmp_path / "long.duckdb"), days=100)  # 144,000 bars: three feed chunks
    c = await aiohttp_client(create_app(Config(duckdb_path=db, speed=0.0)))
    for _ in range(2):
        body = await (await c.post("/admin/step", json={"bars": 70_000})).json()
        assert body["bars"] == 70_000 and body["sim_time"] == T0 + 70_001 * MIN
        await c.post("/admin/replay", json={"restart": True})
    await c.post("/admin/replay", json={"speed_bars_per_sec": "max"})
    for _ in range(300):
        s = await status(c)
        if s["finished"]:
            break
        await asyncio.sleep(0.05)
    assert s["finished"] and s["bars_done"] == 144_000 and s["sim_time"] == T0 + 100 * DAY_MS


async def test_on_end_loop_starts_a_new_run_from_the_start(exsim_client):
    c = await exsim_client(on_end="loop", end=T0 + 20 * MIN)
    first = (await status(c))["run_id"]
    body = await (await c.post("/admin/step", json={"bars": 50})).json()
    assert body["bars"] == 19 and body["finished"]

    async def next_run():
        s = await status(c)
        return s if s["run_id"] != first else None

    s = await until(next_run)
    assert s["run_id"] != first and s["run_status"] == "running" and s["sim_time"] == T0 + MIN

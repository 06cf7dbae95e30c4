"""`/admin/clock` (exsim/wire/bot_clock.py), the socket `exsim run-bot` bots keep: the sim time
on connect and on every move (newest only: a client that has not read yet gets one frame with
the latest time, not a backlog), alarms kept in the replay's wakeups while they are in the
future and cleared once due or on `{"wake": null}`, the bot's pid, nothing left behind on
close, and the admin token of every /admin route."""
from __future__ import annotations

import aiohttp
import pytest

from exsim.wire import bot_clock
from exsim.wire.app import create_app
from exsim.wire.keys import REPLAY, SIM

from ..waiting import until


@pytest.fixture
def clock_client(aiohttp_client, make_config):
    async def start(**overrides):
        app = create_app(make_config(**overrides))
        if not any(r.resource is not None and r.resource.canonical == bot_clock.PATH for r in app.router.routes()):
            bot_clock.add_routes(app)
        return await aiohttp_client(app)
    return start


async def recv_t(ws) -> int:
    msg = await ws.receive_json(timeout=10)
    return msg["t"]


async def test_sim_time_on_connect_and_on_every_step(clock_client):
    client = await clock_client()
    app = client.server.app
    ws = await client.ws_connect(bot_clock.PATH)
    assert await recv_t(ws) == app[SIM].sim_time
    for _ in range(3):
        await client.post("/admin/step", json={"bars": 1})
        assert await recv_t(ws) == app[SIM].sim_time
    await ws.close()


async def test_an_alarm_is_kept_until_due_and_the_pid_is_known(clock_client):
    client = await clock_client()
    app = client.server.app
    wake = app[REPLAY].wakeups
    ws = await client.ws_connect(bot_clock.PATH)
    now = await recv_t(ws)
    await ws.send_json({"pid": 4242})
    await ws.send_json({"wake": now + 120_000})
    await until(lambda: wake.earliest() == now + 120_000, what="alarm registered")
    assert list(wake.pids.values()) == [4242]
    await client.post("/admin/step", json={"bars": 1})
    assert await recv_t(ws) == now + 60_000
    assert wake.sleeping() == 1  # not due yet
    await client.post("/admin/step", json={"bars": 1})
    assert await recv_t(ws) == now + 120_000
    assert wake.sleeping() == 0 and len(wake.woken) == 1  # due: cleared, the bot counts as awake
    await ws.close()
    await until(lambda: not wake.pids and not wake.woken and not wake.listeners, what="cleaned up on close")


async def test_wake_null_clears_the_alarm_and_a_past_wake_sets_none(clock_client):
    client = await clock_client()
    wake = client.server.app[REPLAY].wakeups
    ws = await client.ws_connect(bot_clock.PATH)
    now = await recv_t(ws)
    await ws.send_json({"pid": 7})
    await ws.send_json({"wake": now + 600_000.5})
    await until(lambda: wake.earliest() == now + 600_001, what="alarm (rounded up)")
    await ws.send_json({"wake": None})
    await until(lambda: wake.sleeping() == 0, what="alarm cleared")
    assert list(wake.pids.values()) == [7]  # still the same bot
    await ws.send_json({"wake": now})  # due already: no alarm (its time is the one just sent)
    await ws.send_json({"pid": 7})  # a round trip: the wake before it was handled
    await ws.send_str("not json")
    assert "error" in await ws.receive_json(timeout=10)
    assert wake.sleeping() == 0
    await ws.close()


async def test_a_client_that_has_not_read_gets_only_the_newest_time(clock_client):
    client = await clock_client()
    app = client.server.app
    ws = await client.ws_connect(bot_clock.PATH)
    now = await recv_t(ws)
    wake = app[REPLAY].wakeups
    for i in range(1, 1001):  # no await in between: the listener must not send, only note
        wake.moved(now + i)
    assert await recv_t(ws) == now + 1000
    await ws.close()


async def test_two_connections_share_one_listener(clock_client):
    client = await clock_client()
    app = client.server.app
    a = await client.ws_connect(bot_clock.PATH)
    b = await client.ws_connect(bot_clock.PATH)
    now = await recv_t(a)
    assert await recv_t(b) == now
    assert len(app[REPLAY].wakeups.listeners) == 1
    await client.post("/admin/step", json={"bars": 1})
    assert await recv_t(a) == await recv_t(b) == now + 60_000
    await a.close()
    await client.post("/admin/step", json={"bars": 1})
    assert await recv_t(b) == now + 120_000
    await b.close()
    await until(lambda: not app[REPLAY].wakeups.listeners, what="listener removed with the last socket")


async def test_the_admin_token_guards_the_upgrade(clock_client):
    client = await clock_client(admin_token="s3cret")
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(bot_clock.PATH, headers=headers)
        assert refused.value.status == 401
    ws = await client.ws_connect(bot_clock.PATH, headers={"Authorization": "Bearer s3cret"})
    assert await recv_t(ws) == client.server.app[SIM].sim_time
    await ws.close()

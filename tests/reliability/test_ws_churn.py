"""WebSocket churn, short (issue #7.4): 100 client slots connect, subscribe and leave (close
frame, dropped TCP, or never reading) for a few seconds while the replay runs at 1000 bars/s and a
bot trades over REST. Healthy clients lose no bar, the database loses no fill, and nothing of
the churned clients stays behind in the fan-out. Timings are not asserted here;
tools/load/ws_churn.py is the long version with RSS and pace figures."""
from __future__ import annotations

import asyncio
import gc
import importlib.util
import os
import sys

import aiohttp
import duckdb
import pytest

from exsim.wire.keys import FANOUT

from tests.process import REPO

from .helpers import FIGURES

pytestmark = pytest.mark.timeout(120)

_spec = importlib.util.spec_from_file_location("exsim_tools_ws_churn", os.path.join(REPO, "tools", "load", "ws_churn.py"))
ws_churn = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("exsim_tools_ws_churn", ws_churn)
ws_churn.__name__ = "exsim_tools_ws_churn"
_spec.loader.exec_module(ws_churn)

CLIENTS = int(os.environ.get("EXSIM_CHURN_CLIENTS", "100"))
SECONDS = float(os.environ.get("EXSIM_CHURN_SECONDS", "3"))


async def test_churn_loses_no_bar_no_fill_and_leaves_nothing_behind(exsim_client, db_path):
    client = await exsim_client(speed=0.0)
    port = client.port
    base = f"http://127.0.0.1:{port}"
    status = await (await client.get("/admin/status")).json()
    run_id, first_bars, first_open = status["run_id"], status["bars_done"], status["sim_time"]
    healthy = [await ws_churn.Healthy(port, "/ws" if i % 2 == 0 else "/stream").start() for i in range(4)]

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        stop_bot = asyncio.Event()
        trader = asyncio.ensure_future(ws_churn.bot(session, base, stop_bot, interval=0.02))
        resp = await client.post("/admin/replay", json={"speed_bars_per_sec": 1000})
        assert resp.status == 200
        stats = await ws_churn.churn(port, CLIENTS, SECONDS, hold=(0.1, 1.0), seed=3, ramp=0.5)
        await client.post("/admin/pause")
        stop_bot.set()
        bot_stats = await trader
        status = await (await client.get("/admin/status")).json()
        expected = status["bars_done"] - first_bars
        for _ in range(300):
            if all(len(h.klines) >= expected for h in healthy):
                break
            await asyncio.sleep(0.05)
        problems = [p for h in healthy for p in h.problems(first_open, expected)]
        acked = await ws_churn.all_fills(session, base)

    # nothing of the churned clients is left in the fan-out
    fanout = client.server.app[FANOUT]
    for _ in range(100):
        if len(fanout.clients) == len(healthy):
            break
        await asyncio.sleep(0.05)
    gc.collect()
    alive = sum(1 for o in gc.get_objects() if type(o).__name__ == "Client" and type(o).__module__ == "exsim.wire.ws")
    subscribers = {name: len(subs) for name, subs in fanout.subs.items()}
    registered = len(fanout.clients)

    for h in healthy:
        h.close()
    await client.close()  # graceful shutdown: the last fills are flushed, the file is free
    con = duckdb.connect(db_path, read_only=True)
    try:
        stored = set(con.execute("SELECT trade_id, order_id, price, qty FROM trades_fills WHERE run_id = ?::UUID",
                                 [run_id]).fetchall())
    finally:
        con.close()

    FIGURES["churn_short_connections"] = stats.connections
    FIGURES["churn_short_clients_held_peak"] = stats.peak
    FIGURES["churn_short_bars_replayed"] = expected
    FIGURES["churn_short_fills_acked_lost"] = (len(acked), len(acked - stored))
    assert stats.connections >= CLIENTS and stats.connect_errors == 0, stats
    assert expected > 100, "the replay did not run"
    assert not problems, problems
    assert bot_stats.orders > 0 and not bot_stats.errors, bot_stats
    assert acked and acked == stored, f"{len(acked - stored)} acknowledged fills missing in trades_fills"
    assert registered == len(healthy), registered
    assert subscribers == {"btcusdt@kline_1m": len(healthy)}, subscribers
    assert alive == len(healthy), f"{alive} ws.Client objects alive, {len(healthy)} expected"

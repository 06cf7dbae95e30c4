"""Shared fixtures: a real DuckDB file with a small deterministic dataset, configs pointing at it,
and servers on 127.0.0.1 (in-loop via pytest-aiohttp, or in a thread for blocking clients)."""
from __future__ import annotations

import duckdb
import msgspec
import pytest

from exsim.config import Config
from exsim.store import demo
from exsim.wire.app import create_app

from .live import LiveServer

DAY_MS = 86_400_000
T0 = demo.DEMO_START_MS  # 2024-01-01T00:00:00Z


def make_dataset(path: str, days: int = 3, seed: int = 7) -> str:
    con = duckdb.connect(path)
    demo.generate(con, seed=seed, start_ms=T0, end_ms=T0 + days * DAY_MS)
    con.close()
    return path


@pytest.fixture
def db_path(tmp_path) -> str:
    return make_dataset(str(tmp_path / "exsim.duckdb"))


@pytest.fixture
def make_config(db_path):
    """Config on the test dataset, paused (speed 0) unless told otherwise: tests step the clock."""
    def make(**overrides) -> Config:
        # maker 1 / taker 2 bps: the fees the suite's hand-computed figures use (ExSim's default
        # is Binance's base tier, 2 / 5)
        values = {"duckdb_path": db_path, "speed": 0.0, "maker_bps": 1.0, "taker_bps": 2.0}
        values.update(overrides)
        return msgspec.convert(values, Config)
    return make


@pytest.fixture
def exsim_client(aiohttp_client, make_config):
    """Start the real app in the test's loop; returns an aiohttp test client bound to 127.0.0.1."""
    async def start(**overrides):
        cfg = make_config(**overrides)
        return await aiohttp_client(create_app(cfg))
    return start


@pytest.fixture
def live_server(make_config):
    """A real server in its own thread and loop, for blocking third-party clients."""
    servers = []

    def start(**overrides) -> LiveServer:
        server = LiveServer(make_config(**overrides))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()

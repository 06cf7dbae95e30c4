"""Smoke test: tools/ema_bot.py (python-binance Client) trading a running ExSim replay."""
from __future__ import annotations

import importlib.util
import threading
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(30)
BOT = Path(__file__).resolve().parents[2] / "tools" / "ema_bot.py"


def load_bot():
    spec = importlib.util.spec_from_file_location("ema_bot", BOT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_config_from_env_defaults():
    cfg = load_bot().config_from_env({})
    assert cfg["url"] == "http://localhost:9010" and cfg["sym"] == "BTCUSDT" and cfg["tf"] == "1m"
    assert (cfg["fast"], cfg["slow"], cfg["alloc"], cfg["stop"]) == (3, 9, Decimal(1000), Decimal("0.01"))
    assert cfg["allow_shorts"] is False and cfg["max_bars"] is None
    cfg = load_bot().config_from_env({"BINANCE_BASE_URL": "http://h:1", "ALLOW_SHORTS": "true", "MAX_BARS": "5"})
    assert (cfg["url"], cfg["allow_shorts"], cfg["max_bars"]) == ("http://h:1", True, 5)


def test_ema_bot_trades_a_running_replay(live_server):
    server = live_server(speed=100.0)  # the replay runs on its own: 100 bars per second
    bot_module = load_bot()
    lines: list[str] = []
    result: dict = {}
    done = threading.Event()

    def target():
        try:
            result["bot"] = bot_module.run(url=server.url, fast=3, slow=9, alloc=Decimal(1000),
                                           stop=Decimal("0.01"), allow_shorts=True, max_bars=150, poll=0.005,
                                           log=lines.append, stop_event=done)
        except BaseException as exc:  # surfaced below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="ema-bot")
    thread.start()
    thread.join(timeout=20)
    done.set()
    thread.join(timeout=5)
    assert not thread.is_alive(), "bot did not stop"
    assert "error" not in result, result.get("error")
    bot = result["bot"]
    assert bot.bars >= 150
    market = [o for o in bot.orders if o.get("type") == "MARKET"]
    stops = [o for o in bot.orders if o.get("algoType") == "CONDITIONAL"]
    assert market and all(o["status"] == "FILLED" for o in market), lines
    assert stops and all(o["orderType"] == "STOP_MARKET" and o["closePosition"] for o in stops)
    assert bot.fills and any(line.startswith("FILL ") for line in lines)
    entries = [o for o in market if not o["reduceOnly"]]
    assert entries
    for order in entries:  # sized on the last close: ALLOC 1000 USDT is 0.023 BTC at ~42k
        notional = Decimal(order["executedQty"]) * Decimal(order["avgPrice"])
        assert Decimal(950) < notional <= Decimal(1010), order
    print("\n".join(lines))

"""By default every symbol of the database is replayed and served: exchangeInfo, positions,
status, market data and orders for each, one wallet per account across them. A symbol with a
gap or whose data starts later stalls nobody (it is PENDING_TRADING, and refuses orders with
-1122, until its first bar). The config narrows the set: `symbols`, SYMBOLS, --symbols."""
import asyncio
import json
import shutil
from decimal import Decimal

import duckdb
import pytest

from exsim import config
from tests.conftest import T0

MIN = 60_000
SYMBOLS = ["BTCUSDT", "ETHUSDT"]


async def get(c, path, **params):
    r = await c.get(path, params=params)
    return r.status, await r.json()


async def order(c, symbol, side="BUY", type="MARKET", **params):
    r = await c.post("/fapi/v1/order", params={"symbol": symbol, "side": side, "type": type, **params})
    return r.status, await r.json()


async def step(c, bars):
    r = await c.post("/admin/step", json={"bars": bars})
    body = await r.json()
    assert body["bars"] == bars, body
    return body


def variant(db_path, tmp_path, name, sql):
    """A copy of the test dataset changed by `sql` (the original stays as it is)."""
    path = str(tmp_path / f"{name}.duckdb")
    shutil.copy(db_path, path)
    con = duckdb.connect(path)
    con.execute(sql)
    con.close()
    return path


async def test_default_config_serves_every_symbol_of_the_database(exsim_client):
    c = await exsim_client()
    status, info = await get(c, "/fapi/v1/exchangeInfo")
    assert [(s["symbol"], s["status"]) for s in info["symbols"]] == [(s, "TRADING") for s in SYMBOLS]
    status, risk = await get(c, "/fapi/v2/positionRisk")
    assert status == 200 and [p["symbol"] for p in risk] == SYMBOLS
    status, st = await get(c, "/admin/status")
    assert st["symbols"] == SYMBOLS and [m["symbol"] for m in st["markets"]] == SYMBOLS
    assert all(m["status"] == "TRADING" for m in st["markets"])
    await step(c, 5)
    for symbol in SYMBOLS:
        status, rows = await get(c, "/fapi/v1/klines", symbol=symbol, interval="1m")
        assert status == 200 and [r[0] for r in rows] == [T0 + i * MIN for i in range(6)]
        status, price = await get(c, "/fapi/v1/ticker/price", symbol=symbol)
        assert status == 200 and price["price"] == rows[-1][4]  # the last close, the symbol's own
        status, prem = await get(c, "/fapi/v1/premiumIndex", symbol=symbol)
        assert status == 200 and prem["symbol"] == symbol and prem["markPrice"] == rows[-1][4]
        status, t24 = await get(c, "/fapi/v1/ticker/24hr", symbol=symbol)
        assert status == 200 and t24["lastPrice"] == rows[-1][4] and t24["count"] == 6
    status, prices = await get(c, "/fapi/v1/ticker/price")
    assert [p["symbol"] for p in prices] == SYMBOLS
    assert prices[0]["price"] != prices[1]["price"]


async def test_orders_on_both_symbols_share_one_wallet(exsim_client):
    c = await exsim_client()
    assert (await order(c, "BTCUSDT", quantity="0.01"))[0] == 200
    assert (await order(c, "ETHUSDT", side="SELL", quantity="0.5"))[0] == 200
    fees = Decimal(0)
    for symbol in SYMBOLS:
        status, trades = await get(c, "/fapi/v1/userTrades", symbol=symbol)
        assert status == 200 and len(trades) == 1
        fees += Decimal(trades[0]["commission"])
    assert fees > 0
    status, bal = await get(c, "/fapi/v2/balance")
    assert Decimal(bal[0]["balance"]) == 100000 - fees  # both symbols' fees off the one wallet
    await step(c, 3)
    status, acct = await get(c, "/fapi/v2/account")
    pos = {p["symbol"]: p for p in acct["positions"]}
    assert pos["BTCUSDT"]["positionAmt"] == "0.010" and pos["ETHUSDT"]["positionAmt"] == "-0.500"
    upnl = sum(Decimal(p["unrealizedProfit"]) for p in pos.values())
    im = sum(Decimal(p["positionInitialMargin"]) for p in pos.values())
    assert Decimal(acct["totalUnrealizedProfit"]) == upnl
    assert Decimal(acct["totalMarginBalance"]) == 100000 - fees + upnl
    assert Decimal(acct["totalPositionInitialMargin"]) == im > 0
    assert Decimal(acct["availableBalance"]) == 100000 - fees + upnl - im


async def test_a_symbol_with_a_gap_does_not_stall_the_other(exsim_client, db_path, tmp_path):
    gap = [T0 + m * MIN for m in range(5, 10)]
    path = variant(db_path, tmp_path, "gap", f"DELETE FROM ohlc_1m WHERE symbol = 'ETHUSDT' AND ts >= {gap[0]} "
                                              f"AND ts <= {gap[-1]}")
    c = await exsim_client(duckdb_path=path)
    async with c.ws_connect("/stream") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m", "ethusdt@kline_1m"], "id": 1})
        assert json.loads((await asyncio.wait_for(ws.receive(), 5)).data) == {"result": None, "id": 1}
        seen = {"btcusdt@kline_1m": [], "ethusdt@kline_1m": []}
        for minute in range(1, 13):
            body = await step(c, 1)
            assert body["sim_time"] == T0 + (minute + 1) * MIN  # the clock moves through ETH's gap
            for _ in range(1 if T0 + minute * MIN in gap else 2):
                msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
                seen[msg["stream"]].append(msg["data"]["k"]["t"])
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert json.loads((await asyncio.wait_for(ws.receive(), 5)).data)["id"] == 2  # no frame left over
    assert seen["btcusdt@kline_1m"] == [T0 + m * MIN for m in range(1, 13)]
    assert seen["ethusdt@kline_1m"] == [T0 + m * MIN for m in range(1, 13) if T0 + m * MIN not in gap]
    status, st = await get(c, "/admin/status")
    assert st["bars_done"] == 13 and st["sim_time"] == T0 + 13 * MIN
    status, rows = await get(c, "/fapi/v1/klines", symbol="ETHUSDT", interval="1m", startTime=T0)
    assert [r[0] for r in rows] == [T0 + m * MIN for m in range(13) if T0 + m * MIN not in gap]
    status, info = await get(c, "/fapi/v1/exchangeInfo")
    assert [s["status"] for s in info["symbols"]] == ["TRADING", "TRADING"]  # a gap is not a halt


async def test_a_symbol_whose_data_starts_later_is_pending_until_its_first_bar(exsim_client, db_path, tmp_path):
    first = T0 + 10 * MIN
    path = variant(db_path, tmp_path, "late", f"DELETE FROM ohlc_1m WHERE symbol = 'ETHUSDT' AND ts < {first}")
    c = await exsim_client(duckdb_path=path)
    status, info = await get(c, "/fapi/v1/exchangeInfo")
    assert {s["symbol"]: s["status"] for s in info["symbols"]} == {"BTCUSDT": "TRADING", "ETHUSDT": "PENDING_TRADING"}
    status, err = await order(c, "ETHUSDT", quantity="0.1")
    assert status == 400 and err["code"] == -1122
    assert (await order(c, "BTCUSDT", quantity="0.01"))[0] == 200  # the other trades meanwhile
    await step(c, 9)  # minutes 1..9: BTC alone
    status, st = await get(c, "/admin/status")
    assert st["sim_time"] == first and st["bars_done"] == 10
    assert [m["status"] for m in st["markets"]] == ["TRADING", "PENDING_TRADING"]
    status, err = await order(c, "ETHUSDT", quantity="0.1")
    assert err["code"] == -1122
    await step(c, 1)  # minute 10: ETH's first bar
    status, info = await get(c, "/fapi/v1/exchangeInfo")
    assert [s["status"] for s in info["symbols"]] == ["TRADING", "TRADING"]
    status, placed = await order(c, "ETHUSDT", quantity="0.1", newOrderRespType="RESULT")
    assert status == 200 and placed["status"] == "FILLED"
    status, rows = await get(c, "/fapi/v1/klines", symbol="ETHUSDT", interval="1m")
    assert [r[0] for r in rows] == [first] and placed["avgPrice"].rstrip("0") == rows[0][4].rstrip("0")


async def test_symbols_setting_replays_only_those(exsim_client):
    c = await exsim_client(symbols=["ETHUSDT"])
    status, info = await get(c, "/fapi/v1/exchangeInfo")
    assert [s["symbol"] for s in info["symbols"]] == ["ETHUSDT"]
    status, st = await get(c, "/admin/status")
    assert st["symbols"] == ["ETHUSDT"]
    status, err = await order(c, "BTCUSDT", quantity="0.01")
    assert status == 400 and err["code"] == -1121
    status, err = await get(c, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m")
    assert status == 400 and err["code"] == -1121
    status, placed = await order(c, "ETHUSDT", quantity="0.1")
    assert status == 200 and placed["symbol"] == "ETHUSDT"
    status, risk = await get(c, "/fapi/v2/positionRisk")
    assert [p["symbol"] for p in risk] == ["ETHUSDT"]


@pytest.fixture
def empty_toml(tmp_path):
    path = tmp_path / "exsim.toml"
    path.write_text("# nothing\n")
    return str(path)


def test_symbols_env_and_flag_take_comma_lists(empty_toml, tmp_path):
    loaded = config.load(empty_toml, env={"SYMBOLS": " ethusdt, BTCUSDT ,"})
    assert loaded.config.symbols == ["ETHUSDT", "BTCUSDT"] and loaded.sources["symbols"] == "env SYMBOLS"
    assert loaded.config.requested_symbols == ["ETHUSDT", "BTCUSDT"]
    loaded = config.load(empty_toml, env={"SYMBOLS": "ETHUSDT"}, flags={"--symbols": "BTCUSDT,ETHUSDT"})
    assert loaded.config.symbols == ["BTCUSDT", "ETHUSDT"] and loaded.sources["symbols"] == "flag --symbols"
    toml = tmp_path / "list.toml"
    toml.write_text('symbols = ["ETHUSDT"]\n')
    loaded = config.load(str(toml), env={})
    assert loaded.config.requested_symbols == ["ETHUSDT"] and loaded.sources["symbols"].startswith("file ")
    assert config.load(empty_toml, env={}).config.requested_symbols == []  # default: every symbol of the DB
    with pytest.raises(config.ConfigError) as err:
        config.load(empty_toml, env={}, flags={"--symbols": "BTCUSDT,BTCUSDT"})
    assert "symbols (flag --symbols)" in str(err.value)

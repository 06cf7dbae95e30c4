"""Closed-bar kline payloads formatted by DuckDB in the reader's chunk query are byte for byte
what the Python builder makes: over awkward prices and volumes, for several tick/step grids,
through the builder's fast path (trade ids included), and as a real WebSocket client sees them
(raw and combined) with and without that fast path."""
import asyncio
import random
from decimal import Decimal

import duckdb
import msgspec
import pyarrow as pa
import pytest

from exsim.config import Config
from exsim.engine.sim import Sim
from exsim.store import reader
from exsim.store.schema import ensure_schema
from exsim.wire.keys import FANOUT, SIM
from exsim.wire.klines import ClosedKlines, kline_sql
from exsim.wire.streams import Payloads
from tests.conftest import T0

MIN = 60_000
BARS = 6000
# symbol -> (tick_size, step_size): the demo symbols, and grids with 0, 1 and 5 decimals
GRIDS = {"BTCUSDT": None, "ETHUSDT": None, "AAAUSDT": ("1", "1"), "BBBUSDT": ("0.5", "0.00001"),
         "CCCUSDT": ("0.00001", "0.1")}


def config(symbol: str, **more) -> Config:
    values = {"duckdb_path": "unused.duckdb", "symbol": symbol, **more}
    if GRIDS[symbol]:
        tick, step = GRIDS[symbol]
        values["symbol_specs"] = {symbol: {"tick_size": tick, "step_size": step, "min_qty": step}}
    return msgspec.convert(values, Config)


def awkward_bars(rng: random.Random, tick: float, step: float, qd: int) -> list[tuple]:
    """(ts, open, high, low, close, volume): prices on tick boundaries (and some off them),
    volumes on the step grid (odd last digits: V is then a decimal tie), tiny, huge, exact
    binary ties, many digits, zero. Every 7th minute is missing (gaps)."""
    specials = [0.0, step, 5 * step / 10, 0.0005, 0.0625, 0.125, 2.5, 1e-7, 2.0 ** -20, 1e12, 4.4e12,
                1e13, 1e16, 1e21, 123456.789, 9.999999999, 0.1 + 0.2]
    rows, ts = [], T0
    for i in range(BARS):
        ts += MIN * (2 if i % 7 == 6 else 1)
        kind = i % 5
        if kind == 0:
            base = rng.randint(1, 10 ** 6)
        elif kind == 1:
            base = rng.randint(10 ** 8, 10 ** 9)
        else:
            base = rng.randint(1, 200)
        o, c = base, base + rng.randint(-3, 3)
        h, l = max(o, c) + rng.randint(0, 5), max(1, min(o, c) - rng.randint(0, 5))
        prices = [round(p * tick, 8) for p in (o, h, l, max(1, c))]
        if i % 97 == 0:  # off the grid: the reader rounds to the nearest tick
            prices = [p + tick * 0.3 for p in prices]
        vkind = i % 4
        if vkind == 0:
            v = round(rng.randint(0, 10 ** 7) * step, qd)
        elif vkind == 1:
            v = rng.choice(specials)
        elif vkind == 2:
            v = rng.uniform(0, 10 ** rng.randint(-3, 9))
        else:
            v = (2 * rng.randint(0, 10 ** 6) + 1) * step / 2
        rows.append((ts, *prices, v))
    return rows


@pytest.fixture
def awkward_db(tmp_path) -> str:
    path = str(tmp_path / "awkward.duckdb")
    con = duckdb.connect(path)
    ensure_schema(con)
    rng = random.Random(11)
    for symbol in GRIDS:
        inst = Sim(config(symbol)).market.inst
        tick, step = float(inst.price.size), float(inst.qty.size)
        ts, o, h, l, c, v = zip(*awkward_bars(rng, tick, step, inst.qty.decimals))
        bars = pa.table({"symbol": [symbol] * len(ts), "ts": ts, "open": o, "high": h, "low": l, "close": c,
                         "volume": v, "close_ts": [t + MIN - 1 for t in ts]})
        con.register("bars", bars)
        con.execute("INSERT INTO ohlc_1m SELECT * FROM bars")
        con.unregister("bars")
    con.close()
    return path


def tick_of(cfg: Config) -> Decimal:
    return Decimal(cfg.symbol_spec(cfg.symbol).tick_size)  # as exsim/replay.py passes it


def ordinary_amount(x: float, decimals: int) -> bool:
    """Comfortably inside the range DuckDB formats; at its very edges it may leave a bar to Python."""
    return x == 0 or 1.01 * 2.0 ** -20 <= x < 0.99 * 2.0 ** 52 / 10 ** decimals


def python_kline(payloads: Payloads, ts, o, h, l, c, v, tid: int = 0) -> bytes:
    """The builder's Python formatting (the method the fast closure `KlineStreams.kline` inlines)."""
    payloads.klines.trade_id = tid
    return payloads.klines.reference(ts, o, h, l, c, v, True, ts + MIN)


def payloads_of(cfg: Config) -> tuple[Sim, Payloads]:
    sim = Sim(cfg)
    return sim, Payloads(cfg, sim, sim.market, ClosedKlines())


@pytest.mark.parametrize("symbol", list(GRIDS))
def test_duckdb_kline_payload_equals_python_builder_bytes(awkward_db, symbol):
    cfg = config(symbol)
    sim, payloads = payloads_of(cfg)
    sql = kline_sql(cfg, sim.market.inst)
    con = duckdb.connect(awkward_db, read_only=True)
    made = left_to_python = 0
    inst = sim.market.inst
    for chunk, texts in reader.iter_chunks(con, [symbol], "1m", T0, T0 + 2 * BARS * MIN, [tick_of(cfg)],
                                           chunk_rows=1000, payload=lambda: sql):
        assert texts is not None and len(texts) == len(chunk)
        for ts, o, h, l, c, v, text in zip(chunk.ts, chunk.open, chunk.high, chunk.low, chunk.close,
                                           chunk.volume, texts):
            if text is None:  # outside the exact range: only absurd amounts or prices
                left_to_python += 1
                quote = v * inst.price.to_float(c)
                ordinary = (ordinary_amount(v, inst.qty.decimals) and ordinary_amount(quote, 4)
                            and max(o, h, l, c) * inst.price.units < 2 ** 52)
                assert not ordinary, (ts, o, h, l, c, v)
                continue
            made += 1
            assert text == python_kline(payloads, ts, o, h, l, c, v), (ts, o, h, l, c, v)
    con.close()
    assert made + left_to_python == BARS and made > BARS // 2


def test_fast_builder_returns_the_reader_payload_with_the_current_trade_ids(awkward_db):
    cfg = config("BTCUSDT")
    sim, payloads = payloads_of(cfg)
    fast = payloads.stream_table()["btcusdt@kline_1m"][1]
    sql = kline_sql(cfg, sim.market.inst)
    con = duckdb.connect(awkward_db, read_only=True)
    chunks = list(reader.iter_chunks(con, ["BTCUSDT"], "1m", T0, T0 + 2 * BARS * MIN, [tick_of(cfg)],
                                     chunk_rows=2000, payload=lambda: sql))
    con.close()
    rng = random.Random(3)
    same_object = 0  # the reader's bytes passed on as they are
    for chunk, texts in chunks:
        payloads.klines.ready.load(chunk, texts)
        rows = list(zip(chunk.ts, chunk.open, chunk.high, chunk.low, chunk.close, chunk.volume, texts))
        for k, (ts, o, h, l, c, v, text) in enumerate(rows):
            if k % 50 < 10:  # bars the clock skipped while nobody watched: the next one is sought
                continue
            tid = rng.choice([0, 0, 1, 987654321])
            payloads.klines.trade_id = tid
            got = fast(ts, o, h, l, c, v, True, ts + MIN)
            assert got == python_kline(payloads, ts, o, h, l, c, v, tid)
            same_object += got is text
    assert same_object > BARS // 4
    # a partial (x=false) update, or a tick whose time is not the bar's close, is built in Python
    first, texts = chunks[0]
    ts, o, h, l, c, v = first.ts[0], first.open[0], first.high[0], first.low[0], first.close[0], first.volume[0]
    payloads.klines.ready.load(first, texts)
    payloads.klines.trade_id = 0
    assert fast(ts, o, h, l, c, v, False, ts + MIN // 2) == payloads.klines.reference(ts, o, h, l, c, v, False,
                                                                                      ts + MIN // 2)
    assert b'"x":false' in fast(ts, o, h, l, c, v, False, ts + MIN)


def test_no_reader_payloads_when_bars_are_replayed_in_ticks():
    cfg = config("BTCUSDT", ticks_per_bar=4)
    assert kline_sql(cfg, Sim(cfg).market.inst) is None


async def test_ws_clients_get_identical_kline_bytes_with_and_without_duckdb_payloads(exsim_client, db_path):
    """Phase 1 replays bars read before anyone subscribed (Python formats them); the restart
    reads them again while clients watch (DuckDB formats them). Raw and combined clients must
    see the same bytes both times. Awkward volumes are written into the dataset first."""
    con = duckdb.connect(db_path)
    con.execute("UPDATE ohlc_1m SET volume = CASE (ts // 60000) % 6 WHEN 0 THEN 0.0005 WHEN 1 THEN 0.0625 "
                "WHEN 2 THEN 4.4e12 WHEN 3 THEN volume + 0.0015 WHEN 4 THEN 1e21 ELSE volume / 3 END")
    con.close()
    c = await exsim_client()
    fanout = c.server.app[FANOUT]
    stream = "btcusdt@kline_1m"
    n = 300

    async def receive(ws, count):
        return [(await asyncio.wait_for(ws.receive(), 5)).data for _ in range(count)]

    async with c.ws_connect(f"/ws/{stream}") as raw, c.ws_connect(f"/stream?streams={stream}") as combined:
        await c.post("/admin/step", json={"bars": n})
        python_raw, python_combined = await receive(raw, n), await receive(combined, n)
        assert not fanout.ready.texts  # read at startup, nobody subscribed

        await c.post("/admin/replay", json={"restart": True})  # reveals the first bar again
        await receive(raw, 1), await receive(combined, 1)
        await c.post("/admin/step", json={"bars": n})
        duckdb_raw, duckdb_combined = await receive(raw, n), await receive(combined, n)
        texts, syms = fanout.ready.texts, fanout.ready.sym  # the dataset's two symbols, interleaved
        btc = list(c.server.app[SIM].markets).index("BTCUSDT")
        mine = [t for k, t in enumerate(texts[:2 * n + 2]) if syms is None or syms[k] == btc]
        assert mine and sum(t is not None for t in mine) > n // 2  # the fast path ran for BTCUSDT
        assert all(t is None for k, t in enumerate(texts) if syms is not None and syms[k] != btc)

    assert duckdb_raw == python_raw
    assert duckdb_combined == python_combined
    assert python_combined[0] == f'{{"stream":"{stream}","data":{python_raw[0]}}}'

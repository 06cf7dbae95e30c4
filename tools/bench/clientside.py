"""Measurements made in the benchmark's own process (the client side of a scenario):
python-binance order round trips, and the BatchWriter driven directly. tools/bench/run.py
runs them against gateways and baselines and puts the figures in its table."""
from __future__ import annotations

import json
import os
import statistics
import time
import uuid

from benchlib import T0


def market_order(port: int, side: str) -> dict:
    """One unsigned MARKET order through urllib (auth off)."""
    return order(port, side=side, type="MARKET", quantity="0.003")


def order(port: int, **params: str) -> dict:
    """One unsigned order (auth off), form-encoded as clients send it."""
    import urllib.parse
    import urllib.request
    body = urllib.parse.urlencode({"symbol": "BTCUSDT", **params}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/fapi/v1/order", data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def binance_latency(port: int, n: int, key: str, secret: str) -> dict:
    """python-binance `futures_create_order` MARKET round trips (alternating sides), in ms."""
    from binance.client import Client
    client = Client(key, secret, ping=False)
    client.FUTURES_URL = f"http://127.0.0.1:{port}/fapi"
    for i in range(20):  # warm-up: connection, imports, caches
        client.futures_create_order(symbol="BTCUSDT", side="BUY" if i % 2 else "SELL", type="MARKET",
                                    quantity=0.003)
    times = []
    errors = 0
    for i in range(n):
        t = time.perf_counter()
        try:
            client.futures_create_order(symbol="BTCUSDT", side="BUY" if i % 2 else "SELL", type="MARKET",
                                        quantity=0.003)
        except Exception:  # noqa: BLE001 - counted
            errors += 1
        times.append((time.perf_counter() - t) * 1000)
    client.close_connection()
    times.sort()
    return {"n": n, "errors": errors, "p50_ms": statistics.median(times),
            "p99_ms": times[min(n - 1, int(0.99 * n))], "max_ms": times[-1], "mean_ms": statistics.fmean(times)}


def writer_bench(n: int, path: str) -> dict:
    """BatchWriter: n fills (an order row and a fill row each) + n equity points through its
    event-log consumer, then one flush, while a thread measures how long it is kept from the
    GIL (what the event loop would feel)."""
    import threading

    import pyarrow as pa
    from exsim.config import Config
    from exsim.engine import money
    from exsim.engine.account import Trade
    from exsim.engine.events import EquityMarked, OrderUpdated, RunStarted
    from exsim.engine.orders import Order
    from exsim.engine.sim import Sim
    from exsim.store.db import open_database
    from exsim.store.writer import BatchWriter

    for p in (path, path + ".wal"):
        if os.path.exists(p):
            os.unlink(p)
    con = open_database(path)
    sim = Sim(Config(symbol="BTCUSDT"))
    writer = BatchWriter(con, sim.instruments.__getitem__)
    run = str(uuid.uuid4())
    writer.consume([RunStarted(run_id=run, created_ms=int(time.time() * 1000), params_json="{}",
                               meta={"symbol": "BTCUSDT", "interval": "1m"})])
    writer.flush_blocking()
    events = []
    for i in range(n):
        side = "BUY" if i % 2 else "SELL"
        trade = Trade(trade_id=i, order_id=i, symbol="BTCUSDT", side=side, price=420_000 + i % 977,
                      qty=3, realized_pnl=0, fee=money.of("0.021"), is_maker=False, time=T0 + i)
        order = Order(order_id=i, client_order_id=f"c{i}", account="default", symbol="BTCUSDT", side=side,
                      type="MARKET", orig_type="MARKET", qty=3, executed=3, cum_quote_units=3 * trade.price,
                      status="FILLED", time=T0 + i, update_time=T0 + i)
        events.append(OrderUpdated(seq=2 * i, time=T0 + i, account="default", exec_type="TRADE", order=order,
                                   trade=trade))
        events.append(EquityMarked(seq=2 * i + 1, time=T0 + i, account="default",
                                   equity=money.of(100_000) + i * money.SCALE // 100))
    import gc
    gc.collect()
    gc.freeze()  # the bench's own input (200k Trades) is not the writer's doing: keep GC off it
    t0 = time.perf_counter()
    for k in range(0, len(events), 64):  # in the batches the engine publishes
        writer.consume(events[k:k + 64])
    hooks = time.perf_counter() - t0
    lag = [0.0]
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            a = time.perf_counter()
            time.sleep(0.001)
            lag[0] = max(lag[0], time.perf_counter() - a - 0.001)

    th = threading.Thread(target=ticker)
    th.start()
    t0 = time.perf_counter()
    writer.flush_blocking()
    flush = time.perf_counter() - t0
    stop.set()
    th.join()
    written = writer.rows_written
    # the limit: the same rows inserted from Arrow tables built beforehand
    cur = con.cursor()
    fills = pa.table({"run_id": [run] * n, "seq": list(range(n)), "ts": [T0 + i for i in range(n)],
                      "symbol": ["BTCUSDT"] * n, "side": ["BUY"] * n, "price": [42000.0] * n, "qty": [0.003] * n,
                      "realized_pnl": [0.0] * n, "fee": [0.021] * n, "is_maker": [False] * n,
                      "account": ["default"] * n, "order_id": list(range(n)), "trade_id": list(range(n))})
    equity = pa.table({"run_id": [run] * n, "ts": [T0 + i for i in range(n)], "equity": [1e5] * n,
                       "account": ["default"] * n})
    t0 = time.perf_counter()
    cur.execute("BEGIN")
    cur.register("_f", fills)
    cur.execute(f"INSERT INTO trades_fills ({', '.join(fills.column_names)}) SELECT run_id::UUID, "
                f"{', '.join(fills.column_names[1:])} FROM _f")
    cur.register("_e", equity)
    cur.execute("INSERT INTO equity_curve (run_id, ts, equity, account) SELECT run_id::UUID, ts, equity, account FROM _e")
    cur.execute("COMMIT")
    raw = time.perf_counter() - t0
    writer.close()
    con.close()
    gc.unfreeze()
    return {"rows": written, "hooks_rows_per_sec": written / hooks, "flush_seconds": flush,
            "rows_per_sec": written / flush, "raw_rows_per_sec": 2 * n / raw, "ticker_lag_ms": lag[0] * 1000}

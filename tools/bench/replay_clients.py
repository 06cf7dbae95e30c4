"""Bars replayed per second at speed "max" with 0, 1 and 100 WebSocket kline clients (issue #3).

    python tools/bench/replay_clients.py [--clients 0 1 100] [--bars N] [--kind aiohttp|raw] [--verify]

A thin wrapper of run.py's code: ExSim's gateway runs in its own process (`python -m exsim`)
on the benchmark's synthetic dataset, the clients in a worker process; every client must get
every bar exactly once and in order (checked by count and by the first and last open time,
or on every message with --verify).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
from run import Suite  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="*", default=[0, 1, 100])
    ap.add_argument("--bars", type=int, default=0, help="bars per run (default: sized to take a few seconds)")
    ap.add_argument("--kind", choices=("aiohttp", "raw"), default="aiohttp", help="WebSocket client kind")
    ap.add_argument("--verify", action="store_true", help="parse every message and check the open times")
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "exsim-bench-data"))
    ns = ap.parse_args(argv)
    suite = Suite(quick=True, data_dir=ns.data_dir, ws_kinds=[ns.kind], only=None)
    print(f"{'clients':>7} | {'bars':>9} | {'bars/s':>12} | every bar once, in order")
    with benchlib.gateway(suite.db3y, suite.work) as gw:
        for n in ns.clients:
            if n == 0:
                days = (ns.bars // 1440) if ns.bars else 3 * 365
                r = suite.replay_max(gw, max(1, days), "0 clients")
                print(f"{0:>7} | {r['bars']:>9,} | {r['bars_per_sec']:>12,.0f} | -", flush=True)
                continue
            bars = ns.bars or (300_000 if n == 1 else max(1000, 400_000 // n))
            e = _verified(gw, n, bars, ns.kind) if ns.verify else suite.fanout_exsim(gw, n, bars, ns.kind)
            ok = e["min"] == e["max"] == bars and e["bad"] == 0 and not e["n_errors"] and not e["dropped_clients"]
            print(f"{n:>7} | {bars:>9,} | {e['bars_per_sec']:>12,.0f} | {'yes' if ok else 'NO: ' + str(e['errors'])}",
                  flush=True)
    return 0


def _verified(gw: benchlib.Server, n: int, bars: int, kind: str) -> dict:
    import wsload
    from benchlib import MINUTE_MS, T0
    clients = wsload.Clients(gw.port, "/ws/btcusdt@kline_1m", n, bars, first_t=T0, last_t=T0 + (bars - 1) * MINUTE_MS,
                             kind=kind, verify=True, timeout=600)
    try:
        clients.ready()
        gw.post("/admin/replay", {"speed_bars_per_sec": 0})
        time.sleep(0.2)
        t0 = time.perf_counter()
        gw.post("/admin/replay", {"speed_bars_per_sec": "max", "restart": True, "start": T0,
                                  "end": T0 + bars * MINUTE_MS})
        res = clients.wait()
        res["dropped_clients"] = gw.get("/admin/status")["dropped_clients"]
    finally:
        clients.close()
    res["bars_per_sec"] = bars / (res["done_at"] - t0) if res["done_at"] else 0.0
    return res


if __name__ == "__main__":
    sys.exit(main())

"""Depth stream fan-out: `btcusdt@depth@100ms` (the synthetic book's diff stream) to N clients.

    python tools/bench/depth_fanout.py [--quick] [--clients N] [--ws-client aiohttp|raw] [--data-dir DIR]

ExSim's real gateway (benchlib.gateway: `python -m exsim`, paused, loop probe on) on the
synthetic 1m dataset, BTCUSDT, one diff event per bar. Two figures:

- throughput: a max-speed replay of B bars to N clients of one kind (wsload.Clients: every
  frame counted, none may be missing or extra, no client dropped): frames/s = N x B / the wall
  time until the last client had its B frames; with the payload bytes per second that makes
  (a BTCUSDT diff carries ~300 levels per side-move of a 1m bar: ~12 KB a frame).
- latency: S single-bar steps, each `POST /admin/step` (it answers once the step's frames are
  written to every socket); for each frame and client, the time from just before the POST to
  that client's receipt of it (time.perf_counter: one monotonic clock for every process on
  Linux), p50 and p99 over all S x N, with N aiohttp clients in this process (every frame
  decoded, as a bot gets it).

`scenario(suite, gw, Row)` runs both at the suite's sizes and adds its rows (for run.py).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
import wsload  # noqa: E402
from benchlib import MINUTE_MS, T0  # noqa: E402

DEPTH_PATH = "/public/ws/btcusdt@depth@100ms"


def sizes(quick: bool) -> dict:
    return {"clients": 100, "bars": 1_000 if quick else 5_000, "steps": 100 if quick else 500}


def throughput(gw: benchlib.Server, n: int, bars: int, kind: str) -> dict:
    """Replay `bars` bars at max to n clients of the depth stream (one frame per bar each)."""
    clients = wsload.Clients(gw.port, DEPTH_PATH, n, bars, kind=kind, timeout=300)
    try:
        clients.ready()
        gw.post("/admin/replay", {"speed_bars_per_sec": 0})
        gw.get("/admin/status?reset_lag=1")
        t0 = time.perf_counter()
        gw.post("/admin/replay", {"speed_bars_per_sec": "max", "restart": True, "start": T0,
                                  "end": T0 + bars * MINUTE_MS})
        res = clients.wait()
        st = gw.get("/admin/status?reset_lag=1")
    finally:
        clients.close()
    seconds = (res["done_at"] - t0) if res["done_at"] else None
    depth = gw.get("/fapi/v1/depth?symbol=BTCUSDT&limit=5")  # a figure of the frames' size
    return {"clients": n, "bars": bars, "kind": kind, "seconds": seconds,
            "frames_per_sec": n * bars / seconds if seconds else 0.0,
            "frames_per_sec_per_client": bars / seconds if seconds else 0.0,
            "every_frame": res["min"] == res["max"] == bars and not res["n_errors"] and st["dropped_clients"] == 0,
            "errors": res["errors"], "dropped_clients": st["dropped_clients"], "lag_ms": float(st["loop_lag_max_ms"]),
            "last_update_id": depth["lastUpdateId"]}


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


async def _latency(port: int, n: int, steps: int) -> dict:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = []
        for first in range(0, n, 50):  # in waves: the server's listen backlog is finite
            sockets += await asyncio.gather(*(session.ws_connect(base + DEPTH_PATH, max_msg_size=0)
                                              for _ in range(first, min(n, first + 50))))
        received: list[list[float]] = [[] for _ in range(n)]
        bytes_seen = [0]

        async def read(i: int, ws) -> None:
            async for msg in ws:
                received[i].append(time.perf_counter())
                bytes_seen[0] += len(msg.data)

        readers = [asyncio.ensure_future(read(i, ws)) for i, ws in enumerate(sockets)]
        await (await session.post(base + "/admin/replay", json={"speed_bars_per_sec": 0})).read()
        samples, sent = [], []
        try:
            for k in range(steps):
                sent.append(time.perf_counter())
                async with session.post(base + "/admin/step", json={"bars": 1}) as r:
                    await r.read()
                deadline = time.monotonic() + 30
                while any(len(r) <= k for r in received):  # every client has frame k
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"step {k}: not every client got its frame")
                    await asyncio.sleep(0)
            for r in received:
                samples += [r[k] - sent[k] for k in range(steps)]
        finally:
            for t in readers:
                t.cancel()
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    ms = [s * 1000 for s in samples]
    return {"clients": n, "steps": steps, "p50_ms": _pct(ms, 0.50), "p99_ms": _pct(ms, 0.99),
            "max_ms": max(ms) if ms else 0.0, "mean_frame_bytes": bytes_seen[0] / max(1, n * steps)}


def latency(gw: benchlib.Server, n: int, steps: int) -> dict:
    gw.post("/admin/replay", {"speed_bars_per_sec": 0, "restart": True, "start": T0,
                              "end": T0 + (steps + 10) * MINUTE_MS})
    return asyncio.run(_latency(gw.port, n, steps))


def scenario(suite, gw: benchlib.Server, Row) -> None:
    """run.py's hook: both figures at the suite's sizes, as rows of its table."""
    s = sizes(suite.quick)
    for kind in suite.ws_kinds:
        t = throughput(gw, s["clients"], s["bars"], kind)
        suite.lags[f"WS depth fan-out, {s['clients']} {kind} clients"] = t["lag_ms"]
        suite.add(Row(f"WS depth fan-out, {s['clients']} {kind} clients", t["frames_per_sec"], "frames/s", "(info)",
                      None if t["every_frame"] else False, detail=t))
    lat = latency(gw, s["clients"], s["steps"])
    suite.add(Row(f"WS depth step-to-frame latency p50, {s['clients']} clients", lat["p50_ms"], "ms", "(info)",
                  None, detail=lat))
    suite.add(Row(f"WS depth step-to-frame latency p99, {s['clients']} clients", lat["p99_ms"], "ms", "(info)",
                  None, detail=lat))


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts")
    ap.add_argument("--clients", type=int, default=None, help="WebSocket clients (default 100)")
    ap.add_argument("--bars", type=int, default=None, help="bars replayed for the throughput figure")
    ap.add_argument("--steps", type=int, default=None, help="single-bar steps for the latency figure")
    ap.add_argument("--ws-client", choices=("aiohttp", "raw"), default="aiohttp")
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "exsim-bench-data"))
    ns = ap.parse_args(argv)
    s = sizes(ns.quick)
    n, bars, steps = ns.clients or s["clients"], ns.bars or s["bars"], ns.steps or s["steps"]
    os.makedirs(ns.data_dir, exist_ok=True)
    db = benchlib.make_dataset(os.path.join(ns.data_dir, "bench-30d.duckdb"), 30)
    work = tempfile.mkdtemp(prefix="exsim-bench-depth-")
    with benchlib.gateway(db, work, log_name="gateway-depth.log") as gw:
        t = throughput(gw, n, bars, ns.ws_client)
        print(f"depth fan-out, {n} {ns.ws_client} clients, {bars} bars at max: {t['frames_per_sec']:,.0f} frames/s "
              f"({t['frames_per_sec_per_client']:,.0f} per client, {t['seconds']:.2f} s), every frame: "
              f"{t['every_frame']}, loop lag max {t['lag_ms']:.1f} ms", flush=True)
        lat = latency(gw, n, steps)
        print(f"depth step-to-frame latency, {n} aiohttp clients, {steps} steps: p50 {lat['p50_ms']:.2f} ms, "
              f"p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms, mean frame {lat['mean_frame_bytes']:,.0f} B",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ExSim benchmark suite (issue #11): every scenario, one table.

    python tools/bench/run.py [--quick] [--json PATH] [--ws-client aiohttp|raw|both] [--only NAME ...]

Each scenario runs ExSim's real gateway (`python -m exsim`, uvloop) in its own process on a
synthetic dataset (ExSim's demo generator, kept in --data-dir between runs), with the load
(WebSocket clients, HTTP load, python-binance) in other processes, and compares it with a
baseline measured in the same run on the same machine:

- fan-out limit: a minimal aiohttp server sending pre-encoded kline frames (baselines.py)
- request limit: a minimal aiohttp handler parsing a form and returning a fixed order JSON
- persistence: DuckDB inserting the same rows from a ready Arrow table

The event-loop lag is read from the gateway itself (EXSIM_LOOP_PROBE=1: a 1 ms ticker task,
`loop_lag_max_ms` in /admin/status), reset before and read after every scenario; with it
`loop_lag_on_cpu_max_ms`, the part of a late tick during which the gateway process was running
(on a shared machine the rest is the OS running someone else).
`--quick` runs the same scenarios on smaller counts (under a minute on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
import clientside  # noqa: E402
import depth_fanout  # noqa: E402
import httpload  # noqa: E402
import lockstep  # noqa: E402
import refinement  # noqa: E402
import userstream  # noqa: E402
import wrkload  # noqa: E402
import wsload  # noqa: E402
import ws_api_rtt  # noqa: E402
from benchlib import DAY_MS, MINUTE_MS, T0  # noqa: E402

KLINE_PATH = "/ws/btcusdt@kline_1m"
API_KEY, API_SECRET = "bench" + "k" * 59, "bench" + "s" * 59
AUTH_TOML = f'auth = "verify"\n[[api_keys]]\nkey = "{API_KEY}"\nsecret = "{API_SECRET}"\n'


@dataclass
class Row:
    scenario: str
    value: Optional[float]
    unit: str
    target: str
    met: Optional[bool]
    baseline: Optional[float] = None
    ratio: Optional[float] = None
    detail: dict = field(default_factory=dict)


def _num(x: Optional[float], unit: str = "") -> str:
    if x is None:
        return "-"
    if abs(x) >= 1000:
        text = f"{x:,.0f}"
    elif abs(x) >= 100:
        text = f"{x:.0f}"
    elif abs(x) >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2f}"
    return f"{text} {unit}".strip()


def table(rows: list[Row]) -> str:
    head = ("scenario", "figure", "baseline", "ratio", "target", "met")
    lines = [(r.scenario, _num(r.value, r.unit), _num(r.baseline, r.unit if r.baseline is not None else ""),
              "-" if r.ratio is None else f"{r.ratio:.2f}", r.target,
              "-" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(head)]
    fmt = " | ".join("{:<%d}" % w for w in widths)
    out = [fmt.format(*head), "-+-".join("-" * w for w in widths)]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


def comparison(now: list[Row], then: list[Row]) -> str:
    """Scenario by scenario: this checkout's figure, the other checkout's, and their ratio."""
    before = {r.scenario: r for r in then}
    head = ("scenario", "this checkout", "compared", "ratio")
    lines = [(r.scenario, _num(r.value, r.unit), _num(before[r.scenario].value, r.unit),
              f"{r.value / before[r.scenario].value:.2f}" if r.value and before[r.scenario].value else "-")
             for r in now if r.scenario in before]
    if not lines:
        return "(no scenario in common)"
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    fmt = " | ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*head), "-+-".join("-" * w for w in widths)] + [fmt.format(*line) for line in lines])


class Suite:
    def __init__(self, quick: bool, data_dir: str, ws_kinds: list[str], only: Optional[list[str]]) -> None:
        self.quick = quick
        self.ws_kinds = ws_kinds
        self.only = only
        self.rows: list[Row] = []
        self.lags: dict[str, float] = {}
        self.cpu_lags: dict[str, float] = {}  # the part of each worst lag the gateway was on CPU
        self.work = tempfile.mkdtemp(prefix="exsim-bench-")
        self.data_dir = data_dir
        os.makedirs(data_dir, exist_ok=True)
        began = time.perf_counter()
        self.db3y = benchlib.make_dataset(os.path.join(data_dir, "bench-3y.duckdb"), 3 * 365)
        self.setup_seconds = time.perf_counter() - began

    def wanted(self, name: str) -> bool:
        return not self.only or any(o in name for o in self.only)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  {row.scenario}: {_num(row.value, row.unit)}"
              + (f" (baseline {_num(row.baseline, row.unit)}, ratio {row.ratio:.2f})" if row.ratio is not None else "")
              + ("" if row.met is None else (" ok" if row.met else " MISSED")), flush=True)
        return row

    def lag(self, gw: benchlib.Server, scenario: str) -> float:
        """The gateway's worst loop lag since the last call (and restart the probe)."""
        st = gw.get("/admin/status?reset_lag=1")
        self.lags[scenario] = value = float(st["loop_lag_max_ms"])
        self.cpu_lags[scenario] = float(st["loop_lag_on_cpu_max_ms"])
        return value

    # --- replay ------------------------------------------------------------------------------

    def replay_max(self, gw: benchlib.Server, days: int, name: str, rss: bool = False) -> dict:
        """Replay `days` from T0 at max speed; bars/s from the wall time until `finished`."""
        gw.get("/admin/status?reset_lag=1")
        peak = gw.rss()
        t0 = time.perf_counter()
        gw.post("/admin/replay", {"speed_bars_per_sec": "max", "restart": True, "start": T0,
                                  "end": T0 + days * DAY_MS})
        while True:
            st = gw.get("/admin/status")
            if rss:
                peak = max(peak, gw.rss())
            if st["finished"]:
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
        if rss:  # and a moment after: a short range ends before its first write and chunk prefetch
            settle = time.perf_counter() + 0.5
            while time.perf_counter() < settle:
                peak = max(peak, gw.rss())
                time.sleep(0.005)
        return {"bars": st["bars_done"], "seconds": elapsed, "bars_per_sec": st["bars_done"] / elapsed,
                "lag_ms": self.lag(gw, name), "peak_rss": peak, "status": st}

    def scenario_replay(self, gw: benchlib.Server) -> None:
        name = "replay max, 0 clients (3 years)"
        r = self.replay_max(gw, 3 * 365, name)
        self.add(Row(name, r["bars_per_sec"], "bars/s", ">= 500k bars/s", r["bars_per_sec"] >= 500_000,
                     detail={k: r[k] for k in ("bars", "seconds", "lag_ms")}))
        # the same with an open position: every bar is matched and writes an equity row
        name = "replay max, open position, 0 clients"
        gw.post("/admin/replay", {"speed_bars_per_sec": 0, "restart": True, "start": T0,
                                  "end": T0 + 400 * DAY_MS})
        order = clientside.market_order(gw.port, "BUY")
        days = 7 if self.quick else 60
        gw.post("/admin/replay", {"speed_bars_per_sec": "max"})
        gw.get("/admin/status?reset_lag=1")
        b0 = gw.get("/admin/status")["bars_done"]
        t0 = time.perf_counter()
        while gw.get("/admin/status")["bars_done"] - b0 < days * 1440:
            time.sleep(0.005)
        gw.post("/admin/replay", {"speed_bars_per_sec": 0})
        elapsed = time.perf_counter() - t0
        st = gw.get("/admin/status")
        rate = (st["bars_done"] - b0) / elapsed
        time.sleep(0.6)  # the last equity rows are flushed (writer batches every 0.5 s)
        lag = self.lag(gw, name)
        self.add(Row(name, rate, "bars/s", "(info)", None,
                     detail={"bars": st["bars_done"] - b0, "position": st["position"], "order": order,
                             "lag_ms": lag, "writer_error": st["writer_error"]}))

    # --- fan-out -----------------------------------------------------------------------------

    def fanout_exsim(self, gw: benchlib.Server, n: int, bars: int, kind: str, path: str = KLINE_PATH,
                     frames: Optional[int] = None) -> dict:
        """Replay `bars` bars at max to n clients of `path`, each expecting `frames` messages
        (default one per bar, the first and last open times checked: one kline stream)."""
        ends = (T0, T0 + (bars - 1) * MINUTE_MS) if frames is None else (None, None)
        clients = wsload.Clients(gw.port, path, n, frames or bars, first_t=ends[0], last_t=ends[1],
                                 kind=kind, timeout=300)
        try:
            clients.ready()
            gw.post("/admin/replay", {"speed_bars_per_sec": 0})
            time.sleep(0.2)
            gw.get("/admin/status?reset_lag=1")
            t0 = time.perf_counter()
            gw.post("/admin/replay", {"speed_bars_per_sec": "max", "restart": True, "start": T0,
                                      "end": T0 + bars * MINUTE_MS})
            res = clients.wait()
            st = gw.get("/admin/status?reset_lag=1")  # before the clients hang up all at once
        finally:
            clients.close()
        res["seconds"] = (res["done_at"] - t0) if res["done_at"] else None
        res["bars_per_sec"] = bars / res["seconds"] if res["seconds"] else 0.0
        res["dropped_clients"] = st["dropped_clients"]
        res["lag_ms"] = float(st["loop_lag_max_ms"])
        res["lag_on_cpu_ms"] = float(st["loop_lag_on_cpu_max_ms"])
        res["disconnect_lag_ms"] = float(gw.get("/admin/status?reset_lag=1")["loop_lag_max_ms"])
        return res

    def fanout_baseline(self, srv: benchlib.Server, n: int, bars: int, kind: str, ends: bool = True) -> dict:
        """The limit server sending `bars` ready frames to n clients (`ends`: check the first and
        last open times, for a single kline stream)."""
        srv.post(f"/prepare?bars={bars}")
        first, last = (T0, T0 + (bars - 1) * MINUTE_MS) if ends else (None, None)
        clients = wsload.Clients(srv.port, KLINE_PATH, n, bars, first_t=first, last_t=last, kind=kind, timeout=300)
        try:
            clients.ready()
            time.sleep(0.2)
            t0 = time.perf_counter()
            srv.post(f"/go?bars={bars}")
            res = clients.wait()
        finally:
            clients.close()
        res["seconds"] = (res["done_at"] - t0) if res["done_at"] else None
        res["bars_per_sec"] = bars / res["seconds"] if res["seconds"] else 0.0
        return res

    def scenario_fanout(self, gw: benchlib.Server) -> None:
        q = self.quick
        plans = {  # (clients, target bars/s, bars for aiohttp clients, bars for raw clients)
            1: (100_000, 100_000 if q else 300_000, 200_000 if q else 500_000),
            100: (5_000, 3_000 if q else 15_000, 10_000 if q else 40_000),
            500: (1_000, 600 if q else 4_000, 2_500 if q else 10_000),
        }
        with benchlib.baseline("fanout", self.work) as base:
            for kind in self.ws_kinds:
                for n, (target, bars_aio, bars_raw) in plans.items():
                    bars = bars_aio if kind == "aiohttp" else bars_raw
                    name = f"WS kline fan-out, {n} {kind} client{'s' if n > 1 else ''}"
                    b = self.fanout_baseline(base, n, bars, kind)
                    e = self.fanout_exsim(gw, n, bars, kind)
                    self.lags[name] = e["lag_ms"]
                    self.cpu_lags[name] = e["lag_on_cpu_ms"]
                    ratio = e["bars_per_sec"] / b["bars_per_sec"] if b["bars_per_sec"] else None
                    ok = (e["min"] == e["max"] == bars and e["bad"] == 0 and not e["n_errors"]
                          and e["dropped_clients"] == 0)
                    met = ok and e["bars_per_sec"] >= target and ratio is not None and ratio >= 0.6
                    self.add(Row(name, e["bars_per_sec"], "bars/s", f">= {target:,} bars/s, >= 0.60 of limit",
                                 met, baseline=b["bars_per_sec"], ratio=ratio,
                                 detail={"bars": bars, "every_bar_once_in_order": ok, "exsim": e, "limit": b}))

    # --- orders ------------------------------------------------------------------------------

    def scenario_orders(self, gw: benchlib.Server) -> None:
        n = 300 if self.quick else 2000
        gw.post("/admin/replay", {"speed_bars_per_sec": 0, "restart": True, "start": T0,
                                  "end": T0 + 400 * DAY_MS})
        with benchlib.baseline("request", self.work) as base:
            b = clientside.binance_latency(base.port, n, API_KEY, API_SECRET)
        gw.get("/admin/status?reset_lag=1")
        e = clientside.binance_latency(gw.port, n, API_KEY, API_SECRET)
        lag = self.lag(gw, "orders idle")
        self.add(Row("MARKET order round trip p50, idle (python-binance)", e["p50_ms"], "ms", "< 1 ms",
                     e["p50_ms"] < 1.0, baseline=b["p50_ms"], ratio=e["p50_ms"] / b["p50_ms"],
                     detail={"exsim": e, "limit": b, "lag_ms": lag}))
        self.add(Row("MARKET order round trip p99, idle (python-binance)", e["p99_ms"], "ms", "< 2 ms",
                     e["p99_ms"] < 2.0, baseline=b["p99_ms"], ratio=e["p99_ms"] / b["p99_ms"]))
        # the same orders from a client that costs next to nothing: what the server itself adds
        # (wrk when installed; else the Python generator, which at 1 connection mostly waits)
        secs = 1.0 if self.quick else 4.0
        load, label = self.http_load()
        with benchlib.baseline("request", self.work) as base:
            rb = load(base.port, 1, secs)
        gw.get("/admin/status?reset_lag=1")
        re_ = load(gw.port, 1, secs)
        self.lag(gw, "orders idle, raw HTTP client")
        r50, r99 = re_["p50_ms"] / rb["p50_ms"], re_["p99_ms"] / rb["p99_ms"]
        self.add(Row(f"MARKET order round trip p50, idle, 1 connection {label}", re_["p50_ms"], "ms",
                     "<= 1.5x limit", r50 <= 1.5, baseline=rb["p50_ms"], ratio=r50,
                     detail={"exsim": re_, "limit": rb}))
        self.add(Row(f"MARKET order round trip p99, idle, 1 connection {label}", re_["p99_ms"], "ms",
                     "<= 2x limit", r99 <= 2.0, baseline=rb["p99_ms"], ratio=r99))

    def http_load(self):
        """(run function, row label): wrk when it is on PATH, else the Python generator."""
        if wrkload.available():
            return wrkload.run, "(wrk)"
        if not getattr(self, "_said_wrk", False):
            print("  (wrk not found: request rows use the Python load generator, which is client-bound "
                  "near 7-8k req/s here; `apt-get install -y wrk` to measure the server)", flush=True)
            self._said_wrk = True
        return httpload.run, "(python, client-bound)"

    def scenario_orders_under_load(self, gw: benchlib.Server) -> None:
        n = 300 if self.quick else 2000
        clients = wsload.Clients(gw.port, KLINE_PATH, 500, 10 ** 9, kind=self.ws_kinds[0], timeout=600)
        try:
            clients.ready()
            gw.post("/admin/replay", {"speed_bars_per_sec": "max", "restart": True, "start": T0,
                                      "end": T0 + 400 * DAY_MS})
            time.sleep(0.5)
            gw.get("/admin/status?reset_lag=1")
            b0 = gw.get("/admin/status")["bars_done"]
            t0 = time.perf_counter()
            e = clientside.binance_latency(gw.port, n, API_KEY, API_SECRET)
            rate = (gw.get("/admin/status")["bars_done"] - b0) / (time.perf_counter() - t0)
            lag = self.lag(gw, "orders under load")
            gw.post("/admin/replay", {"speed_bars_per_sec": 0})
            dropped = gw.get("/admin/status")["dropped_clients"]
        finally:
            clients.kill()  # their backlog is of no interest: do not wait for them to read it
        self.add(Row(f"MARKET order p99, replay max to 500 {self.ws_kinds[0]} clients", e["p99_ms"], "ms",
                     "< 15 ms", e["p99_ms"] < 15.0,
                     detail={"orders": e, "bars_per_sec_meanwhile": rate, "lag_ms": lag,
                             "dropped_clients": dropped}))

    def scenario_throughput(self, gw: benchlib.Server, gw_auth: Optional[benchlib.Server]) -> None:
        secs = 1.5 if self.quick else 5.0
        load, label = self.http_load()
        gw.post("/admin/replay", {"speed_bars_per_sec": 0, "restart": True, "start": T0,
                                  "end": T0 + 400 * DAY_MS})
        with benchlib.baseline("request", self.work) as base:
            b = load(base.port, 50, secs)
            bt = wrkload.run_get(base.port, 50, secs, "/fapi/v1/time") if label == "(wrk)" else None
        gw.get("/admin/status?reset_lag=1")
        e = load(gw.port, 50, secs)
        lag = self.lag(gw, "order throughput")
        ratio = e["ok_per_sec"] / b["ok_per_sec"]
        self.add(Row(f"order requests/s, 50 connections (form) {label}", e["ok_per_sec"], "req/s",
                     ">= 0.50 of limit", ratio >= 0.5, baseline=b["ok_per_sec"], ratio=ratio,
                     detail={"exsim": e, "limit": b, "lag_ms": lag}))
        if gw_auth is not None:
            gw_auth.get("/admin/status?reset_lag=1")
            s = load(gw_auth.port, 50, secs, key=API_KEY, secret=API_SECRET)
            lag = self.lag(gw_auth, "order throughput signed")
            vs_form = s["ok_per_sec"] / e["ok_per_sec"] if e["ok_per_sec"] else 0.0
            self.add(Row(f"order requests/s, 50 connections (signed) {label}", s["ok_per_sec"], "req/s",
                         "within 10% of form", vs_form >= 0.9, baseline=b["ok_per_sec"],
                         ratio=s["ok_per_sec"] / b["ok_per_sec"],
                         detail={"exsim": s, "lag_ms": lag, "signed_vs_form": vs_form,
                                 "signing": "pre-signed pool (wrkload.py)" if label == "(wrk)" else "per request"}))
        if bt is not None:
            t = wrkload.run_get(gw.port, 50, secs, "/fapi/v1/time")
            self.lag(gw, "time throughput")
            self.add(Row(f"GET /fapi/v1/time requests/s, 50 connections {label}", t["ok_per_sec"], "req/s",
                         "(info)", None, baseline=bt["ok_per_sec"], ratio=t["ok_per_sec"] / bt["ok_per_sec"],
                         detail={"exsim": t, "limit": bt}))

    # --- the user-data stream (issue 17) -------------------------------------------------------

    def scenario_user_stream(self, gw: benchlib.Server) -> None:
        gw.post("/admin/replay", {"speed_bars_per_sec": 0, "restart": True, "start": T0,
                                  "end": T0 + 400 * DAY_MS})
        n = 300 if self.quick else 2000
        gw.get("/admin/status?reset_lag=1&reset_latency=1")
        r = userstream.latency(gw.port, n)
        st = gw.get("/admin/status")
        self.lag(gw, "user stream latency")
        srv = st["user_stream_change_to_frame_ms"]  # measured in the gateway: change -> bytes written
        self.add(Row("user stream: state change -> frame on the socket, p50 (idle, in the gateway)", srv["p50"],
                     "ms", "< 0.3 ms", srv["p50"] < 0.3, detail=srv))
        self.add(Row("user stream: state change -> frame on the socket, p99 (idle, in the gateway)", srv["p99"],
                     "ms", "< 1 ms", srv["p99"] < 1.0))
        self.add(Row("  seen by a Python client: order sent -> its TRADE frame, p50 / p99", r["frame_p50_ms"], "ms",
                     "(info, client-bound)", None, detail=r))
        self.add(Row("  the same orders' REST responses, p50 / p99", r["response_p50_ms"], "ms", "(info)", None,
                     detail={"p99_ms": r["response_p99_ms"]}))
        # 100 accounts, one stream each, 500 orders/s in total, while replaying at max to 100
        # market-data clients
        keys = [(f"acct{i:03d}" + "k" * 56, f"acct{i:03d}" + "s" * 56) for i in range(100)]
        toml = 'auth = "verify"\n' + "".join(f'[[api_keys]]\nkey = "{k}"\nsecret = "{s}"\n' for k, s in keys)
        path = os.path.join(self.work, "users.duckdb")
        shutil.copy(self.db3y, path)  # long enough that the replay runs through the whole measurement
        seconds = 4.0 if self.quick else 15.0
        with benchlib.gateway(path, self.work, toml, log_name="gateway-users.log") as ug:
            clients = wsload.Clients(ug.port, KLINE_PATH, 100, 10 ** 9, kind=self.ws_kinds[0], timeout=600)
            try:
                clients.ready()
                ug.post("/admin/replay", {"speed_bars_per_sec": "max"})
                ug.get("/admin/status?reset_lag=1")
                m = userstream.many_accounts(ug.port, keys, 500, seconds)
                st = ug.get("/admin/status?reset_lag=1")
            finally:
                clients.kill()
        name = "100 accounts x user stream, 500 orders/s, replay max to 100 clients"
        self.lags[name] = float(st["loop_lag_max_ms"])
        self.cpu_lags[name] = float(st["loop_lag_on_cpu_max_ms"])
        ok = m["events_lost"] == 0 and m["events_reordered"] == 0 and m["errors"] == 0
        self.add(Row(name + ": order p99", m["p99_ms"], "ms", "< 15 ms, none lost or reordered",
                     ok and m["p99_ms"] < 15.0, detail={**m, "bars_done": st["bars_done"]}))

    # --- many symbols and intervals (issue 15) -------------------------------------------------

    def scenario_symbols(self) -> None:
        """10 symbols replayed at "max" with no client: symbol-bars per second."""
        days = 7 if self.quick else 30
        n = 10
        db = benchlib.make_dataset(os.path.join(self.data_dir, "bench-10sym.duckdb"), days,
                                   symbols=benchlib.synthetic_symbols(n))
        name = f"replay max, {n} symbols, 0 clients"
        with benchlib.gateway(db, self.work, log_name="gateway-10sym.log") as gw:
            time.sleep(0.3)
            r = self.replay_max(gw, days, name)
        rate = r["bars"] * n / r["seconds"]  # every step holds one bar of each symbol here
        self.add(Row(name, rate, "symbol-bars/s", ">= 300k symbol-bars/s", rate >= 300_000,
                     detail={"steps": r["bars"], "seconds": r["seconds"], "lag_ms": r["lag_ms"],
                             "symbols": r["status"]["symbols"]}))

    def scenario_intervals(self) -> None:
        """3 symbols, each with kline_1m and kline_1h, to 100 clients: frames per second against
        the fan-out limit server sending the same number of frames."""
        n_clients, kind = 100, self.ws_kinds[0]
        bars = 1500 if self.quick else 6000
        symbols = benchlib.synthetic_symbols(3)
        db = benchlib.make_dataset(os.path.join(self.data_dir, "bench-3sym.duckdb"), 30, symbols=symbols)
        streams = "/".join(f"{s.lower()}@kline_{iv}" for s in symbols for iv in ("1m", "1h"))
        frames = bars * len(symbols) * 2  # every base bar: a 1m frame and a 1h update per symbol
        name = f"WS 3 symbols x kline_1m+kline_1h, {n_clients} {kind} clients"
        with benchlib.baseline("fanout", self.work) as base:
            b = self.fanout_baseline(base, n_clients, frames, kind, ends=False)
        b_rate = b["bars_per_sec"]
        with benchlib.gateway(db, self.work, log_name="gateway-3sym.log") as gw:
            e = self.fanout_exsim(gw, n_clients, bars, kind, f"/stream?streams={streams}", frames)
        e_rate = e["bars_per_sec"] * frames / bars  # bars/s times the frames each bar makes
        ratio = e_rate / b_rate if b_rate else None
        ok = e["min"] == e["max"] == frames and not e["n_errors"] and e["dropped_clients"] == 0
        self.lags[name] = e["lag_ms"]
        self.cpu_lags[name] = e["lag_on_cpu_ms"]
        self.add(Row(name, e_rate, "frames/s", ">= 0.60 of limit", ok and ratio is not None and ratio >= 0.6,
                     baseline=b_rate, ratio=ratio, detail={"frames": frames, "every_frame": ok, "exsim": e,
                                                           "limit": b}))

    # --- memory ------------------------------------------------------------------------------

    def scenario_memory(self) -> None:
        peaks = {}
        for days in (30, 3 * 365):
            toml = f"start = {T0}\nend = {T0 + days * DAY_MS}\n"
            with benchlib.gateway(self.db3y, self.work, toml, log_name=f"gateway-{days}d.log") as gw:
                time.sleep(0.3)
                r = self.replay_max(gw, days, f"memory replay {days} days", rss=True)
                peaks[days] = {"peak_rss": r["peak_rss"], "bars_per_sec": r["bars_per_sec"],
                               "rss_after": gw.rss()}
                if days == 30:
                    idle = self.idle_clients(gw)
        ratio = peaks[3 * 365]["peak_rss"] / peaks[30]["peak_rss"]
        self.add(Row("RSS replaying 3 years vs 1 month of 1m bars", peaks[3 * 365]["peak_rss"] / 1e6, "MB",
                     "within 10%", abs(ratio - 1) <= 0.10, baseline=peaks[30]["peak_rss"] / 1e6, ratio=ratio,
                     detail=peaks))
        self.add(Row("RSS added by 1,000 idle WS clients", idle["added_mb"], "MB", "<= 200 MB",
                     idle["added_mb"] <= 200, detail=idle))

    def idle_clients(self, gw: benchlib.Server) -> dict:
        gw.post("/admin/replay", {"speed_bars_per_sec": 0})
        time.sleep(0.3)
        before = gw.rss()
        clients = wsload.Clients(gw.port, KLINE_PATH, 1000, 10 ** 9, kind="raw", timeout=120)
        try:
            connected = clients.ready()
            time.sleep(1.0)
            st = gw.get("/admin/status")
            after = gw.rss()
            clients.stop()
        finally:
            clients.close()
        return {"connected": connected, "server_sees": st["ws_clients"], "rss_before_mb": before / 1e6,
                "rss_after_mb": after / 1e6, "added_mb": (after - before) / 1e6}

    # --- persistence -------------------------------------------------------------------------

    def scenario_writer(self) -> None:
        n = 50_000 if self.quick else 200_000
        r = clientside.writer_bench(n, os.path.join(self.work, "writer.duckdb"))
        self.add(Row(f"BatchWriter orders+fills+equity ({r['rows']:,} rows)", r["rows_per_sec"], "rows/s", ">= 100k rows/s",
                     r["rows_per_sec"] >= 100_000, baseline=r["raw_rows_per_sec"],
                     ratio=r["rows_per_sec"] / r["raw_rows_per_sec"], detail=r))
        # r["ticker_lag_ms"] (a thread of this process kept from the GIL during the flush) is
        # kept in the details only: it includes full GC walks of this process's own test data.
        # The gateway's flushes are measured by its probe in "replay max, open position".

    # --- all ---------------------------------------------------------------------------------

    def timed(self, name: str, fn, *args) -> None:
        began = time.perf_counter()
        fn(*args)
        print(f"  ({name}: {time.perf_counter() - began:.1f} s)", flush=True)

    def run(self) -> None:
        print(f"datasets ready in {self.setup_seconds:.1f} s; work dir {self.work}", flush=True)
        need_gw = any(self.wanted(s) for s in ("replay", "fan-out", "order", "user", "depth", "ws api"))
        if need_gw:
            with benchlib.gateway(self.db3y, self.work) as gw:
                if self.wanted("replay"):
                    self.timed("replay", self.scenario_replay, gw)
                if self.wanted("fan-out"):
                    self.timed("fan-out", self.scenario_fanout, gw)
                if self.wanted("order"):
                    self.timed("orders", self.scenario_orders, gw)
                    self.timed("orders under load", self.scenario_orders_under_load, gw)
                    with benchlib.gateway(self._small_db(), self.work, AUTH_TOML,
                                          log_name="gateway-auth.log") as gw_auth:
                        self.timed("throughput", self.scenario_throughput, gw, gw_auth)
                if self.wanted("user") and not benchlib.TREE:  # new in issue 17
                    self.timed("user stream", self.scenario_user_stream, gw)
                if self.wanted("depth") and not benchlib.TREE:  # new in issue 19
                    self.timed("depth fan-out", depth_fanout.scenario, self, gw, Row)
                if (self.wanted("ws api") or self.wanted("order")) and not benchlib.TREE:
                    self.timed("ws api", ws_api_rtt.scenario, self, gw, Row)
        if self.wanted("refinement") and not benchlib.TREE:  # new in issue 22
            self.timed("refinement", refinement.scenario, self, Row)
        if self.wanted("lockstep") and not benchlib.TREE:  # new in issue 21
            self.timed("lockstep", lockstep.scenario, self, Row)
        if self.wanted("symbols") and not benchlib.TREE:  # new in issue 15: the old code has no such mode
            self.timed("many symbols", self.scenario_symbols)
        if self.wanted("intervals") and not benchlib.TREE:
            self.timed("many intervals", self.scenario_intervals)
        if (self.wanted("memory") or self.wanted("RSS")) and not benchlib.TREE:
            self.timed("memory", self.scenario_memory)
        if (self.wanted("writer") or self.wanted("persist")) and not benchlib.TREE:
            self.timed("writer", self.scenario_writer)
        # Under 50 requests in flight one loop turn serves them all (~0.5 ms each): the ticker
        # then measures queueing, not a stall. Those scenarios get their own row.
        stalls = {k: v for k, v in self.lags.items() if "throughput" not in k}
        saturated = {k: v for k, v in self.lags.items() if "throughput" in k}
        if stalls:
            worst = max(stalls, key=stalls.get)
            self.add(Row("event-loop max lag (1 ms ticker, every scenario above)", stalls[worst], "ms", "<= 20 ms",
                         stalls[worst] <= 20.0, detail={"worst": worst, "by_scenario": stalls}))
            # the same lags, counting only the time the gateway itself ran (its CPU time over the
            # late tick): what is left once the OS running other processes is taken out
            on_cpu = {k: v for k, v in self.cpu_lags.items() if k in stalls}
            worst = max(on_cpu, key=on_cpu.get)
            self.add(Row("  of which the gateway was on CPU (its own stall)", on_cpu[worst], "ms", "(info)", None,
                         detail={"worst": worst, "by_scenario": on_cpu}))
        if saturated:
            worst = max(saturated, key=saturated.get)
            self.add(Row("loop lag while 50 connections saturate it (queueing)", saturated[worst], "ms", "(info)",
                         None, detail={"worst": worst, "by_scenario": saturated}))

    def _small_db(self) -> str:
        """The auth gateway gets its own copy: one DuckDB file, one process."""
        path = os.path.join(self.work, "auth.duckdb")
        if not os.path.exists(path):
            benchlib.make_dataset(path, 30)
        return path


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts: the whole suite in under a minute")
    ap.add_argument("--json", metavar="PATH", help="also write every figure and its details as JSON")
    ap.add_argument("--ws-client", choices=("aiohttp", "raw", "both"), default=None,
                    help="WebSocket client kind for fan-out (default: aiohttp with --quick, else both)")
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "exsim-bench-data"),
                    help="where the synthetic datasets are generated once and kept")
    ap.add_argument("--only", nargs="*", help="run the scenarios whose name contains one of these words "
                    "(replay, fan-out, order, user, depth, ws api, refinement, lockstep, symbols, intervals, memory, "
                    "writer)")
    ap.add_argument("--compare", metavar="TREE", help="also run the gateway scenarios on another checkout of "
                    "ExSim (e.g. a `git worktree` of the previous commit) and print both side by side")
    ns = ap.parse_args(argv)
    kind = ns.ws_client or ("aiohttp" if ns.quick else "both")
    kinds = ["aiohttp", "raw"] if kind == "both" else [kind]
    began = time.perf_counter()
    suite = Suite(ns.quick, ns.data_dir, kinds, ns.only)
    other = None
    try:
        suite.run()
        shutil.rmtree(suite.work, ignore_errors=True)  # kept (logs) when a scenario failed
        if ns.compare:
            print(f"\nthe same gateway scenarios on {ns.compare}:", flush=True)
            benchlib.TREE = os.path.abspath(ns.compare)
            other = Suite(ns.quick, ns.data_dir, kinds, ns.only)
            other.run()
            shutil.rmtree(other.work, ignore_errors=True)
    finally:
        benchlib.TREE = None
        elapsed = time.perf_counter() - began
        print()
        print(table(suite.rows))
        if other is not None:
            print(f"\nthis checkout vs {ns.compare}, same run:")
            print(comparison(suite.rows, other.rows))
        print(f"\n{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{'quick' if ns.quick else 'full'} run in {elapsed:.0f} s")
        if ns.json:
            with open(ns.json, "w") as f:
                json.dump({"quick": ns.quick, "seconds": elapsed, "cpus": os.cpu_count(),
                           "python": platform.python_version(), "rows": [asdict(r) for r in suite.rows]},
                          f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())

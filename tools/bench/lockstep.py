"""Lockstep pacing with the example python-binance bot (tools/ema_bot.py, REST polling): bars/s
end to end, and the gateway's own CPU per bar (issue 21).

    python tools/bench/lockstep.py [--quick]

run.py registers `scenario` (rows of its table); standalone it prints the figures."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
from benchlib import MINUTE_MS, T0  # noqa: E402

BOT = str(benchlib.ROOT / "tools" / "ema_bot.py")
RAW_BOT = str(benchlib.ROOT / "tools" / "bench" / "lockstep_rawbot.py")


def lockstep_bars_per_sec(db: str, workdir: str, bars: int, bot: str = BOT) -> dict:
    toml = f'pacing = "lockstep"\nstart = {T0 + 60 * MINUTE_MS}\nend = {T0 + (bars + 200) * MINUTE_MS}\n'
    with benchlib.gateway(db, workdir, toml, log_name="gateway-lockstep.log") as gw:
        env = dict(os.environ, URL=f"http://127.0.0.1:{gw.port}", SYM="BTCUSDT", FAST="3", SLOW="8",
                   ALLOC="2000", STOP="0.002", ALLOW_SHORTS="true", MAX_BARS=str(bars), POLL="0.001",
                   PYTHONPATH=str(benchlib.ROOT))
        gw.get("/admin/status?reset_lag=1")
        cpu0 = gw.cpu_seconds()
        t0 = time.perf_counter()
        out = subprocess.run([benchlib.PY, bot], env=env, capture_output=True, text=True, timeout=1800)
        seconds = time.perf_counter() - t0
        cpu = gw.cpu_seconds() - cpu0
        status = gw.get("/admin/status")
        if out.returncode != 0:
            raise RuntimeError(f"{os.path.basename(bot)} failed: {out.stderr[-2000:]}")
        done = status["bars_done"]
        return {"bars": done, "seconds": seconds, "bars_per_sec": done / seconds,
                "server_cpu_ms_per_bar": cpu * 1000 / max(1, done), "lag_ms": status.get("loop_lag_max_ms"),
                "fills": out.stdout.count("FILL "), "lockstep": status.get("lockstep")}


def scenario(suite, Row) -> None:
    bars = 1500 if suite.quick else 5000
    db = benchlib.make_dataset(os.path.join(suite.data_dir, "bench-lockstep.duckdb"), max(2, bars // 1440 + 1))
    r = lockstep_bars_per_sec(db, suite.work, bars)
    suite.add(Row("lockstep, example python-binance bot (REST polling)", r["bars_per_sec"], "bars/s",
                  ">= 400 bars/s", r["bars_per_sec"] >= 400, detail=r))
    suite.add(Row("  the gateway's own CPU per lockstep bar", r["server_cpu_ms_per_bar"], "ms", "<= 0.5 ms",
                  r["server_cpu_ms_per_bar"] <= 0.5, detail={"bars": r["bars"]}))
    raw = lockstep_bars_per_sec(db, suite.work, bars, RAW_BOT)
    suite.add(Row("lockstep, http.client poller (time + klines)", raw["bars_per_sec"], "bars/s", "(info)", None,
                  detail=raw))
    suite.add(Row("  the gateway's own CPU per lockstep bar", raw["server_cpu_ms_per_bar"], "ms", "(info)", None,
                  detail={"bars": raw["bars"]}))


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    ns = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        bars = 1500 if ns.quick else 5000
        db = benchlib.make_dataset(os.path.join(work, "lockstep.duckdb"), bars // 1440 + 2)
        for bot in (BOT, RAW_BOT):
            r = lockstep_bars_per_sec(db, work, bars, bot)
            print(f"lockstep with {os.path.relpath(bot, benchlib.ROOT)}: {r['bars']} bars in {r['seconds']:.1f} s = "
                  f"{r['bars_per_sec']:,.0f} bars/s; gateway CPU {r['server_cpu_ms_per_bar']:.3f} ms per bar; "
                  f"{r['fills']} fills; timeouts {r['lockstep']['timeouts']}, "
                  f"bars advanced {r['lockstep']['bars_advanced']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

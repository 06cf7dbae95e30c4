"""Replay with an open position and resting orders, on 1h bars, with and without
`fill_resolution = "1m"` (issue 22): hour bars/s at max speed in each mode, same dataset and run.

    python tools/bench/refinement.py [--quick]

run.py registers `scenario` (rows of its table); standalone it prints the two figures."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
import clientside  # noqa: E402
from benchlib import DAY_MS, T0  # noqa: E402


def hour_bars_per_sec(db: str, workdir: str, days: int, refine: bool) -> dict:
    """A long 0.003 BTC with a take-profit 50% above and a stop 50% below (not reached: every bar
    is matched against them), replayed `days` of 1h bars at max."""
    toml = 'interval = "1h"\n' + ('fill_resolution = "1m"\n' if refine else "")
    with benchlib.gateway(db, workdir, toml, log_name=f"gateway-refine-{refine}.log") as gw:
        gw.post("/admin/replay", {"speed_bars_per_sec": 0, "restart": True, "start": T0, "end": T0 + 400 * DAY_MS})
        price = float(gw.get("/fapi/v1/ticker/price?symbol=BTCUSDT")["price"])
        clientside.market_order(gw.port, "BUY")
        clientside.order(gw.port, side="SELL", type="TAKE_PROFIT_MARKET", closePosition="true",
                         stopPrice=f"{price * 1.5:.1f}")
        clientside.order(gw.port, side="SELL", type="STOP_MARKET", closePosition="true",
                         stopPrice=f"{price * 0.5:.1f}")
        gw.get("/admin/status?reset_lag=1")
        b0 = gw.get("/admin/status")["bars_done"]
        t0 = time.perf_counter()
        gw.post("/admin/replay", {"speed_bars_per_sec": "max"})
        while gw.get("/admin/status")["bars_done"] - b0 < days * 24:
            time.sleep(0.005)
        gw.post("/admin/replay", {"speed_bars_per_sec": 0})
        elapsed = time.perf_counter() - t0
        st = gw.get("/admin/status")
        return {"bars": st["bars_done"] - b0, "seconds": elapsed, "bars_per_sec": (st["bars_done"] - b0) / elapsed,
                "open_orders": st["markets"][0]["open_orders"], "lag_ms": float(st["loop_lag_max_ms"])}


def measure(db: str, workdir: str, quick: bool) -> tuple[dict, dict]:
    days = 30 if quick else 180
    return hour_bars_per_sec(db, workdir, days, False), hour_bars_per_sec(db, workdir, days, True)


def scenario(suite, Row) -> None:
    plain, refined = measure(suite.db3y, suite.work, suite.quick)
    suite.add(Row("replay max 1h bars, open position + take-profit + stop", plain["bars_per_sec"], "bars/s", "(info)",
                  None, detail=plain))
    suite.add(Row("  the same, fill_resolution = 1m (each hour on its 60 minutes)", refined["bars_per_sec"], "bars/s",
                  "(info)", None, baseline=plain["bars_per_sec"], ratio=refined["bars_per_sec"] / plain["bars_per_sec"],
                  detail=refined))


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ns = ap.parse_args(argv)
    data = os.path.join(tempfile.gettempdir(), "exsim-bench-data")
    os.makedirs(data, exist_ok=True)
    db = benchlib.make_dataset(os.path.join(data, "bench-3y.duckdb"), 3 * 365)
    with tempfile.TemporaryDirectory() as work:
        plain, refined = measure(db, work, ns.quick)
    print(f"1h bars, open position + take-profit + stop: {plain['bars_per_sec']:,.0f} bars/s")
    print(f"  with fill_resolution = 1m: {refined['bars_per_sec']:,.0f} bars/s "
          f"({refined['bars_per_sec'] / plain['bars_per_sec']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Long version of the crash tests (issue #7.3): kill the gateway again and again mid-run.

    python tools/load/kill_loop.py                   # 10 rounds
    python tools/load/kill_loop.py --rounds 50 --speed 500

Each round starts `python -m exsim` on the same database, lets the replay run at `--speed`
bars/s while a bot places MARKET orders (each acknowledged as FILLED), and after a random
2-8 s stops the gateway: mostly `kill -9`, sometimes SIGTERM or SIGINT. Then, with the gateway
down, the database is opened and checked:

* kill -9: every fill acknowledged more than `--margin` s (default 1.0 > the 0.5 s flush
  interval) before the kill is in trades_fills; fills acknowledged later may be missing (counted);
* SIGTERM/SIGINT: exit code 0 within 5 s and every acknowledged fill stored;
* each next start opens the file, marks the killed run `incomplete` and starts a fresh run
  (new run_id, starting balance, no position).
Prints the figures and exits 1 when a check fails.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAY_MS = 86_400_000


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _req(port: int, method: str, path: str, body: dict | None = None, timeout: float = 10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--speed", type=float, default=200.0)
    p.add_argument("--margin", type=float, default=1.0, help="seconds before a kill after which a fill may be lost")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    sys.path.insert(0, REPO)
    import duckdb
    from exsim.store import demo

    work = tempfile.mkdtemp(prefix="exsim-kill-")
    db = os.path.join(work, "exsim.duckdb")
    days = int(args.speed * 10 * args.rounds / 1440) + 2
    con = duckdb.connect(db)
    demo.generate(con, seed=7, start_ms=demo.DEMO_START_MS, end_ms=demo.DEMO_START_MS + days * DAY_MS,
                  symbols={"BTCUSDT": demo.DEMO_SYMBOLS["BTCUSDT"]})
    con.close()
    cfg = os.path.join(work, "exsim.toml")
    with open(cfg, "w") as f:
        f.write('log_level = "WARNING"\non_end = "loop"\n')
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    failures: list[str] = []
    figures = {"rounds": args.rounds, "kills": 0, "sigterm": 0, "sigint": 0, "fills_acked": 0,
               "fills_acked_before_margin_lost": 0, "fills_in_last_margin_lost": 0, "max_exit_seconds": 0.0}
    runs: list[tuple[str, str]] = []  # (run_id, how it ended)
    try:
        for rnd in range(args.rounds):
            port = _port()
            log = open(os.path.join(work, f"gateway-{rnd}.log"), "wb")
            proc = subprocess.Popen([sys.executable, "-m", "exsim", "--config", cfg, "--duckdb-path", db,
                                     "--port", str(port), "--speed", str(args.speed)], cwd=work, env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while True:
                    if proc.poll() is not None:
                        failures.append(f"round {rnd}: gateway exited with {proc.returncode} at start")
                        break
                    try:
                        status = _req(port, "GET", "/admin/status", timeout=2)[1]
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            failures.append(f"round {rnd}: gateway not ready in 60 s")
                            break
                        time.sleep(0.05)
                if proc.poll() is not None or failures:
                    break
                if float(status["balance"]) != 100000.0 or status["position"]["qty"] != 0:
                    failures.append(f"round {rnd}: the new run did not start clean: {status}")
                if runs and status["run_id"] == runs[-1][0]:
                    failures.append(f"round {rnd}: run_id reused")
                run_id = status["run_id"]
                acks: list[tuple[float, int]] = []
                stop_at = time.monotonic() + rng.uniform(2, 8)
                side = "BUY"
                while time.monotonic() < stop_at:
                    code, order = _req(port, "POST", f"/fapi/v1/order?symbol=BTCUSDT&side={side}&type=MARKET"
                                                     "&quantity=0.01&newOrderRespType=RESULT")
                    if code == 200 and order["status"] == "FILLED":
                        acks.append((time.monotonic(), order["orderId"]))
                        side = "SELL" if side == "BUY" else "BUY"
                    time.sleep(0.03)
                how = rng.choices(["kill", "SIGTERM", "SIGINT"], [6, 2, 2])[0]
                killed_at = time.monotonic()
                if how == "kill":
                    proc.kill()
                    proc.wait(10)
                    figures["kills"] += 1
                else:
                    proc.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGINT)
                    try:
                        rc = proc.wait(5)
                    except subprocess.TimeoutExpired:
                        rc = None
                        proc.kill()
                        proc.wait(10)
                    took = time.monotonic() - killed_at
                    figures[how.lower()] += 1
                    figures["max_exit_seconds"] = max(figures["max_exit_seconds"], round(took, 2))
                    if rc != 0:
                        failures.append(f"round {rnd}: {how} gave exit code {rc} after {took:.1f} s")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
                log.close()
            con = duckdb.connect(db, read_only=True)
            try:
                stored = {r[0] for r in con.execute(
                    "SELECT DISTINCT order_id FROM trades_fills WHERE run_id = ?::UUID", [run_id]).fetchall()}
            finally:
                con.close()
            figures["fills_acked"] += len(acks)
            early = [o for t, o in acks if t <= killed_at - args.margin]
            late = [o for t, o in acks if t > killed_at - args.margin]
            lost_early = [o for o in early if o not in stored]
            lost_late = [o for o in late if o not in stored]
            figures["fills_acked_before_margin_lost"] += len(lost_early)
            figures["fills_in_last_margin_lost"] += len(lost_late)
            if lost_early:
                failures.append(f"round {rnd} ({how}): {len(lost_early)} fills acknowledged > {args.margin} s "
                                "before the stop are missing")
            if how != "kill" and lost_late:
                failures.append(f"round {rnd} ({how}): {len(lost_late)} fills lost on a graceful stop")
            runs.append((run_id, how))
        # one last start marks the last killed run incomplete; then a clean stop
        port = _port()
        proc = subprocess.Popen([sys.executable, "-m", "exsim", "--config", cfg, "--duckdb-path", db,
                                 "--port", str(port), "--speed", "0"], cwd=work, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                _req(port, "GET", "/fapi/v1/ping", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        con = duckdb.connect(db, read_only=True)
        try:
            statuses = dict(con.execute("SELECT run_id::VARCHAR, status FROM run_status").fetchall())
        finally:
            con.close()
        for run_id, how in runs:
            want = "incomplete" if how == "kill" else "stopped"
            if statuses.get(run_id) != want:
                failures.append(f"run {run_id} ({how}) has status {statuses.get(run_id)!r}, expected {want!r}")
    finally:
        figures["failures"] = failures
        if args.keep:
            figures["workdir"] = work
        else:
            shutil.rmtree(work, ignore_errors=True)
    for key, value in figures.items():
        print(f"{key}: {value}")
    print("RESULT:", "FAIL" if failures else "OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared pieces of the benchmark: datasets, server processes, HTTP helpers.

Every server (ExSim's gateway, the baselines) runs in its own process started with
subprocess, so the load generators in this process or in worker processes never share its
interpreter; `Server.rss()` reads its memory with psutil.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PY = sys.executable
T0 = 1_704_067_200_000  # 2024-01-01, where the synthetic data starts
DAY_MS = 86_400_000
MINUTE_MS = 60_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synthetic_symbols(n: int) -> dict:
    """`n` made-up symbols for the demo generator: (first price, volatility, volume per minute)."""
    return {f"X{i:02d}USDT": (100.0 + 7 * i, 0.5 + 0.02 * i, 1000.0) for i in range(n)}


def make_dataset(path: str, days: int, symbol: str = "BTCUSDT", symbols: Optional[dict] = None) -> str:
    """Synthetic 1m bars (ExSim's demo generator) for `days` days from 2024-01-01, of `symbol`
    (a demo symbol) or of `symbols` (see synthetic_symbols)."""
    symbols = symbols or {symbol: None}
    marker = Path(path + f".{days}d.{len(symbols)}s.ok")
    if Path(path).exists() and marker.exists():
        return path
    import duckdb
    from exsim.store import demo

    for p in (Path(path), Path(path + ".wal")):
        if p.exists():
            p.unlink()
    con = duckdb.connect(path)
    demo.generate(con, seed=7, start_ms=T0, end_ms=T0 + days * DAY_MS,
                  symbols={s: spec or demo.DEMO_SYMBOLS[s] for s, spec in symbols.items()})
    con.close()
    marker.touch()
    return path


def http(port: int, method: str, path: str, body: Optional[dict] = None, timeout: float = 60.0,
         headers: Optional[dict] = None):
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


class Server:
    """A server process on 127.0.0.1:port; `ready_path` answers once it listens."""

    def __init__(self, args: list[str], port: int, ready_path: str, env: Optional[dict] = None,
                 cwd: Optional[str] = None, log_path: Optional[str] = None) -> None:
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(args, env=full_env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {' '.join(args)}"
                                   + (f" (log: {log_path})" if log_path else ""))
            try:
                http(port, "GET", ready_path, timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"server did not come up: {' '.join(args)}")
                time.sleep(0.05)
        import psutil
        self.ps = psutil.Process(self.proc.pid)

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def get(self, path: str, timeout: float = 60.0):
        return http(self.port, "GET", path, timeout=timeout)

    def post(self, path: str, body: Optional[dict] = None, timeout: float = 60.0):
        return http(self.port, "POST", path, body, timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not subprocess.DEVNULL:
            self._log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# Another checkout of ExSim whose gateway the suite runs instead (run.py --compare): its code is
# imported first through PYTHONPATH, so one run measures both side by side.
TREE: Optional[str] = None


def gateway(db: str, workdir: str, config_text: str = "", env: Optional[dict] = None,
            log_name: str = "gateway.log") -> Server:
    """ExSim's real CLI (`python -m exsim`, uvloop installed by it), paused, on a free port,
    with the loop-lag probe on. `workdir` is its cwd, so no ./exsim.toml of the caller leaks in."""
    if TREE:
        env = {"PYTHONPATH": TREE, **(env or {})}
    port = free_port()
    cfg_path = os.path.join(workdir, "exsim-bench.toml")
    with open(cfg_path, "w") as f:
        f.write(("" if "log_level" in config_text else 'log_level = "WARNING"\n') + config_text)
    args = [PY, "-m", "exsim", "--config", cfg_path, "--duckdb-path", db, "--port", str(port),
            "--speed", "0"]
    return Server(args, port, "/admin/status", env={"EXSIM_LOOP_PROBE": "1", **(env or {})},
                  cwd=workdir, log_path=os.path.join(workdir, log_name))


def baseline(kind: str, workdir: str) -> Server:
    port = free_port()
    ready = "/status" if kind == "fanout" else "/fapi/v1/time"
    return Server([PY, str(HERE / "baselines.py"), kind, "--port", str(port)], port, ready,
                  cwd=workdir, log_path=os.path.join(workdir, f"baseline-{kind}.log"))


def wait_until(pred, timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return False

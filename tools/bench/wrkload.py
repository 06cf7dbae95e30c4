"""HTTP load with wrk (https://github.com/wg/wrk), when it is installed: the same orders as
httpload.py (form-body MARKET orders alternating BUY and SELL, a newClientOrderId each, signed
or not) from a C client, so the figure is the server's and not the load generator's (the Python
generator tops out near 7-8k requests/s on this machine: above that it measures itself).

    apt-get install -y wrk        # Debian/Ubuntu; or build it from github.com/wg/wrk

Signing: wrk's Lua (LuaJIT) has no HMAC-SHA256, so signed runs use a POOL of request bodies
signed beforehand, each with its own newClientOrderId and timestamp (one millisecond apart, the
newest at the moment the pool is made) and recvWindow=60000, so every body stays inside the
gateway's window for the whole run (runs are kept under ~50 s). The gateway verifies each
signature as it would a live client's (the HMAC over the body, the timestamp window); what the
pool changes is that the client does not spend CPU signing. Bodies cycle once the pool is used
up: a MARKET order fills at once, so a repeated client id is not a duplicate of an open order.
Unsigned runs use the same pool mechanism (bodies made beforehand, cheapest for the client).

`run()` has httpload.run's signature and result keys (requests, ok, per_sec, ok_per_sec,
p50_ms, p99_ms, statuses, seconds), plus `client = "wrk"`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Optional

POOL = 4096  # distinct bodies per run

_LUA = r"""
local reqs = {}
local n = 0
local bodies = dofile(%(pool)s)
local headers = {["Content-Type"] = "application/x-www-form-urlencoded"%(key)s}

init = function(args)
  for i, body in ipairs(bodies) do
    reqs[i] = wrk.format("POST", %(path)s, headers, body)
  end
end

request = function()
  n = n + 1
  if n > #reqs then n = 1 end
  return reqs[n]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write("WRKJSON ")
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "status_errors": %%d, "connect": %%d, "read": %%d, '
    .. '"write": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, "p999_us": %%d, "max_us": %%d, '
    .. '"mean_us": %%f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
"""


_LUA_GET = _LUA[_LUA.index("done = function"):]


def available() -> bool:
    return shutil.which("wrk") is not None


def bodies(n: int, key: Optional[str], secret: Optional[str],
           body: str = "symbol=BTCUSDT&side={side}&type=MARKET&quantity=0.003&newClientOrderId=bench-{n}") -> list[str]:
    """`n` order bodies alternating SELL/BUY; signed (timestamp, recvWindow, signature) when a
    secret is given, the newest timestamp now and each older one a millisecond apart."""
    out = []
    now = int(time.time() * 1000)
    for i in range(n):
        b = body.replace("{side}", "SELL" if i % 2 else "BUY").replace("{n}", str(i))
        if secret is not None:
            b += f"&recvWindow=60000&timestamp={now - n + i}"
            b += "&signature=" + hmac.new(secret.encode(), b.encode(), hashlib.sha256).hexdigest()
        out.append(b)
    return out


def _lua_pool(items: list[str]) -> str:
    # long-bracket strings: the bodies hold no "]]"
    return "return {\n" + ",\n".join(f"[[{s}]]" for s in items) + "\n}\n"


def run(port: int, conns: int = 50, seconds: float = 3.0, key: Optional[str] = None,
        secret: Optional[str] = None, path: str = "/fapi/v1/order", threads: int = 1) -> dict:
    """wrk POSTing orders with `threads` threads and `conns` keep-alive connections for `seconds`."""
    if seconds > 50 and secret is not None:
        raise ValueError("signed pool bodies stay in the 60 s recvWindow: keep runs under 50 s")
    work = tempfile.mkdtemp(prefix="exsim-wrk-")
    try:
        pool_path = os.path.join(work, "pool.lua")
        with open(pool_path, "w") as f:
            f.write(_lua_pool(bodies(POOL, key, secret)))
        script = os.path.join(work, "orders.lua")
        with open(script, "w") as f:
            f.write(_LUA % {"pool": json.dumps(pool_path), "path": json.dumps(path),
                            "key": f', ["X-MBX-APIKEY"] = "{key}"' if key else ""})
        proc = _wrk(script, port, "", conns, seconds, threads)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _result(proc)


def run_get(port: int, conns: int = 50, seconds: float = 3.0, path: str = "/fapi/v1/time", threads: int = 1) -> dict:
    """wrk GETting `path` (no body, no script but the report)."""
    work = tempfile.mkdtemp(prefix="exsim-wrk-")
    try:
        script = os.path.join(work, "report.lua")
        with open(script, "w") as f:
            f.write(_LUA_GET.replace("%%", "%"))
        proc = _wrk(script, port, path, conns, seconds, threads)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _result(proc)


def _wrk(script: str, port: int, path: str, conns: int, seconds: float, threads: int):
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", script, f"http://127.0.0.1:{port}{path}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)


def _result(proc) -> dict:
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-500:]}")
    w = json.loads(line[len("WRKJSON "):])
    elapsed = w["duration_us"] / 1e6
    failed = w["status_errors"]
    ok = w["requests"] - failed
    return {"client": "wrk", "requests": w["requests"], "ok": ok, "seconds": elapsed,
            "per_sec": w["requests"] / elapsed, "ok_per_sec": ok / elapsed,
            "p50_ms": w["p50_us"] / 1000, "p99_ms": w["p99_us"] / 1000, "p999_ms": w["p999_us"] / 1000,
            "max_ms": w["max_us"] / 1000, "mean_ms": w["mean_us"] / 1000,
            "statuses": {"200": ok, "non-2xx/3xx": failed},
            "socket_errors": {k: w[k] for k in ("connect", "read", "write", "timeout")},
            "errors": [] if not failed else [f"{failed} responses with status >= 400"]}

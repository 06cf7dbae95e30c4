"""ExSim as a real process (`python -m exsim` on a test database) and raw HTTP to it on
127.0.0.1: for tests that need signals, exit codes or a gateway of their own."""
from __future__ import annotations

import http.client as httpclient
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    """A port nobody listens on right now (the CLI has no --port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port: int, method: str, path: str, body: Optional[bytes] = None, headers: Optional[dict] = None,
         timeout: float = 10.0, chunks: Optional[list[bytes]] = None) -> tuple[int, dict, bytes]:
    """One request on a fresh connection; returns (status, lower-cased headers, body)."""
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if chunks is not None:
            conn.request(method, path, body=iter(chunks), headers=headers or {}, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


class Gateway:
    """`python -m exsim` on a tmp database; stdout/stderr to files; always stopped by the test."""

    def __init__(self, db: str, workdir: str, speed: str = "0", port: Optional[int] = None,
                 extra: Optional[list[str]] = None, env: Optional[dict] = None,
                 as_user: Optional[int] = None) -> None:
        self.db, self.workdir = db, workdir
        self.port = port or free_port()
        self.out_path = os.path.join(workdir, f"exsim-{self.port}.out")
        self.err_path = os.path.join(workdir, f"exsim-{self.port}.err")
        cfg = os.path.join(workdir, "exsim-test.toml")  # keeps the repo's ./exsim.toml out of it
        if not os.path.exists(cfg):
            with open(cfg, "w") as f:
                f.write("# reliability tests\n")
        full_env = {k: v for k, v in os.environ.items() if k not in (
            "HOST", "PORT", "DUCKDB_PATH", "SYMBOL", "INTERVAL", "START", "END", "SPEED", "AUTH",
            "ADMIN_TOKEN", "EXSIM_CONFIG", "ON_END", "LOG_LEVEL", "ACCESS_LOG")}
        full_env["PYTHONPATH"] = REPO + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.update(env or {})
        self.argv = [sys.executable, "-m", "exsim", "--config", cfg, "--duckdb-path", db,
                     "--port", str(self.port), "--speed", speed] + (extra or [])
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        ids = {"user": as_user, "group": as_user, "extra_groups": []} if as_user is not None else {}
        if as_user is not None:
            full_env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.proc = subprocess.Popen(self.argv, cwd=workdir, stdout=self._out, stderr=self._err,
                                     env=full_env, start_new_session=True, **ids)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """True once /fapi/v1/ping answers; False if the process exited first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if http(self.port, "GET", "/fapi/v1/ping", timeout=2)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"gateway on port {self.port} not ready in {timeout} s: {self.stderr()[-2000:]}")

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stderr(self) -> str:
        self._err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL) and close the log files."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()
        self._err.close()

"""Shared bits of the reliability suite: raw HTTP on 127.0.0.1, free ports, a log trap that
catches tracebacks, the figures printed at the end of the run, and ExSim subprocesses."""
from __future__ import annotations

import http.client as httpclient
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Optional

# Figures the close note needs (cases tried, clients held, RSS...). Tests fill it; the
# conftest prints it in pytest's terminal summary, so it shows even under -q.
FIGURES: dict[str, object] = {}

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def get_json(port: int, path: str, method: str = "GET", body: Optional[dict] = None, headers=None):
    raw = json.dumps(body).encode() if body is not None else None
    status, _, data = http(port, method, path, raw, headers)
    return status, (json.loads(data) if data else None)


def is_binance_error(status: int, headers: dict, body: bytes) -> Optional[str]:
    """None when (status, body) is a Binance-style JSON error, else what is wrong with it."""
    if not 400 <= status < 500:
        return f"status {status} is not 4xx"
    if not headers.get("content-type", "").startswith("application/json"):
        return f"content type {headers.get('content-type')!r}"
    try:
        obj = json.loads(body)
    except ValueError:
        return f"body is not JSON: {body[:200]!r}"
    if not isinstance(obj, dict) or set(obj) != {"code", "msg"}:
        return f"body is not {{code, msg}}: {body[:200]!r}"
    if not isinstance(obj["code"], int) or isinstance(obj["code"], bool) or obj["code"] >= 0:
        return f"code is not a negative int: {obj['code']!r}"
    if not isinstance(obj["msg"], str) or "Traceback" in obj["msg"]:
        return f"msg is not a clean string: {obj['msg']!r}"
    return None


class LogTrap(logging.Handler):
    """Collects ERROR records and anything carrying a traceback from ExSim and aiohttp."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._loggers = [logging.getLogger(n) for n in ("exsim", "aiohttp", "asyncio")]

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def __enter__(self) -> "LogTrap":
        for lg in self._loggers:
            lg.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        for lg in self._loggers:
            lg.removeHandler(self)

    def take(self) -> list[str]:
        out = [f"{r.name}: {r.getMessage()}" + (f" [{r.exc_info[0].__name__}: {r.exc_info[1]}]"
                                                if r.exc_info and r.exc_info[0] else "")
               for r in self.records]
        self.records.clear()
        return out


# --- ExSim as a real process ----------------------------------------------------------------

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
            "ADMIN_TOKEN", "EXSIM_CONFIG", "ON_END", "LOG_LEVEL")}
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


# --- a blocking WebSocket client on a raw socket (for subprocess gateways) -------------------

class RawWs:
    """Minimal RFC 6455 client: enough to subscribe, read frames and see the close frame."""

    def __init__(self, port: int, path: str = "/ws", rcvbuf: Optional[int] = None, timeout: float = 10) -> None:
        import base64
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode("latin-1"))

    def send_text(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = b"\x81" + bytes((0x80 | n,))
        elif n < 65536:
            head = b"\x81\xfe" + n.to_bytes(2, "big")
        else:
            head = b"\x81\xff" + n.to_bytes(8, "big")
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("connection closed without a close frame")
            out += chunk
        return out

    def recv(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame (1 text, 2 binary, 8 close, 9 ping, 10 pong)."""
        b0, b1 = self._exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._exact(2), "big")
        elif n == 127:
            n = int.from_bytes(self._exact(8), "big")
        return b0 & 0x0F, self._exact(n)

    def recv_until_close(self) -> tuple[list[dict], Optional[int]]:
        """Text messages until the close frame; returns them and the close code."""
        msgs = []
        while True:
            op, payload = self.recv()
            if op == 1:
                msgs.append(json.loads(payload))
            elif op == 8:
                return msgs, int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

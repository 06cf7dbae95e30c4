"""Shared bits of the reliability suite: a log trap that catches tracebacks, the figures
printed at the end of the run, a raw WebSocket client; ExSim subprocesses and raw HTTP come
from tests/process.py."""
from __future__ import annotations

import json
import logging
import os
import socket
from typing import Optional

from tests.process import http

# Figures the close note needs (cases tried, clients held, RSS...). Tests fill it; the
# conftest prints it in pytest's terminal summary, so it shows even under -q.
FIGURES: dict[str, object] = {}


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

"""The bot's side of `exsim run-bot`: sim time instead of wall time, sleeps on the replay clock.

Loaded by exsim/botclock/sitecustomize.py at interpreter start when `EXSIM_GATEWAY` is set.
Standard library + time-machine only (the bot's environment may have nothing else):

- a daemon thread holds a WebSocket to `<EXSIM_GATEWAY>/admin/clock` (exsim/wire/bot_clock.py)
  and receives `{"t": <sim epoch ms>}` whenever sim time moves;
- time-machine (`travel(..., tick=False)`, then `move_to` on every push) makes `time.time`,
  `time.time_ns`, `datetime.now/utcnow`, `date.today`, argument-less `gmtime/localtime/strftime`
  (all patched in C, so `from time import time` done earlier is covered too) return sim time;
- `time.sleep(x)` and `asyncio.sleep(x)` (x > 0) become "wake me at sim now + x": the target
  goes to the gateway as `{"wake": ms}` and the sleep returns once a pushed time reaches it.

Monotonic clocks (`time.monotonic`, `perf_counter`, the asyncio loop's clock) stay wall time.
No gateway (or none within EXSIM_BOTCLOCK_WAIT seconds, default 10): one warning on stderr, and
the bot runs on wall time with real sleeps. Losing the gateway later: one warning, time ticks on
from the last sim time at wall rate and sleeps (those in progress too) become real ones.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import json
import math
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from typing import Callable, Optional

_orig_sleep = time.sleep
_orig_async_sleep = asyncio.sleep
_EPOCH = _dt.datetime(1970, 1, 1)  # naive: time-machine takes it as UTC and leaves TZ alone


def _warn(text: str) -> None:
    try:
        sys.stderr.write(f"exsim run-bot: {text}\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a bot with a closed stderr still runs
        pass


# --- a minimal WebSocket client (RFC 6455: text, ping/pong, close; client frames masked) --------

class _WebSocket:
    def __init__(self, url: str, token: Optional[str], timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        secure = parts.scheme in ("https", "wss")
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if secure else 80)
        path = (parts.path.rstrip("/") or "") + "/admin/clock"
        sock = socket.create_connection((host, port), timeout=timeout)
        if secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        head = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                "User-Agent: exsim-botclock"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the gateway closed the connection during the handshake")
            buf += chunk
            if len(buf) > 65536:
                raise ConnectionError("no WebSocket handshake from the gateway")
        header, self._buf = buf.split(b"\r\n\r\n", 1)
        status = header.split(b"\r\n", 1)[0].decode("latin-1")
        if " 101 " not in status + " ":
            sock.close()
            raise ConnectionError(f"answered {status!r}: {self._buf[:200].decode('utf-8', 'replace')}")
        sock.settimeout(None)
        self.sock = sock
        self._send_lock = threading.Lock()

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def _send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self._send_lock:
            self.sock.sendall(head + mask + masked)

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the gateway closed the connection")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv_text(self) -> str:
        """The next text message (answering pings on the way); ConnectionError once closed."""
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                with _suppress():
                    self._send(0x8, payload[:2])
                raise ConnectionError("the gateway closed the clock socket")
            if opcode == 0x9:
                self._send(0xA, payload)
                continue
            if opcode in (0x1, 0x0):
                parts.append(payload)
                if b0 & 0x80:
                    return b"".join(parts).decode()
            # pong, binary: ignored

    def close(self) -> None:
        with _suppress():
            self._send(0x8, struct.pack("!H", 1000))
        with _suppress():
            self.sock.close()


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return exc[0] is not None and issubclass(exc[0], Exception)


# --- the clock -----------------------------------------------------------------------------------

class _Waiter:
    __slots__ = ("target", "done", "wall_left", "notify")

    def __init__(self, target: float, notify: Optional[Callable[[], None]]) -> None:
        self.target = target
        self.done = False
        self.wall_left = 0.0  # > 0: the gateway went away; sleep this long for real
        self.notify = notify  # asyncio waiters: how to wake their loop (thread waiters: the condition)


class BotClock:
    def __init__(self, gateway: str, token: Optional[str], wait_s: float) -> None:
        self.gateway, self.token, self.wait_s = gateway, token, wait_s
        self.now_ms: Optional[int] = None
        self.connected = False
        self.lost = False
        self._ws: Optional[_WebSocket] = None
        self._cond = threading.Condition()
        self._waiters: list[_Waiter] = []
        self._alarm: Optional[int] = None  # the alarm the gateway holds for us
        self._coords = None
        self._traveller = None

    # -- start ----------------------------------------------------------------------------

    def start(self) -> bool:
        """Connect and wait for the first sim time (bounded); True once on the replay clock."""
        deadline = time.monotonic() + self.wait_s
        last = None
        while True:
            try:
                self._ws = _WebSocket(self.gateway, self.token, timeout=max(0.5, min(5.0, self.wait_s)))
                break
            except ConnectionRefusedError as exc:  # a gateway still starting: try again
                last = exc
            except (OSError, ValueError) as exc:  # refused upgrade (401, 404), bad URL, timeout
                last = exc
                break
            if time.monotonic() >= deadline:
                break
            _orig_sleep(0.1)
        if self._ws is None:
            _warn(f"no bot clock at {self.gateway}/admin/clock ({last}); this bot runs on WALL time "
                  "with real sleeps")
            return False
        try:
            self._ws.sock.settimeout(max(0.1, deadline - time.monotonic()))
            first = self._first_time()
            self._ws.sock.settimeout(None)
            self._ws.send_text(json.dumps({"pid": os.getpid()}))
        except (OSError, ConnectionError, ValueError) as exc:
            self._ws.close()
            _warn(f"no sim time from {self.gateway}/admin/clock within {self.wait_s:g} s ({exc}); "
                  "this bot runs on WALL time with real sleeps")
            return False
        time_machine = _import_time_machine()
        self.now_ms = first
        self._traveller = time_machine.travel(_EPOCH + _dt.timedelta(milliseconds=first), tick=False)
        self._coords = self._traveller.start()
        self.connected = True
        threading.Thread(target=self._read_forever, name="exsim-botclock", daemon=True).start()
        return True

    def _first_time(self) -> int:
        while True:
            t = self._parse(self._ws.recv_text())
            if t is not None:
                return t

    @staticmethod
    def _parse(text: str) -> Optional[int]:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        t = data.get("t") if isinstance(data, dict) else None
        return t if isinstance(t, int) and not isinstance(t, bool) else None

    # -- the reader thread ----------------------------------------------------------------

    def _read_forever(self) -> None:
        try:
            while True:
                t = self._parse(self._ws.recv_text())
                if t is not None:
                    self._moved(t)
        except Exception as exc:  # noqa: BLE001 - whatever ends the socket, the bot goes on
            self._lose(exc)

    def _moved(self, t: int) -> None:
        self._coords.move_to(_EPOCH + _dt.timedelta(milliseconds=t))
        woken = []
        with self._cond:
            self.now_ms = t
            if self._alarm is not None and self._alarm <= t:
                self._alarm = None  # the gateway cleared it
            for w in [w for w in self._waiters if w.target <= t]:
                self._waiters.remove(w)
                w.done = True
                woken.append(w)
            self._sync()
            self._cond.notify_all()
        for w in woken:
            if w.notify is not None:
                w.notify()

    def _lose(self, exc: BaseException) -> None:
        with self._cond:
            if self.lost:
                return
            self.lost, self.connected = True, False
            now = self.now_ms or 0
            waiters, self._waiters = self._waiters, []
            for w in waiters:
                w.done = True
                w.wall_left = max(0.0, (w.target - now) / 1000.0)
            self._cond.notify_all()
        _warn(f"lost the bot clock at {self.gateway}/admin/clock ({exc}); time now runs on from the "
              "last sim time at wall rate, and sleeps are real")
        with _suppress():
            self._coords.move_to(_EPOCH + _dt.timedelta(milliseconds=now), tick=True)
        for w in waiters:
            if w.notify is not None:
                w.notify()
        with _suppress():
            self._ws.close()

    # -- alarms ---------------------------------------------------------------------------

    def _sync(self) -> None:
        """The gateway's alarm is our earliest pending target (call with the condition held)."""
        want = min((w.target for w in self._waiters), default=None)
        want_ms = None if want is None else int(math.ceil(want))
        if want_ms == self._alarm or self.lost:
            return
        if want_ms is None and self._alarm is None:
            return
        self._alarm = want_ms
        try:
            self._ws.send_text(json.dumps({"wake": want_ms}))
        except OSError as exc:
            threading.Thread(target=self._lose, args=(exc,), daemon=True).start()

    def add(self, seconds: float, notify: Optional[Callable[[], None]] = None) -> Optional[_Waiter]:
        """A sleep of `seconds` (sim) starts now; None when not on the replay clock."""
        with self._cond:
            if not self.connected:
                return None
            # a tiny float error (next_minute - time.time()) must not cost an extra ms
            w = _Waiter(self.now_ms + max(seconds * 1000.0 - 1e-6, 0.0), notify)
            self._waiters.append(w)
            self._sync()
            return w

    def cancel(self, w: _Waiter) -> None:
        with self._cond:
            if not w.done:
                w.done = True
                if w in self._waiters:
                    self._waiters.remove(w)
                self._sync()

    # -- the patched sleeps -----------------------------------------------------------------

    def sleep(self, seconds) -> None:
        if seconds != seconds or seconds <= 0:  # NaN, 0, negatives, wrong types: as the original does
            return _orig_sleep(seconds)
        w = self.add(float(seconds))
        if w is None:
            return _orig_sleep(seconds)
        try:
            with self._cond:
                while not w.done:
                    self._cond.wait(1.0)  # the timeout only keeps Ctrl-C prompt on old Pythons
        finally:
            self.cancel(w)
        if w.wall_left > 0:
            _orig_sleep(w.wall_left)

    async def async_sleep(self, delay, result=None):
        if delay != delay or delay <= 0:
            return await _orig_async_sleep(delay, result)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def wake() -> None:
            with _suppress():  # the loop may be closed by now
                loop.call_soon_threadsafe(_set_done, fut)

        w = self.add(float(delay), wake)
        if w is None:
            return await _orig_async_sleep(delay, result)
        try:
            await fut
        finally:
            self.cancel(w)
        if w.wall_left > 0:
            return await _orig_async_sleep(w.wall_left, result)
        return result

    # -- fork -------------------------------------------------------------------------------

    def after_fork(self) -> None:
        """A forked child has no reader thread: its own connection (its own pid and alarms)."""
        self._cond = threading.Condition()
        self._waiters, self._alarm, self._ws = [], None, None
        was = self.connected
        self.connected = self.lost = False
        if was:
            if self._traveller is not None:
                with _suppress():
                    self._traveller.stop()
            if not self.start():
                self.lost = True


def _set_done(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


CLOCK: Optional[BotClock] = None


def _import_time_machine():
    """time_machine, without the pytest it imports when it can (half a second at every bot's
    start, for a pytest fixture no bot uses); a process that imported pytest already keeps it."""
    blocked = "pytest" not in sys.modules
    if blocked:
        sys.modules["pytest"] = None  # type: ignore[assignment]  # its `import pytest` fails
    try:
        import time_machine
    finally:
        if blocked and "pytest" in sys.modules and sys.modules["pytest"] is None:
            del sys.modules["pytest"]
    return time_machine


def install() -> Optional[BotClock]:
    """Put this interpreter on the replay clock of `EXSIM_GATEWAY` (once; None without it)."""
    global CLOCK
    gateway = os.environ.get("EXSIM_GATEWAY", "").strip()
    if CLOCK is not None or not gateway or os.environ.get("EXSIM_BOTCLOCK", "1") == "0":
        return CLOCK
    try:
        _import_time_machine()
    except ImportError:
        _warn(f"time-machine is not installed for {sys.executable} (pip install 'exsim[botclock]' or "
              "'time-machine'); this bot runs on WALL time with real sleeps")
        return None
    if "://" not in gateway:
        gateway = "http://" + gateway
    token = os.environ.get("EXSIM_ADMIN_TOKEN") or os.environ.get("ADMIN_TOKEN") or None
    try:
        wait_s = float(os.environ.get("EXSIM_BOTCLOCK_WAIT", "10"))
    except ValueError:
        wait_s = 10.0
    clock = BotClock(gateway.rstrip("/"), token, wait_s)
    if not clock.start():
        return None
    CLOCK = clock

    def sleep(seconds) -> None:
        """time.sleep on the replay clock (exsim run-bot): returns when sim time gets there."""
        clock.sleep(seconds)

    async def async_sleep(delay, result=None):
        """asyncio.sleep on the replay clock (exsim run-bot)."""
        return await clock.async_sleep(delay, result)

    sleep.__wrapped__ = _orig_sleep
    async_sleep.__wrapped__ = _orig_async_sleep
    time.sleep = sleep
    asyncio.sleep = async_sleep
    asyncio.tasks.sleep = async_sleep
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=clock.after_fork)
    return clock

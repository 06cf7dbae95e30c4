"""WebSocket churn under a running replay (issue #7.4).

    python tools/load/ws_churn.py                      # 1,000 churning clients, 60 s, speed 1000
    python tools/load/ws_churn.py --clients 300 --seconds 20 --json out.json

Starts the real gateway (`python -m exsim`) on a synthetic dataset in a tmp folder, then:

* `--healthy` well-behaved clients subscribe to `<symbol>@kline_1m` (half on /ws, half on
  /stream) and check every closed kline arrives once and in order;
* a bot trades MARKET orders over REST the whole time and remembers every fill it was told of;
* `--clients` churn slots connect, SUBSCRIBE to 1-3 random streams, hold for a random time
  (reading and discarding; one in ten never reads), and leave (half with a close frame, half by
  dropping the TCP connection), over and over: a warm-up round, then the measured round;
* the replay runs at `--speed` bars/s; pace = bars done over wall time in the measured round.

At the end the gateway gets SIGTERM, and the fills in its database are compared with the fills
the bot saw. Prints the figures (connections made, clients held, RSS before/after churn, bars
lost, fills lost, pace) and exits 1 when a check fails:
no bar lost for healthy clients, 0 fills lost, no churned client left registered, RSS growth
from after the warm-up round to after the measured rounds at most `--rss-slack-mb` (the run's
own history - orders, fills, equity rows - grows too: about 10 MB a minute with the default bot,
measured with `--clients 0`), pace within `--pace-tolerance` of the target.

The churn machinery (`churn()`) is also run, small and short, by tests/reliability/test_ws_churn.py.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
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
from dataclasses import dataclass, field
from typing import Callable, Optional

import aiohttp
import orjson

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAY_MS = 86_400_000
STREAMS = ["btcusdt@kline_1m", "btcusdt@markprice@1s", "btcusdt@bookticker", "btcusdt@aggtrade",
           "btcusdt@miniticker", "btcusdt@ticker", "!markprice@arr", "btcusdt_perpetual@continuouskline_1m"]


def ws_frame(text: str, opcode: int = 1) -> bytes:
    """A client frame; the zero mask key leaves the payload as is (legal and cheap)."""
    data = text.encode() if isinstance(text, str) else text
    n = len(data)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + data


CLOSE_FRAME = ws_frame(b"\x03\xe8", opcode=8)  # 1000 normal closure


class RawWs(asyncio.Protocol):
    """A WebSocket client that does the upgrade itself and only walks frame headers, so the
    gateway, not this process, is what gets loaded. `on_text(payload)` sees text frames when set."""

    def __init__(self, host: str, path: str, on_text: Optional[Callable[[bytes], None]] = None,
                 walk: bool = True) -> None:
        self.host, self.path, self.on_text, self.walk = host, path, on_text, walk
        self.transport: Optional[asyncio.Transport] = None
        self.upgraded = asyncio.get_running_loop().create_future()
        self.done = asyncio.get_running_loop().create_future()
        self.buf = bytearray()
        self.messages = 0
        self.bytes = 0
        self.close_code: Optional[int] = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                         ).encode())

    def data_received(self, data: bytes) -> None:
        self.bytes += len(data)
        if not self.walk and self.upgraded.done():
            return  # a churner: bytes are counted and dropped, frames are not looked at
        self.buf += data
        if not self.upgraded.done():
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            del self.buf[:end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(head[:200].decode("latin-1")))
                self.transport.close()
                return
            self.upgraded.set_result(True)
        buf, pos, n = self.buf, 0, len(self.buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            size, hl = b1 & 0x7F, 2
            if size == 126:
                if n - pos < 4:
                    break
                size, hl = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif size == 127:
                if n - pos < 10:
                    break
                size, hl = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if n - pos < hl + size:
                break
            op = b0 & 0x0F
            if op == 1:
                self.messages += 1
                if self.on_text is not None:
                    self.on_text(bytes(buf[pos + hl:pos + hl + size]))
            elif op == 8:
                self.close_code = int.from_bytes(buf[pos + hl:pos + hl + 2], "big") if size >= 2 else 1005
            elif op == 9:  # ping -> pong with the same payload
                self.transport.write(ws_frame(bytes(buf[pos + hl:pos + hl + size]), opcode=10))
            pos += hl + size
        del buf[:pos]

    def connection_lost(self, exc) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("closed before the upgrade"))
        if not self.done.done():
            self.done.set_result(None)

    def send(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ws_frame(text))


async def ws_connect(port: int, path: str, on_text=None, rcvbuf: Optional[int] = None,
                     timeout: float = 10, walk: bool = True) -> RawWs:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
        _, proto = await loop.create_connection(lambda: RawWs(f"127.0.0.1:{port}", path, on_text, walk),
                                                sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        await asyncio.wait_for(proto.upgraded, timeout)
    except BaseException:
        proto.transport.abort()
        raise
    return proto


class Healthy:
    """Subscribes to the kline stream and records the open time of every closed kline."""

    def __init__(self, port: int, path: str, symbol: str = "btcusdt") -> None:
        self.port, self.path, self.stream = port, path, f"{symbol}@kline_1m"
        self.klines: list[int] = []
        self.replies: list[dict] = []
        self.ws: Optional[RawWs] = None

    def _on_text(self, payload: bytes) -> None:
        obj = orjson.loads(payload)
        data = obj.get("data", obj) if isinstance(obj, dict) else obj
        if isinstance(data, dict) and data.get("e") == "kline":
            if data["k"]["x"]:
                self.klines.append(data["k"]["t"])
        else:
            self.replies.append(obj)

    async def start(self) -> "Healthy":
        self.ws = await ws_connect(self.port, self.path, self._on_text)
        self.ws.send(json.dumps({"method": "SUBSCRIBE", "params": [self.stream], "id": 1}))
        for _ in range(500):
            if self.replies:
                break
            await asyncio.sleep(0.01)
        assert self.replies and self.replies[0] == {"result": None, "id": 1}, self.replies
        return self

    def problems(self, expected_first: int, expected_count: int, step_ms: int = 60_000) -> list[str]:
        out = []
        k = self.klines
        if len(k) != expected_count:
            out.append(f"{self.path}: {len(k)} closed klines, expected {expected_count}")
        if k and k[0] != expected_first:
            out.append(f"{self.path}: first kline {k[0]}, expected {expected_first}")
        gaps = [(a, b) for a, b in zip(k, k[1:]) if b - a != step_ms]
        if gaps:
            out.append(f"{self.path}: {len(gaps)} gaps/reorders, first {gaps[0]}")
        return out

    def close(self) -> None:
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.write(CLOSE_FRAME)
            self.ws.transport.close()


@dataclass
class ChurnStats:
    connections: int = 0
    connect_errors: int = 0
    live: int = 0
    peak: int = 0
    graceful: int = 0
    aborted: int = 0
    never_read: int = 0
    bytes: int = 0
    connect_error_kinds: dict = field(default_factory=dict)
    handshake_ms: list = field(default_factory=list)


async def _churn_slot(port: int, stop_at: float, stats: ChurnStats, rng: random.Random,
                      hold: tuple[float, float], connect_timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        never_reads = rng.random() < 0.1
        began = loop.time()
        try:
            ws = await ws_connect(port, rng.choice(["/ws", "/stream", "/market/ws", "/public/stream"]),
                                  rcvbuf=4096 if never_reads else None, walk=False, timeout=connect_timeout)
        except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
            stats.connect_errors += 1
            kind = type(exc).__name__
            stats.connect_error_kinds[kind] = stats.connect_error_kinds.get(kind, 0) + 1
            await asyncio.sleep(0.05)
            continue
        stats.connections += 1
        stats.handshake_ms.append(round((loop.time() - began) * 1000, 1))
        stats.live += 1
        stats.peak = max(stats.peak, stats.live)
        try:
            ws.send(json.dumps({"method": "SUBSCRIBE", "params": rng.sample(STREAMS, rng.randint(1, 3)),
                                "id": stats.connections}))
            if never_reads:
                stats.never_read += 1
                ws.transport.pause_reading()
            await asyncio.sleep(min(rng.uniform(*hold), max(0.0, stop_at - loop.time())))
            if ws.done.done():  # the server dropped it (a client that never reads)
                pass
            elif rng.random() < 0.5:
                stats.graceful += 1
                ws.transport.resume_reading()
                ws.transport.write(CLOSE_FRAME)
                try:
                    await asyncio.wait_for(ws.done, 5)
                except asyncio.TimeoutError:
                    ws.transport.abort()
            else:
                stats.aborted += 1
                ws.transport.abort()
        finally:
            stats.live -= 1
            stats.bytes += ws.bytes
            if not ws.done.done():
                ws.transport.abort()


async def churn(port: int, clients: int, seconds: float, hold: tuple[float, float] = (0.2, 2.0),
                seed: int = 7, ramp: float = 1.0, connect_timeout: float = 10) -> ChurnStats:
    """`clients` slots connecting, subscribing and leaving for `seconds` (slots start over `ramp` s)."""
    stats = ChurnStats()
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds
    rng = random.Random(seed)

    async def slot(i: int) -> None:
        await asyncio.sleep(ramp * i / max(1, clients))
        await _churn_slot(port, stop_at, stats, random.Random(rng.random()), hold, connect_timeout)

    await asyncio.gather(*(slot(i) for i in range(clients)))
    if clients == 0:  # a control run: the replay, the healthy clients and the bot only
        await asyncio.sleep(max(0.0, stop_at - loop.time()))
    return stats


@dataclass
class BotStats:
    orders: int = 0
    rejected: int = 0
    errors: list = field(default_factory=list)


async def bot(session: aiohttp.ClientSession, base: str, stop: asyncio.Event, interval: float = 0.02,
              symbol: str = "BTCUSDT") -> BotStats:
    """MARKET orders, alternating sides, until `stop` is set."""
    stats = BotStats()
    side = "BUY"
    while not stop.is_set():
        try:
            async with session.post(f"{base}/fapi/v1/order", params={
                    "symbol": symbol, "side": side, "type": "MARKET", "quantity": "0.01",
                    "newOrderRespType": "RESULT"}) as resp:
                body = await resp.json()
            if resp.status == 200:
                stats.orders += 1
                side = "SELL" if side == "BUY" else "BUY"
            else:
                stats.rejected += 1
                if len(stats.errors) < 5:
                    stats.errors.append(body)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            stats.errors.append(repr(exc))
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass
    return stats


async def all_fills(session: aiohttp.ClientSession, base: str, symbol: str = "BTCUSDT") -> set[tuple]:
    """Every fill of the current run as the client sees it: (trade id, order id, price, qty)."""
    out: set[tuple] = set()
    from_id = 0
    while True:
        async with session.get(f"{base}/fapi/v1/userTrades",
                               params={"symbol": symbol, "limit": "1000", "fromId": str(from_id)}) as resp:
            page = await resp.json()
            assert resp.status == 200, page
        out.update((t["id"], t["orderId"], float(t["price"]), float(t["qty"])) for t in page)
        if len(page) < 1000:
            return out
        from_id = max(t["id"] for t in page) + 1


def db_fills(path: str, run_id: str) -> set[tuple]:
    import duckdb
    con = duckdb.connect(path, read_only=True)
    try:
        rows = con.execute("SELECT trade_id, order_id, price, qty FROM trades_fills WHERE run_id = ?::UUID",
                           [run_id]).fetchall()
    finally:
        con.close()
    return set(rows)


# --- the long run against a real gateway process ---------------------------------------------

def _listen_overflows() -> Optional[int]:
    """Linux: SYNs dropped because an accept queue was full (system-wide counter)."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
        head, values = lines[0].split(), lines[1].split()
        return int(dict(zip(head, values))["ListenOverflows"])
    except (OSError, KeyError, IndexError, ValueError):
        return None


def _percentiles(values: list) -> list:
    if not values:
        return []
    v = sorted(values)
    return [v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))], v[-1]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_dataset(path: str, days: int) -> None:
    sys.path.insert(0, REPO)
    import duckdb
    from exsim.store import demo
    con = duckdb.connect(path)
    demo.generate(con, seed=7, start_ms=demo.DEMO_START_MS, end_ms=demo.DEMO_START_MS + days * DAY_MS,
                  symbols={"BTCUSDT": demo.DEMO_SYMBOLS["BTCUSDT"]})
    con.close()


async def _poll_status(session, base: str, stop: asyncio.Event, samples: list) -> None:
    while not stop.is_set():
        async with session.get(f"{base}/admin/status") as resp:
            st = await resp.json()
        samples.append((time.monotonic(), st["bars_done"], st["ws_clients"], st["bars_per_sec_actual"]))
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except asyncio.TimeoutError:
            pass


async def run(args) -> dict:
    import psutil
    work = tempfile.mkdtemp(prefix="exsim-churn-")
    db = os.path.join(work, "exsim.duckdb")
    total_s = args.warmup + args.seconds + 30
    days = int(args.speed * total_s * 1.3 / 1440) + 2
    _make_dataset(db, days)
    cfg = os.path.join(work, "exsim.toml")
    with open(cfg, "w") as f:
        f.write('log_level = "WARNING"\n')
    port = _free_port()
    log = open(os.path.join(work, "gateway.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "exsim", "--config", cfg, "--duckdb-path", db, "--port",
                             str(port), "--speed", "0"], cwd=work, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")})
    base = f"http://127.0.0.1:{port}"
    fig: dict = {"clients": args.clients, "seconds": args.seconds, "speed": args.speed, "dataset_days": days}
    failures: list[str] = []
    healthy: list[Healthy] = []
    try:
        ps = psutil.Process(proc.pid)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for _ in range(600):
                try:
                    async with session.get(f"{base}/admin/status") as resp:
                        status = await resp.json()
                        break
                except aiohttp.ClientError:
                    if proc.poll() is not None:
                        raise RuntimeError(f"gateway exited with {proc.returncode}; see {work}/gateway.log")
                    await asyncio.sleep(0.1)
            run_id, first_bars = status["run_id"], status["bars_done"]
            first_open = status["sim_time"]  # the next bar to close opens here
            healthy = [await Healthy(port, "/ws" if i % 2 == 0 else "/stream").start() for i in range(args.healthy)]
            stop_bot, stop_poll = asyncio.Event(), asyncio.Event()
            samples: list = []
            poller = asyncio.ensure_future(_poll_status(session, base, stop_poll, samples))
            trader = asyncio.ensure_future(bot(session, base, stop_bot, args.bot_interval))
            async with session.post(f"{base}/admin/replay", json={"speed_bars_per_sec": args.speed}) as resp:
                assert resp.status == 200, await resp.text()

            warm = await churn(port, args.clients, args.warmup, (args.hold_min, args.hold_max), seed=1,
                               ramp=args.ramp, connect_timeout=args.connect_timeout)
            await asyncio.sleep(args.settle)
            rss_before = ps.memory_info().rss
            me = psutil.Process()
            cpu0, my0 = sum(ps.cpu_times()[:2]), sum(me.cpu_times()[:2])
            overflows0 = _listen_overflows()
            t0, bars0 = time.monotonic(), samples[-1][1] if samples else first_bars
            rss_rounds = []
            main = ChurnStats()
            for r in range(args.rounds):  # the measured time split in rounds, RSS read after each
                part = await churn(port, args.clients, args.seconds / args.rounds,
                                   (args.hold_min, args.hold_max), seed=2 + r, ramp=args.ramp,
                                   connect_timeout=args.connect_timeout)
                for k, v in vars(part).items():
                    if isinstance(v, list):
                        getattr(main, k).extend(v)
                    elif isinstance(v, int):
                        setattr(main, k, max(getattr(main, k), v) if k == "peak" else getattr(main, k) + v)
                    else:
                        for kk, vv in v.items():
                            getattr(main, k)[kk] = getattr(main, k).get(kk, 0) + vv
                rss_rounds.append(round(ps.memory_info().rss / 2**20, 1))
            t1 = time.monotonic()
            cpu1, my1 = sum(ps.cpu_times()[:2]), sum(me.cpu_times()[:2])
            overflows1 = _listen_overflows()
            after = [s for s in samples if s[0] >= t0]
            bars1 = after[-1][1] if after else bars0
            await asyncio.sleep(args.settle)
            rss_after = ps.memory_info().rss
            ws_clients_after = samples[-1][2] if samples else None

            async with session.post(f"{base}/admin/pause") as resp:
                assert resp.status == 200
            stop_bot.set()
            bot_stats = await trader
            await asyncio.sleep(0.5)
            async with session.get(f"{base}/admin/status") as resp:
                status = await resp.json()
            stop_poll.set()
            await poller
            bars_done = status["bars_done"]
            expected = bars_done - first_bars
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(len(h.klines) < expected for h in healthy):
                await asyncio.sleep(0.1)
            for h in healthy:
                failures += h.problems(first_open, expected)
            acked = await all_fills(session, base)
            for h in healthy:
                h.close()

            window = [s for s in samples if t0 <= s[0] <= t1]
            pace = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else 0.0
            fig.update({
                "connections_made": warm.connections + main.connections,
                "clients_held_peak_client_side": max(warm.peak, main.peak),
                "clients_held_peak_server_side": max((s[2] for s in samples), default=0),
                "connect_errors": warm.connect_errors + main.connect_errors,
                "connect_error_kinds": {k: warm.connect_error_kinds.get(k, 0) + main.connect_error_kinds.get(k, 0)
                                        for k in {**warm.connect_error_kinds, **main.connect_error_kinds}},
                "handshake_ms_p50_p99_max": _percentiles(main.handshake_ms),
                "churn_graceful": warm.graceful + main.graceful, "churn_aborted": warm.aborted + main.aborted,
                "churn_never_read": warm.never_read + main.never_read,
                "churn_mbytes_received": round((warm.bytes + main.bytes) / 2**20, 1),
                "dropped_clients_server": status["dropped_clients"],
                "ws_clients_after_churn": ws_clients_after,
                "rss_before_mb": round(rss_before / 2**20, 1), "rss_after_mb": round(rss_after / 2**20, 1),
                "rss_growth_mb": round((rss_after - rss_before) / 2**20, 1),
                "rss_after_each_round_mb": rss_rounds,
                "gateway_cpu_share": round((cpu1 - cpu0) / (t1 - t0), 2),
                "load_generator_cpu_share": round((my1 - my0) / (t1 - t0), 2),
                "listen_queue_overflows": (overflows1 - overflows0) if overflows0 is not None else None,
                "bars_done": bars_done, "bars_in_measured_round": bars1 - bars0,
                "pace_bars_per_sec": round(pace, 1),
                "pace_vs_target": round(pace / args.speed, 4) if args.speed else None,
                "healthy_clients": len(healthy), "healthy_klines_each": [len(h.klines) for h in healthy],
                "bars_lost": sum(max(0, expected - len(h.klines)) for h in healthy),
                "bot_orders": bot_stats.orders, "bot_rejected": bot_stats.rejected, "bot_errors": bot_stats.errors[:3],
                "fills_acked": len(acked),
            })
            if ws_clients_after is not None and ws_clients_after > len(healthy):
                failures.append(f"{ws_clients_after} clients still registered after churn "
                                f"(expected the {len(healthy)} healthy ones)")
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(15)
        stored = db_fills(db, run_id)
        lost = acked - stored
        fig.update({"fills_stored": len(stored), "fills_lost": len(lost), "gateway_exit_code": rc})
        if lost:
            failures.append(f"{len(lost)} acknowledged fills missing from trades_fills")
        if rc != 0:
            failures.append(f"gateway exit code {rc} on SIGTERM")
        if fig["bars_lost"]:
            failures.append(f"{fig['bars_lost']} bars lost by healthy clients")
        if fig["rss_growth_mb"] > args.rss_slack_mb:
            failures.append(f"RSS grew {fig['rss_growth_mb']} MB over the measured churn round")
        if args.speed and abs(fig["pace_vs_target"] - 1) > args.pace_tolerance:
            failures.append(f"pace {fig['pace_bars_per_sec']} bars/s is not within "
                            f"{args.pace_tolerance:.0%} of {args.speed}")
        if bot_stats.orders == 0:
            failures.append("the bot placed no order")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
        for h in healthy:
            if h.ws is not None and h.ws.transport is not None:
                h.ws.transport.abort()
        fig["failures"] = failures
        if args.keep:
            fig["workdir"] = work
        else:
            shutil.rmtree(work, ignore_errors=True)
    return fig


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=1000, help="churning client slots (default 1000)")
    p.add_argument("--seconds", type=float, default=60.0, help="measured churn round (default 60)")
    p.add_argument("--warmup", type=float, default=20.0, help="warm-up churn round before RSS is taken")
    p.add_argument("--speed", type=float, default=1000.0, help="replay bars/s (default 1000)")
    p.add_argument("--rounds", type=int, default=3, help="split the measured time in rounds (RSS after each)")
    p.add_argument("--healthy", type=int, default=10)
    p.add_argument("--hold-min", type=float, default=1.0, help="seconds a churning client stays, at least")
    p.add_argument("--hold-max", type=float, default=10.0, help="... and at most")
    p.add_argument("--ramp", type=float, default=5.0, help="seconds over which the slots start")
    p.add_argument("--connect-timeout", type=float, default=30.0)
    p.add_argument("--bot-interval", type=float, default=0.02, help="seconds between the bot's orders")
    p.add_argument("--settle", type=float, default=3.0, help="seconds after a round before RSS is read")
    p.add_argument("--rss-slack-mb", type=float, default=20.0)
    p.add_argument("--pace-tolerance", type=float, default=0.05)
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--keep", action="store_true", help="keep the tmp folder (database, gateway log)")
    args = p.parse_args(argv)
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    fig = asyncio.run(run(args))
    for key, value in fig.items():
        print(f"{key}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=2)
    print("RESULT:", "FAIL" if fig["failures"] else "OK")
    return 1 if fig["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""`exsim run-bot -- python bot.py`: an unmodified Python bot reads the gateway's sim time from
time.time / datetime.now / utcnow / date.today, and its time.sleep / asyncio.sleep end when the
replay reaches the sim time it asked for; monotonic clocks stay wall time; the child's exit
code comes back; no gateway means wall time and real sleeps, with one warning.

The gateway runs in a thread of the test process (tests/live.py) on 127.0.0.1; the bot is a
real child process started through exsim.run_bot.main."""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from aiohttp import web

from exsim.wire import bot_clock
from exsim.wire.app import create_app
from exsim.wire.keys import REPLAY, SIM

from .live import LiveServer
from .process import REPO, free_port

TIMEOUT = 30.0  # a bound for a hung bot, not a speed expectation
YEAR_S = 365 * 86400
RUN_BOT = "import sys; from exsim.run_bot import main; sys.exit(main(sys.argv[1:]))"


class ClockServer(LiveServer):
    """LiveServer with /admin/clock (registered here if app.py does not do it yet)."""

    async def _start(self) -> None:
        self.app = create_app(self.cfg)
        if not any(r.resource is not None and r.resource.canonical == bot_clock.PATH
                   for r in self.app.router.routes()):
            bot_clock.add_routes(self.app)
        self.runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def state(self, fn):
        """fn(app) evaluated in the server's loop."""
        async def read():
            return fn(self.app)
        return self.run(read())


@pytest.fixture
def gateway(make_config):
    servers = []

    def start(**overrides) -> ClockServer:
        server = ClockServer(make_config(**overrides))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def bot_argv(tmp_path, source: str, *flags: str) -> list[str]:
    script = tmp_path / "bot.py"
    script.write_text(textwrap.dedent(source))
    return [sys.executable, "-c", RUN_BOT, *flags, "--", "python", str(script)]


def bot_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("EXSIM_GATEWAY", "EXSIM_ADMIN_TOKEN", "ADMIN_TOKEN")}
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_bot(tmp_path, source: str, *flags: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(bot_argv(tmp_path, source, *flags), cwd=str(tmp_path), env=bot_env(**env),
                          capture_output=True, text=True, timeout=TIMEOUT)


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def server_time(gw: ClockServer) -> int:
    return gw.admin("/fapi/v1/time", method="GET")["serverTime"]


def test_time_and_datetime_read_the_gateways_sim_time_and_the_exit_code_comes_back(gateway, tmp_path):
    gw = gateway()  # paused: sim time stands still while the bot reads it
    done = run_bot(tmp_path, """
        import datetime, json, time
        from datetime import datetime as dt, timezone
        print(json.dumps({"time": time.time(), "time_ns": time.time_ns(),
                          "now_utc": dt.now(timezone.utc).timestamp(),
                          "utcnow": dt.utcnow().replace(tzinfo=timezone.utc).timestamp(),
                          "today": datetime.date.today().isoformat(),
                          "gmtime": list(time.gmtime()[:6]), "strftime": time.strftime("%Y")}))
        raise SystemExit(7)  # run-bot returns the bot's exit code
    """, "--gateway", gw.url)
    assert done.returncode == 7, done.stderr
    rec = records(done.stdout)[0]
    sim_s = server_time(gw) / 1000
    interval_s = 60
    for key in ("time", "now_utc", "utcnow"):
        assert abs(rec[key] - sim_s) <= interval_s, (key, rec[key], sim_s)
        assert abs(rec[key] - time.time()) > YEAR_S / 2, "years away from wall time"  # demo data: 2024
    assert abs(rec["time_ns"] / 1e9 - sim_s) <= interval_s
    assert rec["today"].startswith("2024-") and rec["strftime"] == "2024" and rec["gmtime"][0] == 2024
    assert "WALL time" not in done.stderr


def test_a_bot_sleeping_to_each_next_minute_runs_at_replay_speed(gateway, tmp_path):
    gw = gateway(speed=100.0)  # 100 bars/s: 20 sim minutes in about 0.2 wall seconds
    began = time.monotonic()
    done = run_bot(tmp_path, """
        import json, time
        for i in range(20):
            before = time.time()
            target = (int(before) // 60 + 1) * 60  # the next candle, by the bot's own clock
            time.sleep(target - before)
            print(json.dumps({"before": before, "target": target, "woke": time.time()}), flush=True)
    """, "--gateway", gw.url)
    wall = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    recs = records(done.stdout)
    assert len(recs) == 20
    for prev, rec in zip(recs, recs[1:]):
        assert rec["woke"] - prev["woke"] >= 60, (prev, rec)
        assert rec["target"] - prev["target"] >= 60
    for rec in recs:
        assert rec["woke"] >= rec["target"] > rec["before"]
    assert recs[-1]["woke"] - recs[0]["before"] >= 20 * 60 > wall  # 20 sim minutes, not 20 wall ones


def test_asyncio_sleep_follows_sim_time_and_monotonic_stays_wall(gateway, tmp_path):
    gw = gateway(speed=100.0)
    began = time.monotonic()
    done = run_bot(tmp_path, """
        import asyncio, json, time

        async def nap(seconds):
            t = time.time()
            await asyncio.sleep(seconds)
            return time.time() - t

        async def main():
            loop = asyncio.get_running_loop()
            m0, l0, p0, t0 = time.monotonic(), loop.time(), time.perf_counter(), time.time()
            a, b = await asyncio.gather(nap(60), nap(150))
            try:  # wait_for's timeout is the loop's clock: wall time; its sleep's alarm goes away
                await asyncio.wait_for(asyncio.sleep(10 * 86400), 0.1)
                timed_out = False
            except asyncio.TimeoutError:
                timed_out = True
            print(json.dumps({"a": a, "b": b, "timed_out": timed_out, "sim": time.time() - t0,
                              "mono": time.monotonic() - m0, "loop": loop.time() - l0,
                              "perf": time.perf_counter() - p0}))

        asyncio.run(main())
    """, "--gateway", gw.url)
    wall = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    rec = records(done.stdout)[0]
    assert rec["a"] >= 60 and rec["b"] >= 150 and rec["timed_out"]
    for key in ("mono", "loop", "perf"):
        assert 0 <= rec[key] <= wall, (key, rec)  # wall seconds: no more than the run took
    assert rec["sim"] >= 150 > wall


def test_a_sleep_registers_an_alarm_and_ends_exactly_when_the_replay_reaches_it(gateway, tmp_path):
    gw = gateway()  # paused: only our steps move sim time
    proc = subprocess.Popen(bot_argv(tmp_path, """
        import json, time
        t = time.time()
        time.sleep(150)  # 2.5 bars of 1m
        print(json.dumps({"slept_from": t, "woke": time.time()}), flush=True)
    """, "--gateway", gw.url), cwd=str(tmp_path), env=bot_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        start = gw.state(lambda app: app[SIM].sim_time)
        while gw.state(lambda app: app[REPLAY].wakeups.earliest()) is None:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the bot never registered its alarm"
            time.sleep(0.01)
        assert gw.state(lambda app: app[REPLAY].wakeups.earliest()) == start + 150_000
        assert gw.state(lambda app: list(app[REPLAY].wakeups.pids.values()))  # its pid, for lockstep
        gw.step(2)  # 120 s: not there yet
        assert gw.state(lambda app: app[REPLAY].wakeups.sleeping()) == 1
        gw.step(1)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    rec = records(out)[0]
    assert round(rec["slept_from"] * 1000) == start and round(rec["woke"] * 1000) == start + 180_000
    assert gw.state(lambda app: app[REPLAY].wakeups.sleeping()) == 0


def test_no_gateway_means_wall_time_real_sleeps_and_one_warning(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    done = run_bot(tmp_path, """
        import asyncio, json, time
        t0 = time.monotonic()
        time.sleep(0.05)
        asyncio.run(asyncio.sleep(0.05))
        print(json.dumps({"time": time.time(), "slept": time.monotonic() - t0}))
    """, "--gateway", url, "--wait", "0.5")
    assert done.returncode == 0, done.stderr
    rec = records(done.stdout)[0]
    assert abs(rec["time"] - time.time()) < 3600 and rec["slept"] >= 0.1
    assert done.stderr.count("exsim run-bot:") == 1 and "WALL time" in done.stderr, done.stderr


def test_the_gateways_admin_token_is_needed_and_enough(gateway, tmp_path):
    gw = gateway(admin_token="s3cret")
    source = "import json, time; print(json.dumps({'time': time.time()}))\n"
    refused = run_bot(tmp_path, source, "--gateway", gw.url, "--wait", "2")
    assert refused.returncode == 0 and "401" in refused.stderr and "WALL time" in refused.stderr
    assert abs(records(refused.stdout)[0]["time"] - time.time()) < 3600
    allowed = run_bot(tmp_path, source, "--gateway", gw.url, "--token", "s3cret")
    assert allowed.returncode == 0 and "WALL time" not in allowed.stderr, allowed.stderr
    assert abs(records(allowed.stdout)[0]["time"] * 1000 - server_time(gw)) <= 60_000


def test_sigterm_to_run_bot_reaches_the_bot(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(bot_argv(tmp_path, """
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))
        print("ready", flush=True)
        time.sleep(60)
    """, "--gateway", url, "--wait", "0.2"), cwd=str(tmp_path), env=bot_env(),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            assert sel.select(TIMEOUT), "the bot never started"
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 42
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_no_command_is_a_usage_error(capsys):
    from exsim.run_bot import main
    assert main(["--gateway", "http://127.0.0.1:1", "--"]) == 2
    assert "usage" in capsys.readouterr().err

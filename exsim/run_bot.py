"""`exsim run-bot [--gateway URL] [--token TOKEN] -- CMD ARGS...`: run a Python bot, unmodified,
on the gateway's replay clock (docs/run-bot.md).

The child gets `exsim/botclock` first on PYTHONPATH (its sitecustomize.py loads the shim at
interpreter start) and `EXSIM_GATEWAY`; stdio is inherited; SIGTERM/SIGHUP (and SIGINT, unless
it came from the terminal, which sends it to the child as well) are passed on to it; the exit
code is the child's (128 + N when signal N ended it).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from typing import Optional

DEFAULT_GATEWAY = "http://127.0.0.1:9010"
BOTCLOCK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "botclock")
# a bare `python` / `python3` is this interpreter, the one time-machine was installed for
SAME_PYTHON = ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="exsim run-bot", usage="exsim run-bot [--gateway URL] [--token TOKEN] "
                                "[--wait SECONDS] -- CMD ARGS...", description="Run a Python bot on the gateway's replay "
                                "clock: time.time, datetime.now and sleeps follow sim time.")
    p.add_argument("--gateway", default=os.environ.get("EXSIM_GATEWAY") or DEFAULT_GATEWAY,
                   help=f"the gateway's base URL (default: $EXSIM_GATEWAY or {DEFAULT_GATEWAY})")
    p.add_argument("--token", default=None,
                   help="the gateway's admin_token, if it has one (default: $EXSIM_ADMIN_TOKEN, $ADMIN_TOKEN)")
    p.add_argument("--wait", type=float, default=None,
                   help="seconds to wait for the gateway's clock at the bot's start (default 10)")
    return p


def child_env(gateway: str, token: Optional[str] = None, wait: Optional[float] = None,
              base: Optional[dict] = None) -> dict:
    env = dict(os.environ if base is None else base)
    old = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = BOTCLOCK_DIR + (os.pathsep + old if old else "")
    env["EXSIM_GATEWAY"] = gateway.rstrip("/")
    if token:
        env["EXSIM_ADMIN_TOKEN"] = token
    if wait is not None:
        env["EXSIM_BOTCLOCK_WAIT"] = str(wait)
    return env


def _from_terminal() -> bool:
    """True when we run in the terminal's foreground group: its Ctrl-C reached the child too."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def main(argv: list[str]) -> int:
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        head, cmd = argv[:i], argv[i + 1:]
    else:  # lenient: the first word that is not an option starts the command
        head, cmd = [], argv
        while cmd and cmd[0].startswith("-"):
            takes = cmd[0] in ("--gateway", "--token", "--wait")
            head += cmd[:2] if takes else cmd[:1]
            cmd = cmd[2:] if takes else cmd[1:]
    ns = _parser().parse_args(head)
    if not cmd:
        print("exsim run-bot: no command; usage: exsim run-bot [--gateway URL] -- CMD ARGS...", file=sys.stderr)
        return 2
    if cmd[0] in SAME_PYTHON:
        cmd = [sys.executable] + cmd[1:]
    elif shutil.which(cmd[0]) is None and not os.path.exists(cmd[0]):
        print(f"exsim run-bot: command not found: {cmd[0]}", file=sys.stderr)
        return 127
    env = child_env(ns.gateway, ns.token, ns.wait)
    try:
        child = subprocess.Popen(cmd, env=env)
    except OSError as exc:
        print(f"exsim run-bot: cannot start {cmd[0]}: {exc}", file=sys.stderr)
        return 126

    def forward(signum, frame) -> None:
        if signum == signal.SIGINT and _from_terminal():
            return
        if child.poll() is None:
            try:
                child.send_signal(signum)
            except OSError:
                pass

    forwarded = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {}
    for s in forwarded:
        try:
            previous[s] = signal.signal(s, forward)
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        code = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 - code if code < 0 else code

"""Command line: `exsim` (serve), `exsim config show`, `exsim init-db`, `exsim demo-data`, `exsim load`,
`exsim runs list|show|compare|export`, `exsim report`.

Exit codes: 0 ok, 1 no such run, 2 bad configuration or arguments (or no database file), 3 database
unusable (or held by a running gateway), 4 cannot listen.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import socket
import sys
import time
from typing import Optional

import duckdb

from . import config as config_mod
from .config import ConfigError
from .store.db import StoreError, open_database

log = logging.getLogger("exsim")


def _server_flags(p: argparse.ArgumentParser, default=None) -> None:
    p.add_argument("--config", default=default, help="TOML file (default: ./exsim.toml if present)")
    for flag in config_mod.FLAG_NAMES:
        if flag in config_mod.SWITCHES:
            p.add_argument(flag, dest=flag, default=default, action="store_const", const=True)
        else:
            p.add_argument(flag, dest=flag, default=default, metavar=flag[2:].upper().replace("-", "_"))


def _subcommand_flags(p: argparse.ArgumentParser) -> None:
    # The same flags again after the subcommand, but an absent one leaves no attribute at all:
    # a subparser writes its defaults over the namespace the top-level parser filled, so a
    # default of None here would undo `exsim --port 9113 serve`.
    _server_flags(p, default=argparse.SUPPRESS)


def _flags(ns: argparse.Namespace) -> dict:
    return {flag: getattr(ns, flag) for flag in config_mod.FLAG_NAMES if getattr(ns, flag, None) is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exsim", description="Local Binance USD-M futures exchange "
                                     "replaying DuckDB bars (run with no command to serve).")
    _server_flags(parser)
    sub = parser.add_subparsers(dest="cmd")
    serve = sub.add_parser("serve", help="start the gateway (the default)")
    _subcommand_flags(serve)
    cfg = sub.add_parser("config", help="configuration")
    _subcommand_flags(cfg)
    cfg_sub = cfg.add_subparsers(dest="config_cmd", required=True)
    show = cfg_sub.add_parser("show", help="print the effective config and where each value came from")
    _subcommand_flags(show)
    init = sub.add_parser("init-db", help="create the schema (idempotent)")
    init.add_argument("--db", required=True)
    dd = sub.add_parser("demo-data", help="fill the synthetic demo dataset")
    dd.add_argument("--db", required=True)
    dd.add_argument("--seed", type=int, default=7)
    dd.add_argument("--no-progress", action="store_true")
    load = sub.add_parser("load", help="load klines and funding from files or a Binance-compatible API")
    load.add_argument("--db", required=True)
    load.add_argument("--source", choices=("files", "api"), required=True)
    load.add_argument("--symbol", required=True)
    load.add_argument("--interval", default="1m")
    load.add_argument("--start")
    load.add_argument("--end")
    load.add_argument("--base-url", default="https://fapi.binance.com")
    load.add_argument("--kind", choices=("klines", "mark"), default=None,
                      help="klines (default) or mark-price klines; files under a markPriceKlines "
                           "folder are mark-price klines unless told otherwise")
    load.add_argument("--no-progress", action="store_true")
    load.add_argument("paths", nargs="*", help="files, folders or globs (--source files)")
    _runs_parsers(sub)
    return parser


def _runs_parsers(sub) -> None:
    """`exsim runs list|show|compare|export` and `exsim report`."""
    def source(p: argparse.ArgumentParser, url: bool = True) -> None:
        p.add_argument("--db", help="DuckDB file (default: the configured duckdb_path)")
        if url:
            p.add_argument("--url", help="ask a running gateway instead (GET URL/admin/runs)")
            p.add_argument("--token", help="the gateway's admin_token (default: $ADMIN_TOKEN)")
            p.add_argument("--json", action="store_true", help="print JSON")

    runs = sub.add_parser("runs", help="list, show, compare and export stored runs")
    runs_sub = runs.add_subparsers(dest="runs_cmd", required=True)
    ls = runs_sub.add_parser("list", help="every run, newest first")
    source(ls)
    ls.add_argument("--limit", type=int, default=None)
    show = runs_sub.add_parser("show", help="every metric of one run")
    show.add_argument("run_id", help="a run id or a unique prefix of one")
    source(show)
    cmp_ = runs_sub.add_parser("compare", help="runs side by side")
    cmp_.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    source(cmp_)
    exp = runs_sub.add_parser("export", help="every row of one run as a DuckDB file or a csv/parquet folder")
    exp.add_argument("run_id")
    exp.add_argument("--format", choices=("csv", "parquet", "duckdb"), required=True)
    exp.add_argument("--out", required=True, help="the file (duckdb) or folder (csv, parquet) to create")
    source(exp, url=False)
    ver = sub.add_parser("verify", help="re-execute a run's journal offline and check orders, fills, income "
                         "and equity are identical (exit 1 naming the first difference)")
    ver.add_argument("run_id", help="a run id or a unique prefix of one")
    source(ver, url=False)
    rr = sub.add_parser("replay-run", help="re-run a run's journal with other settings into a new run; "
                        "print both side by side")
    rr.add_argument("run_id", help="a run id or a unique prefix of one")
    rr.add_argument("--with", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for the new run, e.g. taker_bps=5 (repeatable)")
    source(rr, url=False)
    rr.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("run-bot", help="run a Python bot unmodified on the replay clock: "
                   "exsim run-bot [--gateway URL] -- CMD ARGS...")
    rep = sub.add_parser("report", help="an offline HTML report of one run, with its charts as PNG files")
    rep.add_argument("run_id")
    source(rep, url=False)
    rep.add_argument("--out", help="folder for report.html and the PNGs (default: reports/<run_id>)")
    rep.add_argument("--account", help="whose charts (default: the run's first account)")
    rep.add_argument("--no-progress", action="store_true")


def load_config(ns: argparse.Namespace) -> config_mod.Loaded:
    return config_mod.load(ns.config, flags=_flags(ns))


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    head = args[:args.index("--")] if "--" in args else args
    if "run-bot" in head:  # everything after it is the bot's command line, untouched
        from .run_bot import main as run_bot
        return run_bot(args[args.index("run-bot") + 1:])
    ns = build_parser().parse_args(args)
    try:
        if ns.cmd in (None, "serve"):
            loaded = load_config(ns)
            logging.basicConfig(level=loaded.config.log_level.upper(),
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            return serve(loaded.config)
        if ns.cmd == "config":
            print(config_mod.show(load_config(ns)))
            return 0
        logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
        if ns.cmd == "init-db":
            open_database(ns.db).close()
            print(f"schema ready in {ns.db}")
            return 0
        if ns.cmd == "demo-data":
            from .progress import Progress
            from .store import demo
            con = open_database(ns.db)
            began = time.perf_counter()
            with Progress("demo data", len(demo.DEMO_SYMBOLS), unit="symbols", enabled=not ns.no_progress) as bar:
                demo.generate(con, ns.seed, progress=bar)
            con.close()
            print(f"synthetic demo data (seed {ns.seed}) written to {ns.db} in {time.perf_counter() - began:.1f} s")
            return 0
        if ns.cmd == "load":
            return run_load(ns)
        if ns.cmd in ("verify", "replay-run"):
            from . import rerun_cli
            return rerun_cli.main(ns, lambda: load_config(ns).config)
        if ns.cmd in ("runs", "report"):
            from . import runs_cli
            return runs_cli.main(ns, lambda: load_config(ns).config)
    except ConfigError as exc:
        print(f"exsim: config error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"exsim: database error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:  # Ctrl-C before the server installed its signal handlers
        print("exsim: interrupted while starting", file=sys.stderr)
        return 130
    except duckdb.Error as exc:  # e.g. a corrupt block first read while the app starts
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"exsim: database error: {text}", file=sys.stderr)
        return 3
    return 2


def run_load(ns: argparse.Namespace) -> int:
    from .store import loader
    from .timeutil import INTERVAL_MS, parse_time_ms
    if ns.interval not in INTERVAL_MS:
        print(f"exsim: --interval: expected one of {' '.join(INTERVAL_MS)}", file=sys.stderr)
        return 2
    try:
        start = parse_time_ms(ns.start) if ns.start else None
        end = parse_time_ms(ns.end) if ns.end else None
    except ValueError:
        print("exsim: --start/--end: expected a date like 2024-01-01 or epoch ms", file=sys.stderr)
        return 2
    con = open_database(ns.db)
    try:
        if ns.source == "files":
            if not ns.paths:
                print("exsim: --source files needs at least one path", file=sys.stderr)
                return 2
            mark = ns.kind == "mark" or (ns.kind is None and loader.is_mark_path(ns.paths))
            report = loader.load_files(con, ns.paths, ns.symbol.upper(), ns.interval, start, end, mark=mark)
        else:
            if start is None or end is None:
                print("exsim: --source api needs --start and --end", file=sys.stderr)
                return 2
            report = loader.load_api(con, ns.symbol.upper(), ns.interval, start, end, ns.base_url,
                                     progress=not ns.no_progress, mark=ns.kind == "mark")
    except loader.LoadError as exc:
        print(f"exsim: load failed, database unchanged: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    print(f"{report.table} {report.symbol}: {report.rows_new} new rows, {report.rows_overlap} already "
          f"present, {report.funding_rows} funding rows, {report.gaps_total} gap(s) in {report.seconds:.1f} s")
    for before, after in report.gaps:
        print(f"  gap: {before} -> {after}")
    return 0


def serve(cfg) -> int:
    from .wire.app import prepare_database
    con = prepare_database(cfg)
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover - Windows
        pass
    return asyncio.run(_serve(cfg, con))


async def _serve(cfg, con) -> int:
    from aiohttp import web
    from .wire import access_log
    from .wire.app import create_app
    from .wire.keys import REPLAY
    # Bind first: a port in use must fail before the app starts, which opens (and records) a run.
    try:
        sock = _listen(cfg.host, cfg.port)
    except OSError as exc:
        con.close()
        print(f"exsim: cannot listen on {cfg.host}:{cfg.port}: {exc.strerror}", file=sys.stderr)
        return 4
    app = create_app(cfg, con)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=2.0, **access_log.setup(app, cfg))
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    from .wire.keys import SIM
    log.info("ExSim listening on http://%s:%d (%s %s, speed %s)", cfg.host, cfg.port,
             ",".join(app[SIM].markets), cfg.interval, cfg.speed)
    # The cyclic GC stops the loop for as long as it walks the heap (~0.35 us per object on a
    # small machine). What is alive now (modules, app, config) lives as long as the process:
    # freeze it, so full collections stop walking it (~50k objects, 15-20 ms each time).
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    exit_wait = asyncio.ensure_future(app[REPLAY].exit_requested.wait())
    stop_wait = asyncio.ensure_future(stop.wait())
    await asyncio.wait({exit_wait, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    exit_wait.cancel()
    stop_wait.cancel()
    log.info("shutting down: flushing fills, closing clients")
    await runner.cleanup()
    log.info("stopped")
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (what aiohttp's TCPSite would open)."""
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

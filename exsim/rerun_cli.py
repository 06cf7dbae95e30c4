"""`exsim verify RUN_ID` and `exsim replay-run RUN_ID --with KEY=VALUE ...` (exsim/rerun.py)."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

import msgspec

from .rerun import Refused, replay_run, verify
from .replay import journal_folder


def _overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Refused(f"--with {item!r}: expected KEY=VALUE, e.g. taker_bps=5")
        out[key.strip()] = value.strip()
    return out


def main(ns: argparse.Namespace, config: Callable[[], object]) -> int:
    from .store.run_metrics import DatabaseMissing, UnknownRun
    cfg = config()
    db = ns.db or cfg.duckdb_path
    folder = journal_folder(msgspec.structs.replace(cfg, duckdb_path=db))  # beside the database read
    try:
        if ns.cmd == "verify":
            ok, text = verify(db, ns.run_id, folder)
            print(f"exsim verify: {text}", file=sys.stdout if ok else sys.stderr)
            return 0 if ok else 1
        old, new = replay_run(db, ns.run_id, _overrides(ns.overrides), folder)
        from .runs_cli import _compare
        from .store.run_metrics import open_read_only, run_metrics
        con = open_read_only(db)
        try:
            _compare([run_metrics(con, old), run_metrics(con, new)], ns.json)
        finally:
            con.close()
        if not ns.json:
            print(f"new run {new} (the journal of {old} with {', '.join(ns.overrides) or 'no change'})")
        return 0
    except (Refused, UnknownRun, DatabaseMissing) as exc:
        print(f"exsim {ns.cmd}: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, UnknownRun) else 2

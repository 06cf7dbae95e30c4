"""`exsim runs list|show|compare|export` and `exsim report` (argument parsing is in cli.py).

They read the database read-only, so they can run beside each other; DuckDB lets no other
process open a file while a gateway writes it: then they say so (exit 3), and list/show/compare
can ask the gateway instead with `--url http://HOST:PORT` (GET /admin/runs). Errors are one
line on stderr: exit 1 no such run, 2 bad arguments or no database file, 3 database unusable.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Callable, Optional

import msgspec

from .store.db import StoreError
from .store.run_metrics import BUSY_HINT, RunMetrics, RunSummary

BUSY_HINT_FILE = "stop it, or run this on a copy of the file"


def _err(text: str, code: int) -> int:
    print(f"exsim: {text}", file=sys.stderr)
    return code


def _tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _print_json(obj) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(obj), indent=2).decode() + "\n")


class _Gateway:
    """The same data from a running gateway's /admin/runs."""

    def __init__(self, url: str, token: Optional[str]) -> None:
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("ADMIN_TOKEN", "")

    def _get(self, path: str) -> bytes:
        from .store.run_metrics import UnknownRun
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers), timeout=60) as r:
                return r.read()
        except urllib.error.HTTPError as exc:
            try:
                msg = json.loads(exc.read()).get("msg", "")
            except ValueError:
                msg = exc.reason
            if exc.code == 404 and path.startswith("/admin/runs/"):
                raise UnknownRun(str(msg).rstrip(".")) from None
            raise StoreError(f"gateway {self.url}: HTTP {exc.code} {msg}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreError(f"cannot reach the gateway at {self.url}: {reason}") from None

    def list(self, limit: Optional[int]) -> list[RunSummary]:
        query = f"?limit={limit}" if limit is not None else ""
        return msgspec.json.decode(self._get("/admin/runs" + query), type=list[RunSummary])

    def show(self, run_id: str) -> RunMetrics:
        from urllib.parse import quote
        return msgspec.json.decode(self._get("/admin/runs/" + quote(run_id, safe="")), type=RunMetrics)


class _File:
    def __init__(self, path: str, hint: str = BUSY_HINT) -> None:
        from .store import run_metrics
        self.con = run_metrics.open_read_only(path, busy_hint=hint)

    def list(self, limit: Optional[int]) -> list[RunSummary]:
        from .store import run_metrics
        return run_metrics.list_runs(self.con, limit)

    def show(self, run_id: str) -> RunMetrics:
        from .store import run_metrics
        return run_metrics.run_metrics(self.con, run_id)

    def close(self) -> None:
        self.con.close()


def main(ns: argparse.Namespace, config: Callable[[], object]) -> int:
    from .store.run_metrics import DatabaseMissing, UnknownRun
    db = ns.db or config().duckdb_path
    source = None
    try:
        if ns.cmd == "report":
            return _report(ns, db)
        if ns.runs_cmd == "export":
            return _export(ns, db)
        if ns.runs_cmd == "list" and ns.limit is not None and ns.limit < 1:
            return _err("--limit: expected a positive number", 2)
        source = _Gateway(ns.url, ns.token) if ns.url else _File(db)
        if ns.runs_cmd == "list":
            _list(source.list(ns.limit), ns.json)
        elif ns.runs_cmd == "show":
            _show(source.show(ns.run_id), ns.json)
        else:
            _compare([source.show(r) for r in ns.run_ids], ns.json)
        return 0
    except UnknownRun as exc:
        return _err(str(exc), 1)
    except DatabaseMissing as exc:
        return _err(str(exc), 2)
    except BrokenPipeError:  # `exsim runs list | head`
        sys.stderr.close()
        return 0
    finally:
        if isinstance(source, _File):
            source.close()


def _list(runs: list[RunSummary], as_json: bool) -> None:
    from .report import format as fmt
    if as_json:
        _print_json(runs)
        return
    tty = _tty()
    if not runs and tty:
        print("no runs in this database")
        return
    print(fmt.text_table(fmt.SUMMARY_HEADER, [fmt.summary_cells(s, tty) for s in runs], tty))


def _show(m: RunMetrics, as_json: bool) -> None:
    from .report import format as fmt
    if as_json:
        _print_json(m)
        return
    tty = _tty()
    run = fmt.run_rows(m)
    width = max(len(label) for label, _ in run)
    print("\n".join(f"{label.ljust(width)}  {value}" if tty else f"{label}\t{value}" for label, value in run))
    print()
    header = ["metric"] + [a.account for a in m.accounts]
    rows = [[label] + [show(a) for a in m.accounts] for label, show in fmt.ACCOUNT_ROWS]
    print(fmt.text_table(header, rows, tty))


def _compare(runs: list[RunMetrics], as_json: bool) -> None:
    """The runs side by side, each with its default (first) account."""
    from .report import format as fmt
    if as_json:
        _print_json(runs)
        return
    tty = _tty()
    header = ["metric"] + [m.run_id[:8] if tty else m.run_id for m in runs]
    rows = [["created"] + [m.created or fmt.DASH for m in runs],
            ["status"] + [m.status or fmt.DASH for m in runs],
            ["symbols"] + [",".join(m.symbols) or fmt.DASH for m in runs],
            ["interval"] + [m.interval or fmt.DASH for m in runs],
            ["range"] + [m.range or fmt.DASH for m in runs],
            ["account"] + [m.accounts[0].account if m.accounts else fmt.DASH for m in runs]]
    for label, show in fmt.ACCOUNT_ROWS:
        rows.append([label] + [show(m.accounts[0]) if m.accounts else fmt.DASH for m in runs])
    print(fmt.text_table(header, rows, tty))


def _export(ns: argparse.Namespace, db: str) -> int:
    from .store import run_export
    source = _File(db, BUSY_HINT_FILE)
    try:
        report = run_export.export_run(source.con, ns.run_id, ns.format, ns.out)
    except run_export.ExportError as exc:
        return _err(str(exc), 2)
    finally:
        source.close()
    total = sum(report.rows.values())
    print(f"run {report.run_id} exported to {report.out} ({ns.format}): {total} rows "
          f"({', '.join(f'{t} {n}' for t, n in report.rows.items())})")
    return 0


def _report(ns: argparse.Namespace, db: str) -> int:
    from .progress import Progress
    from .report import MissingDependency, charts, generate
    try:
        charts.require()
    except MissingDependency as exc:
        return _err(str(exc), 2)
    source = _File(db, BUSY_HINT_FILE)
    try:
        from .store.run_metrics import resolve_run_id
        run_id = resolve_run_id(source.con, ns.run_id)
        out = ns.out or os.path.join("reports", run_id)
        with Progress("report", 1, unit="steps", enabled=not ns.no_progress) as bar:
            result = generate(source.con, run_id, out, account=ns.account, progress=bar)
    finally:
        source.close()
    print(f"report of run {result.run_id}: {result.html} (+ {len(result.images)} PNG files in {out})")
    return 0

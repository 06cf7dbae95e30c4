"""Export one run as a self-contained unit: every row of that run in runs, run_status, orders,
trades_fills, income, equity_curve and event_log - what a sweep spread over several machines
merges back into one database.

* `duckdb`: one DuckDB file with ExSim's schema holding only that run's rows (open it with
  `exsim runs list --db FILE`; merge with `ATTACH 'FILE' AS r; INSERT INTO runs SELECT * FROM r.runs; ...`).
* `parquet` / `csv`: a folder with one file per table (`runs.parquet`, ...) and `manifest.json`
  (run id, format, rows per table, schema version).

Blocking (DuckDB): the CLI calls it on a read-only connection. The run id travels as a bound
parameter; table names come from the constant EXPORT_TABLES. The output is written under a
temporary name and renamed at the end: a failed export leaves nothing behind.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import duckdb
import msgspec

from .reader import arrow_table
from .run_metrics import EXPORT_TABLES, resolve_run_id
from .schema import SCHEMA_VERSION, ensure_schema, existing_tables

FORMATS = ("duckdb", "parquet", "csv")


class ExportError(Exception):
    """The export cannot be written; the message is one line for the user."""


class ExportReport(msgspec.Struct, kw_only=True):
    run_id: str
    format: str
    out: str
    rows: dict[str, int]


def _relation(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> duckdb.DuckDBPyRelation:
    return con.sql(f"SELECT * FROM {table} WHERE run_id = ?::UUID ORDER BY ALL", params=[run_id])


def export_run(con: duckdb.DuckDBPyConnection, run_id: str, fmt: str, out: str) -> ExportReport:
    if fmt not in FORMATS:
        raise ExportError(f"--format: expected one of {', '.join(FORMATS)}")
    run_id = resolve_run_id(con, run_id)
    out = os.path.abspath(out)
    if os.path.exists(out) and (fmt == "duckdb" or not os.path.isdir(out) or os.listdir(out)):
        raise ExportError(f"{out} already exists: give a new --out path")
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create folder {parent}: {exc.strerror}") from None
    tables = [t for t in EXPORT_TABLES if t in existing_tables(con)]
    try:
        if fmt == "duckdb":
            rows = _to_duckdb(con, run_id, tables, out)
        else:
            rows = _to_folder(con, run_id, tables, out, fmt)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    except duckdb.Error as exc:
        raise ExportError(f"cannot write {out}: {str(exc).splitlines()[0]}") from None
    return ExportReport(run_id=run_id, format=fmt, out=out, rows=rows)


def _to_duckdb(con: duckdb.DuckDBPyConnection, run_id: str, tables: list[str], out: str) -> dict[str, int]:
    fd, tmp = tempfile.mkstemp(prefix=".exsim-export-", suffix=".duckdb", dir=os.path.dirname(out))
    os.close(fd)
    os.remove(tmp)  # DuckDB creates the file itself
    rows = {}
    try:
        target = duckdb.connect(tmp)
        try:
            ensure_schema(target)
            for table in tables:
                data = arrow_table(_relation(con, table, run_id))
                rows[table] = data.num_rows
                if data.num_rows:
                    target.register("_export", data)
                    target.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _export")
                    target.unregister("_export")
            target.execute("CHECKPOINT")
        finally:
            target.close()
        os.replace(tmp, out)
    finally:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.remove(leftover)
    return rows


def _to_folder(con: duckdb.DuckDBPyConnection, run_id: str, tables: list[str], out: str, fmt: str) -> dict[str, int]:
    tmp = tempfile.mkdtemp(prefix=".exsim-export-", dir=os.path.dirname(out))
    rows = {}
    try:
        for table in tables:
            rel = _relation(con, table, run_id)
            path = os.path.join(tmp, f"{table}.{fmt}")
            if fmt == "parquet":
                rel.write_parquet(path)
            else:
                rel.write_csv(path, header=True)
            rows[table] = con.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?::UUID", [run_id]).fetchall()[0][0]
        manifest = {"run_id": run_id, "format": fmt, "schema_version": SCHEMA_VERSION, "tables": rows,
                    "files": {t: f"{t}.{fmt}" for t in tables}}
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        if os.path.isdir(out):  # an empty folder given as --out
            os.rmdir(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return rows

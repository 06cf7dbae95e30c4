"""Re-executing a run from its journal, offline: no server, no bot, no event loop.

The journal (exsim/journal.py) holds a run's config and every command with the position it
was applied at; the bars come from the same DuckDB. `reexecute` replays the data on a paused
Clock, applies each command at its position and sim time, and returns the events the engine
emitted. Three uses:
- `verify`: compare them with what DuckDB holds for the run (orders, fills, income, equity);
- `replay_run`: the same commands with other costs, as a new run;
- `recover`: a run the gateway did not finish (killed): rebuild its rows from the journal file.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Optional

import duckdb
import msgspec

from .config import Config
from .engine.clock import Clock
from .engine.errors import ExchangeError
from .engine.events import OrderUpdated
from .engine.sim import Sim
from .journal import Cmd, End, Header, Progress, Timeout, decode, journal_path, read_file
from .replay import begin_run, code_hash, journal_folder, plan_run
from .store import reader
from .store.writer import BatchWriter

log = logging.getLogger("exsim.rerun")

# the rows a run leaves, compared column by column (run_id aside), in a stable order
CHECKED = {
    "orders": ("seq, ts, account, order_id, client_order_id, symbol, side, type, orig_type, time_in_force, price, "
               "stop_price, qty, executed_qty, avg_price, status, event, reduce_only, close_position, reason", "seq"),
    "trades_fills": ("seq, ts, symbol, side, price, qty, realized_pnl, fee, is_maker, account, order_id, trade_id",
                     "seq"),
    "income": ("ts, account, symbol, income_type, income, tran_id, trade_id", "tran_id, ts, account"),
    "equity_curve": ("ts, account, equity", "account, ts"),
}
RUN_TABLES = ("orders", "trades_fills", "income", "equity_curve", "event_log", "run_journal")


class Refused(Exception):
    """The run cannot be re-executed here (no journal, other data, other engine code)."""


class Outcome(msgspec.Struct):
    events: list
    commands: int
    refusals_differ: list  # (Cmd, code now) where a command's outcome changed
    timeouts: int
    reached: tuple  # the last position replayed
    ended: Optional[str]  # the End record's status, None if the journal has none


def load_journal(con: duckdb.DuckDBPyConnection, run_id: str, folder: Optional[str]) -> list:
    """A run's journal: the run_journal table, else its file."""
    rows = con.execute("SELECT body FROM run_journal WHERE run_id = ?::UUID ORDER BY line", [run_id]).fetchall()
    if rows:
        return [decode(r[0]) for r in rows]
    path = journal_path(folder, run_id) if folder else None
    if path and os.path.exists(path):
        return read_file(path)
    raise Refused(f"run {run_id} has no journal (neither in table run_journal nor as {path or 'a file'}); "
                  "runs made before journals existed cannot be re-executed")


def config_of(header: Header, overrides: Optional[dict] = None) -> Config:
    """The run's config as journaled, with `overrides` (key -> text or value) applied."""
    data = dict(header.config)
    data["api_keys"] = [{"secret": "", **k} for k in data.get("api_keys", [])]  # never journaled
    for key, value in (overrides or {}).items():
        if key not in Config.__struct_fields__:
            raise Refused(f"unknown setting {key!r} (see exsim.toml for the keys)")
        data[key] = value
    try:
        return msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise Refused(f"bad setting: {exc}") from None


def reexecute(con: duckdb.DuckDBPyConnection, records: list, cfg: Optional[Config] = None,
              run_id: Optional[str] = None, check_hashes: bool = True) -> Outcome:
    header = records[0]
    if not isinstance(header, Header):
        raise Refused("the journal does not start with its header")
    cfg = cfg or config_of(header)
    meta = header.meta
    symbols = meta["symbol"].split(",")
    plan = plan_run(con, cfg, symbols, meta["start_ms"], meta["end_ms"])
    if check_hashes:
        if header.code_hash != code_hash():
            raise Refused(f"the engine's code changed since run {header.run_id} (code hash {header.code_hash}, "
                          f"now {code_hash()}): re-execute it with the ExSim version that made it")
        if header.data_hash != plan.data_hash:
            raise Refused(f"the market data of run {header.run_id} changed since it ran (data hash "
                          f"{header.data_hash}, now {plan.data_hash}): reload the same bars and funding")
    sim = Sim(cfg, symbols)
    events: list = []
    sim.log.subscribe(events.extend)
    sim.log.seq = header.seq0
    clock = Clock(sim, cfg.interval_ms, cfg.ticks_per_bar, speed=0)
    chunks = reader.iter_chunks(con.cursor(), symbols, cfg.interval, plan.first, plan.end_ms, plan.ticks,
                                marks=plan.marks, fine=cfg.fill_resolution)

    def next_chunk():
        item = next(chunks, None)
        return None if item is None else item[0]

    begin_run(sim, plan, header.created_ms, header.params_json, meta, run_id=run_id or header.run_id)
    clock.advance_to(1, 0, next_chunk)  # the first bar is revealed with the run
    commands, differ, timeouts, ended = 0, [], 0, None
    for rec in records[1:]:
        if isinstance(rec, (Cmd, Progress, Timeout, End)):  # past the data's end: applied there
            clock.advance_to(rec.bar, rec.tick, next_chunk)
        if isinstance(rec, Cmd):
            commands += 1
            sim.sim_time = rec.time
            try:
                sim.apply(rec.cmd)
                code = 0
            except ExchangeError as exc:
                code = exc.code
            if code != rec.code:
                differ.append((rec, code))
        elif isinstance(rec, Timeout):
            timeouts += 1
        elif isinstance(rec, End):
            ended = rec.status
            sim.finish_run(rec.status)
            break
    return Outcome(events=events, commands=commands, refusals_differ=differ, timeouts=timeouts,
                   reached=clock.position(), ended=ended)


def write_events(con: duckdb.DuckDBPyConnection, cfg: Config, symbols: list[str], events: list) -> None:
    """Store a re-executed run's events as the gateway's writer would."""
    sim = Sim(cfg, symbols)  # only its instruments: ticks and steps to floats
    writer = BatchWriter(con, lambda symbol: sim.instruments[symbol])
    try:
        writer.consume(events)
        writer.flush_blocking()
    finally:
        writer.close()


def _rows(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> list[tuple]:
    cols, order = CHECKED[table]
    return con.execute(f"SELECT {cols} FROM {table} WHERE run_id = ?::UUID ORDER BY {order}", [run_id]).fetchall()


def first_difference(recorded: duckdb.DuckDBPyConnection, again: duckdb.DuckDBPyConnection, run_id: str,
                     start_ms: int, interval_ms: int) -> Optional[str]:
    """The first row where the two databases' copies of the run differ, named by table, bar
    and seq (None: identical)."""
    found = []
    for table in CHECKED:
        a, b = _rows(recorded, table, run_id), _rows(again, table, run_id)
        for i in range(max(len(a), len(b))):
            ra, rb = (a[i] if i < len(a) else None), (b[i] if i < len(b) else None)
            if ra != rb:
                row = ra or rb
                cols = CHECKED[table][0].split(", ")
                ts = row[cols.index("ts")]
                seq = row[cols.index("seq")] if "seq" in cols else None
                bar = (ts - start_ms) // interval_ms
                found.append((bar, seq if seq is not None else -1,
                              f"{table} row {i + 1} at bar {bar}" + (f", seq {seq}" if seq is not None else "") +
                              f": recorded {ra}, re-executed {rb}"))
                break
    return min(found)[2] if found else None


def verify(db_path: str, run_id: str, folder: Optional[str] = None) -> tuple[bool, str]:
    """Re-execute run `run_id` of the database at `db_path` offline and compare."""
    from .store.run_metrics import open_read_only, resolve_run_id
    con = open_read_only(db_path)
    try:
        run_id = resolve_run_id(con, run_id)
        records = load_journal(con, run_id, folder)
        outcome = reexecute(con, records)
        header = records[0]
        mem = duckdb.connect(":memory:")
        from .store.schema import ensure_schema
        ensure_schema(mem)
        cfg = config_of(header)
        write_events(mem, cfg, header.meta["symbol"].split(","), outcome.events)
        diff = first_difference(con, mem, run_id, header.meta["start_ms"], cfg.interval_ms)
    finally:
        con.close()
    notes = []
    if outcome.timeouts:
        notes.append(f"{outcome.timeouts} lockstep timeout(s): the bot's live behaviour is not reproducible, "
                     "the journal is")
    if outcome.refusals_differ:
        rec, code = outcome.refusals_differ[0]
        diff = diff or (f"command {rec.n} at bar {rec.bar} was {'refused ' + str(rec.code) if rec.code else 'accepted'}"
                        f" live, {'refused ' + str(code) if code else 'accepted'} now")
    if outcome.ended is None:
        notes.append("the journal has no end (interrupted run): compared up to its last record")
    text = "; ".join(notes)
    if diff:
        return False, f"run {run_id} differs from its journal: first difference in {diff}" + (f" ({text})" if text else "")
    return True, (f"run {run_id} reproduced: {outcome.commands} commands re-executed, orders, fills, income and "
                  f"equity identical" + (f" ({text})" if text else ""))


def replay_run(db_path: str, run_id: str, overrides: dict, folder: Optional[str] = None) -> tuple[str, str]:
    """The journal of `run_id` re-executed with `overrides` into a new run of the same
    database; returns (old run id, new run id)."""
    from .store.db import open_database
    from .store.run_metrics import resolve_run_id
    con = open_database(db_path)
    try:
        run_id = resolve_run_id(con, run_id)
        records = load_journal(con, run_id, folder)
        header = records[0]
        cfg = config_of(header, overrides)
        new_id = str(uuid.uuid4())
        header = msgspec.structs.replace(header, created_ms=int(time.time() * 1000))
        records = [header] + records[1:]
        outcome = reexecute(con, records, cfg=cfg, run_id=new_id, check_hashes=False)
        write_events(con, cfg, header.meta["symbol"].split(","), outcome.events)
        # the copy has its own journal: the same commands under its config (verify reads it)
        config = dict(header.config, **{k: msgspec.to_builtins(getattr(cfg, k)) for k in overrides})
        _store_journal(con, [msgspec.structs.replace(header, run_id=new_id, config=config)] + records[1:], new_id)
        if outcome.ended is None:  # an interrupted original: the copy ends where it stopped
            con.execute("UPDATE run_status SET status = 'incomplete' WHERE run_id = ?::UUID", [new_id])
    finally:
        con.close()
    return run_id, new_id


def _store_journal(con: duckdb.DuckDBPyConnection, records: list, run_id: str) -> None:
    con.executemany("INSERT INTO run_journal VALUES (?::UUID, ?, ?, ?, ?, ?, ?)",
                    [(run_id, i, type(r).__name__.lower(), r.bar, r.tick, r.time, msgspec.json.encode(r).decode())
                     for i, r in enumerate(records)])


def recover(con: duckdb.DuckDBPyConnection, cfg: Config) -> list[str]:
    """Runs whose journal file has no end (the gateway was killed): rebuild their orders,
    fills, income and equity from it, mark them 'incomplete', and close their journal."""
    folder = journal_folder(cfg)
    if not folder or not os.path.isdir(folder):
        return []
    done = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jsonl"):
            continue
        path = os.path.join(folder, name)
        records = read_file(path)
        if not records or not isinstance(records[0], Header) or isinstance(records[-1], End):
            continue
        header = records[0]
        run_id = header.run_id
        try:
            outcome = reexecute(con, records, check_hashes=False)
        except Exception as exc:  # one bad journal must not stop the gateway from starting
            log.error("run %s: could not rebuild it from %s: %s", run_id, path, exc)
            continue
        con.execute("BEGIN")
        for table in RUN_TABLES:
            con.execute(f"DELETE FROM {table} WHERE run_id = ?::UUID", [run_id])
        con.execute("DELETE FROM runs WHERE run_id = ?::UUID", [run_id])
        con.execute("DELETE FROM run_status WHERE run_id = ?::UUID", [run_id])
        con.execute("COMMIT")
        cfg_run = config_of(header)
        write_events(con, cfg_run, header.meta["symbol"].split(","), outcome.events)
        _store_journal(con, records, run_id)
        con.execute("UPDATE run_status SET status = 'incomplete', bars = ?, finished_at = now()::TIMESTAMP "
                    "WHERE run_id = ?::UUID", [outcome.reached[0], run_id])
        with open(path, "ab") as f:  # recovered once: the next start leaves it alone
            f.write(msgspec.json.encode(End(bar=outcome.reached[0], tick=outcome.reached[1],
                                            status="incomplete")) + b"\n")
        fills = sum(1 for e in outcome.events if type(e) is OrderUpdated and e.trade is not None)
        log.warning("run %s was interrupted: rebuilt from its journal (%d commands, %d fills), marked 'incomplete'",
                    run_id, outcome.commands, fills)
        done.append(run_id)
    return done

"""Market-data loader: Binance kline and funding CSVs (data.binance.vision) or the public REST API
into `ohlc_<interval>` and `funding`; mark-price klines (`markPriceKlines` files, or the API's
/fapi/v1/markPriceKlines) into `mark_ohlc_<interval>`, which the replay uses as mark price.

Everything is vectorised: files go through DuckDB's CSV reader, API pages through Arrow arrays,
into a temp staging table that is validated with a handful of SQL queries and then appended with
an anti-join, so loading the same data twice inserts nothing and reports the overlap. Staging,
validation and insert share one transaction: a bad file leaves the database exactly as it was.
"""
from __future__ import annotations

import glob
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from http.client import HTTPException
from typing import Callable

import duckdb
import msgspec
import pyarrow as pa

from ..progress import Progress
from ..timeutil import INTERVAL_MS, iso
from .reader import WEEK_OFFSET_MS
from .schema import mark_table, ohlc_ddl, ohlc_table

MAX_GAPS = 20
KLINE_PAGE = 1500  # fapi/v1/klines maximum
FUNDING_PAGE = 1000  # fapi/v1/fundingRate maximum
BACKOFF_S = 0.5  # first retry wait; doubles per attempt
MAX_BACKOFF_S = 60.0
MAX_RETRY_AFTER_S = 300.0  # a longer Retry-After means an IP ban: tell the user, don't hang
WEIGHT_SOFT_LIMIT = 2000  # of the 2400/min request weight; pause before Binance answers 429
MONTH_GAP_MS = 31 * 86_400_000  # 1M bars are calendar months on Binance, not a fixed step

_STAGE = "_exsim_load_bars"
_FSTAGE = "_exsim_load_funding"

# data.binance.vision futures/um kline layout
_KLINE_COLUMNS = {
    "open_time": "BIGINT", "open": "DOUBLE", "high": "DOUBLE", "low": "DOUBLE", "close": "DOUBLE",
    "volume": "DOUBLE", "close_time": "BIGINT", "quote_volume": "DOUBLE", "count": "BIGINT",
    "taker_buy_volume": "DOUBLE", "taker_buy_quote_volume": "DOUBLE", "ignore": "VARCHAR",
}
# Binance file names: BTCUSDT-1m-2024-01.zip, BTCUSDT-fundingRate-2024-01.zip
_FILE_NAME = re.compile(r"^([A-Z0-9]+)-(fundingRate|[0-9]+[smhdwM])-[0-9]")


class LoadError(Exception):
    """A load failed; the message is one line meant for the user. Nothing was written."""


class LoadReport(msgspec.Struct):
    table: str
    symbol: str
    interval: str
    rows_in: int  # bars read from the source within [start, end)
    rows_new: int  # bars inserted
    rows_overlap: int  # bars skipped because (symbol, ts) was already present (or repeated across files)
    first_ts: int | None  # first/last bar read from the source
    last_ts: int | None
    gaps: list[tuple[int, int]]  # (ts before, ts after) in the table after loading, first MAX_GAPS
    funding_rows: int  # funding rows inserted
    seconds: float
    gaps_total: int = 0  # all gaps, when more than MAX_GAPS exist


class _CsvFile(msgspec.Struct):
    path: str  # what DuckDB reads (extracted if it came from a zip)
    name: str  # what the user gave, for messages
    kind: str  # "kline" | "funding_vision" | "funding_rest"
    header: list[str] | None  # lower-case names when the first row is a header


def _interval_ms(interval: str) -> int:
    if interval not in INTERVAL_MS:
        raise LoadError(f"unknown interval {interval!r} (one of {', '.join(INTERVAL_MS)})")
    return INTERVAL_MS[interval]


# ---------------------------------------------------------------------------------------- files

def _expand(paths: list[str]) -> list[str]:
    """Files, folders (their csv/zip, not recursive) and globs -> distinct files, in order."""
    found: list[str] = []
    for item in paths:
        if os.path.isdir(item):
            hits = sorted(os.path.join(item, n) for n in os.listdir(item)
                          if n.lower().endswith((".csv", ".zip")))
            if not hits:
                raise LoadError(f"no .csv or .zip files in folder {item}")
        elif os.path.isfile(item):
            hits = [item]
        elif glob.has_magic(item):
            hits = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
            if not hits:
                raise LoadError(f"no files match {item}")
        else:
            raise LoadError(f"file not found: {item}")
        found.extend(hits)
    if not found:
        raise LoadError("no input files given")
    unique: dict[str, str] = {}  # the same file named twice (file + folder) is read once
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def _unzip(path: str, tmp: str) -> list[tuple[str, str]]:
    """Extract the csv members of a zip (DuckDB cannot read zips). Returns (file, display name)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
            if not members:
                raise LoadError(f"{path}: zip holds no .csv file")
            target = tempfile.mkdtemp(dir=tmp)
            return [(archive.extract(m, target), f"{path}:{m}") for m in members]
    except zipfile.BadZipFile as exc:
        raise LoadError(f"{path}: not a valid zip ({exc})") from None


def _sniff(path: str, name: str) -> _CsvFile:
    """Kind and header from the first line; the rows themselves are DuckDB's job."""
    with open(path, "r", encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline().strip()
    if not first:
        raise LoadError(f"{name}: empty file")
    cells = [c.strip().strip('"').lower() for c in first.split(",")]
    if re.fullmatch(r"-?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?", cells[0]):
        if len(cells) != len(_KLINE_COLUMNS):
            raise LoadError(f"{name}: expected {len(_KLINE_COLUMNS)} kline columns, found {len(cells)}")
        return _CsvFile(path, name, "kline", None)
    if "calc_time" in cells and "last_funding_rate" in cells:
        return _CsvFile(path, name, "funding_vision", cells)
    if "fundingtime" in cells and "fundingrate" in cells:
        return _CsvFile(path, name, "funding_rest", cells)
    if cells[0] == "open_time":
        if len(cells) != len(_KLINE_COLUMNS):
            raise LoadError(f"{name}: expected {len(_KLINE_COLUMNS)} kline columns, found {len(cells)}")
        return _CsvFile(path, name, "kline", cells)
    raise LoadError(f"{name}: not a Binance kline or funding CSV (header {first[:80]!r})")


def _check_name(name: str, symbol: str, interval: str) -> None:
    # Nothing in a kline row names its symbol, so a file of another symbol would load silently.
    match = _FILE_NAME.match(os.path.basename(name.rsplit(":", 1)[-1]))
    if not match:
        return
    file_symbol, file_interval = match.groups()
    if file_symbol != symbol:
        raise LoadError(f"{name}: file is for {file_symbol}, not {symbol}")
    if file_interval not in ("fundingRate", interval):
        raise LoadError(f"{name}: file holds {file_interval} bars, not {interval}")


def _to_ms(column: str) -> str:
    # data.binance.vision switched some files to microseconds; ms epochs stay below 1e14 until 5138
    return f"CASE WHEN {column} > 100000000000000 THEN {column} // 1000 ELSE {column} END"


def _stage_csv(con: duckdb.DuckDBPyConnection, src: int, f: _CsvFile, symbol: str) -> None:
    if f.kind == "kline":
        con.execute(
            f"INSERT INTO {_STAGE} SELECT $src, {_to_ms('open_time')}, open, high, low, close, volume, "
            f"{_to_ms('close_time')} FROM read_csv($path, header=$header, columns=$columns, "
            "delim=',', quote='\"', auto_detect=false)",
            {"src": src, "path": f.path, "header": f.header is not None, "columns": _KLINE_COLUMNS})
        return
    # Funding files: pick the columns by header name, whatever their order.
    columns = {f"c{i}": "VARCHAR" for i in range(len(f.header))}
    col = {n: f"c{i}" for i, n in enumerate(f.header)}
    if f.kind == "funding_vision":  # one symbol per file, named only in the file name
        time_col, rate_col, sym = col["calc_time"], col["last_funding_rate"], None
    else:
        time_col, rate_col, sym = col["fundingtime"], col["fundingrate"], col.get("symbol")
    params = {"src": src, "path": f.path, "columns": columns}
    if sym is None:
        sym, params["symbol"] = "$symbol", symbol
    ms = _to_ms(f"CAST({time_col} AS BIGINT)")
    con.execute(
        f"INSERT INTO {_FSTAGE} SELECT $src, {sym}, {ms}, CAST({rate_col} AS DOUBLE) "
        "FROM read_csv($path, header=true, columns=$columns, delim=',', quote='\"', auto_detect=false)",
        params)


def is_mark_path(paths: list[str]) -> bool:
    """Every path lies under a `markPriceKlines` folder (data.binance.vision's layout)."""
    return bool(paths) and all("markpriceklines" in p.replace("\\", "/").lower() for p in paths)


def load_files(con: duckdb.DuckDBPyConnection, paths: list[str], symbol: str, interval: str,
               start_ms: int | None = None, end_ms: int | None = None, mark: bool = False) -> LoadReport:
    """Load Binance kline/funding CSVs or zips (files, folders, globs) for one symbol/interval;
    `mark`: the files are mark-price klines (same layout; funding files refused).

    Raises LoadError (database unchanged) on a missing or malformed file or inconsistent bars.
    """
    began = time.perf_counter()
    _interval_ms(interval)
    with tempfile.TemporaryDirectory(prefix="exsim-load-") as tmp:
        files: list[_CsvFile] = []
        for path in _expand(paths):
            pairs = _unzip(path, tmp) if path.lower().endswith(".zip") else [(path, path)]
            for real, name in pairs:
                _check_name(name, symbol, interval)
                files.append(_sniff(real, name))
                if mark and files[-1].kind != "kline":
                    raise LoadError(f"{name}: a funding file, not mark-price klines")

        def stage(c: duckdb.DuckDBPyConnection) -> None:
            for src, f in enumerate(files):
                try:
                    _stage_csv(c, src, f, symbol)
                except duckdb.Error as exc:
                    raise LoadError(f"{f.name}: {_short(exc)}") from None

        return _load(con, symbol, interval, start_ms, end_ms, [f.name for f in files], stage, began, mark)


# ------------------------------------------------------------------------------------------ api

class _Kline(msgspec.Struct, array_like=True):
    # trailing fields (quote volume, trades, taker volumes, ignore) are dropped by msgspec
    open_time: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    close_time: int


class _Funding(msgspec.Struct):
    symbol: str
    fundingTime: int
    fundingRate: str


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _get(url: str, max_retries: int, sleep: Callable[[float], None] = time.sleep) -> bytes:
    """GET with retries on 429/418 (Retry-After), 5xx and connection errors."""
    attempt = 0
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                body = resp.read()
                weight = resp.headers.get("X-MBX-USED-WEIGHT-1M")
            if weight and weight.isdigit() and int(weight) > WEIGHT_SOFT_LIMIT:
                sleep(60 - time.time() % 60 + 1)  # weight resets each minute; waiting avoids a ban
            return body
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace").strip()
            if exc.code not in (418, 429) and exc.code < 500:
                raise LoadError(f"GET {url} -> HTTP {exc.code} {detail}") from None
            wait = _retry_after(exc.headers)
            if wait is not None and wait > MAX_RETRY_AFTER_S:
                raise LoadError(f"GET {url} -> HTTP {exc.code}: rate limited for {wait:.0f} s, try later") from None
            reason = f"HTTP {exc.code} {detail}"
        except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError) as exc:
            wait, reason = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt >= max_retries:
            raise LoadError(f"GET {url} failed after {attempt + 1} attempts: {reason}")
        sleep(wait if wait is not None else min(MAX_BACKOFF_S, BACKOFF_S * 2 ** attempt))
        attempt += 1


def _progress(enabled: bool, label: str, start_ms: int, end_ms: int) -> Progress:
    """Progress over the time range [start_ms, end_ms): a bar on a terminal, lines otherwise."""
    return Progress(label, max(1, end_ms - start_ms), enabled=enabled)


def _fetch_klines(base_url: str, symbol: str, interval: str, start_ms: int, end_ms: int,
                  progress: bool, max_retries: int, path: str = "/fapi/v1/klines") -> list[_Kline]:
    step, rows, cursor = INTERVAL_MS[interval], [], start_ms
    label = f"{path.rsplit('/', 1)[-1]} {symbol} {interval}"
    decoder = msgspec.json.Decoder(list[_Kline])
    bar = _progress(progress, label, start_ms, end_ms)
    while cursor < end_ms:
        query = urllib.parse.urlencode({"symbol": symbol, "interval": interval, "startTime": cursor,
                                        "endTime": end_ms - 1, "limit": KLINE_PAGE})  # endTime is inclusive
        url = f"{base_url}{path}?{query}"
        try:
            page = decoder.decode(_get(url, max_retries))
        except msgspec.DecodeError as exc:
            raise LoadError(f"GET {url}: unexpected response ({exc})") from None
        if not page:
            break
        if page[-1].open_time < cursor:
            raise LoadError(f"GET {url}: server went back in time ({page[-1].open_time} < {cursor})")
        rows.extend(page)
        cursor = page[-1].open_time + step
        bar.set(cursor - start_ms)
    bar.set(end_ms - start_ms)
    bar.close()
    return rows


def _fetch_funding(base_url: str, symbol: str, start_ms: int, end_ms: int,
                   progress: bool, max_retries: int) -> list[_Funding]:
    rows, cursor, label = [], start_ms, f"funding {symbol}"
    decoder = msgspec.json.Decoder(list[_Funding])
    bar = _progress(progress, label, start_ms, end_ms)
    while cursor < end_ms:
        query = urllib.parse.urlencode({"symbol": symbol, "startTime": cursor, "endTime": end_ms - 1,
                                        "limit": FUNDING_PAGE})
        url = f"{base_url}/fapi/v1/fundingRate?{query}"
        try:
            page = decoder.decode(_get(url, max_retries))
        except msgspec.DecodeError as exc:
            raise LoadError(f"GET {url}: unexpected response ({exc})") from None
        if not page or page[-1].fundingTime < cursor:
            break
        rows.extend(page)
        cursor = page[-1].fundingTime + 1
        bar.set(cursor - start_ms)
    bar.set(end_ms - start_ms)
    bar.close()
    return rows


def load_api(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, start_ms: int, end_ms: int,
             base_url: str = "https://fapi.binance.com", progress: bool = True,
             max_retries: int = 5, mark: bool = False) -> LoadReport:
    """Download klines and funding for [start_ms, end_ms) from the Binance futures REST API
    (`mark`: mark-price klines from /fapi/v1/markPriceKlines, no funding).

    Blocking; everything is fetched first, then written in one transaction.
    """
    began = time.perf_counter()
    _interval_ms(interval)
    if end_ms <= start_ms:
        raise LoadError(f"empty time range: start {iso(start_ms)} is not before end {iso(end_ms)}")
    base_url = base_url.rstrip("/")
    path = "/fapi/v1/markPriceKlines" if mark else "/fapi/v1/klines"
    klines = _fetch_klines(base_url, symbol, interval, start_ms, end_ms, progress, max_retries, path)
    funding = [] if mark else _fetch_funding(base_url, symbol, start_ms, end_ms, progress, max_retries)
    # The last bar may still be forming when end_ms is in the future: it would replay wrong.
    now_ms = int(time.time() * 1000)
    klines = [k for k in klines if k.close_time < now_ms]
    name = f"{base_url}{path}"
    bars = pa.table({
        "ts": pa.array([k.open_time for k in klines], pa.int64()),
        "open": pa.array([k.open for k in klines], pa.string()),
        "high": pa.array([k.high for k in klines], pa.string()),
        "low": pa.array([k.low for k in klines], pa.string()),
        "close": pa.array([k.close for k in klines], pa.string()),
        "volume": pa.array([k.volume for k in klines], pa.string()),
        "close_ts": pa.array([k.close_time for k in klines], pa.int64()),
    })
    rates = pa.table({
        "symbol": pa.array([f.symbol for f in funding], pa.string()),
        "funding_time": pa.array([f.fundingTime for f in funding], pa.int64()),
        "funding_rate": pa.array([f.fundingRate for f in funding], pa.string()),
    })

    def stage(c: duckdb.DuckDBPyConnection) -> None:
        # The server sends decimals as strings; DuckDB casts the whole column at once.
        c.register("_exsim_api_bars", bars)
        c.register("_exsim_api_funding", rates)
        try:
            c.execute(f"INSERT INTO {_STAGE} SELECT 0, ts, open::DOUBLE, high::DOUBLE, low::DOUBLE, "
                      "close::DOUBLE, volume::DOUBLE, close_ts FROM _exsim_api_bars")
            c.execute(f"INSERT INTO {_FSTAGE} SELECT 1, symbol, funding_time, funding_rate::DOUBLE "
                      "FROM _exsim_api_funding")
        except duckdb.Error as exc:
            raise LoadError(f"{name}: {_short(exc)}") from None
        finally:
            c.unregister("_exsim_api_bars")
            c.unregister("_exsim_api_funding")

    return _load(con, symbol, interval, start_ms, end_ms,
                 [name, f"{base_url}/fapi/v1/fundingRate"], stage, began, mark)


# ------------------------------------------------------------------------------- shared ingest

def _short(exc: Exception) -> str:
    """DuckDB errors span a dozen lines of hints; keep where and what."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    head = re.sub(r"^[A-Za-z ]+Error: ", "", lines[0]) if lines else type(exc).__name__
    detail = next((ln for ln in lines[1:] if ln.startswith(("Expected Number", "Error when converting",
                                                             "Could not convert"))), "")
    return f"{head}: {detail}" if detail else head


def _load(con: duckdb.DuckDBPyConnection, symbol: str, interval: str, start_ms: int | None,
          end_ms: int | None, names: list[str], stage: Callable[[duckdb.DuckDBPyConnection], None],
          began: float, mark: bool = False) -> LoadReport:
    table = mark_table(interval) if mark else ohlc_table(interval)
    lo = start_ms if start_ms is not None else -(1 << 62)
    hi = end_ms if end_ms is not None else 1 << 62
    con.execute("BEGIN")
    try:
        con.execute(ohlc_ddl(table))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} (src INTEGER, ts BIGINT, open DOUBLE, "
                    "high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, close_ts BIGINT)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_FSTAGE} (src INTEGER, symbol VARCHAR, "
                    "funding_time BIGINT, funding_rate DOUBLE)")
        stage(con)
        _validate(con, names, symbol, interval)
        counts = _insert(con, table, symbol, INTERVAL_MS[interval], lo, hi)
        con.execute(f"DROP TABLE {_STAGE}")
        con.execute(f"DROP TABLE {_FSTAGE}")
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error):
            raise LoadError(f"load failed, nothing written: {_short(exc)}") from None
        raise
    gaps, gaps_total = find_gaps(con, table, symbol, interval)
    rows_in, rows_new, first_ts, last_ts, funding_rows = counts
    return LoadReport(table=table, symbol=symbol, interval=interval, rows_in=rows_in, rows_new=rows_new,
                      rows_overlap=rows_in - rows_new, first_ts=first_ts, last_ts=last_ts, gaps=gaps,
                      funding_rows=funding_rows, seconds=round(time.perf_counter() - began, 3),
                      gaps_total=gaps_total)


def _first_bad(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):
    return con.execute(sql, params or {}).fetchone()


def _validate(con: duckdb.DuckDBPyConnection, names: list[str], symbol: str, interval: str) -> None:
    """One SQL scan per rule; the first offending row (in file order) names the file and ts."""
    step = INTERVAL_MS[interval]

    def fail(src: int, message: str) -> None:
        raise LoadError(f"{names[src]}: {message}")

    row = _first_bad(con, f"SELECT src, ts FROM {_STAGE} WHERE ts IS NULL OR open IS NULL OR high IS NULL "
                          "OR low IS NULL OR close IS NULL ORDER BY src, rowid LIMIT 1")
    if row:
        fail(row[0], f"missing value in bar at ts {row[1]}")
    row = _first_bad(con, f"""SELECT src, ts, open, high, low, close FROM {_STAGE}
        WHERE high < low OR high < greatest(open, close) OR low > least(open, close) OR low <= 0
           OR volume < 0
        ORDER BY src, rowid LIMIT 1""")
    if row:
        src, ts, o, h, l, c = row
        fail(src, f"inconsistent bar at ts {ts} ({iso(ts)}): open {o} high {h} low {l} close {c}")
    # Binance writes bars in time order; anything else means a damaged or concatenated file.
    row = _first_bad(con, f"""SELECT src, ts, prev FROM (
        SELECT src, ts, rowid AS r, lag(ts) OVER (PARTITION BY src ORDER BY rowid) AS prev FROM {_STAGE})
        WHERE ts <= prev ORDER BY src, r LIMIT 1""")
    if row:
        kind = "duplicate" if row[1] == row[2] else "out-of-order"
        fail(row[0], f"{kind} ts {row[1]} ({iso(row[1])}) after {row[2]}")
    if interval != "1M":  # calendar months have no fixed step
        offset = WEEK_OFFSET_MS if interval == "1w" else 0
        row = _first_bad(con, f"""SELECT src, ts FROM {_STAGE} WHERE (ts - $offset) % $step <> 0
            ORDER BY src, rowid LIMIT 1""", {"offset": offset, "step": step})
        if row:
            fail(row[0], f"ts {row[1]} ({iso(row[1])}) is not on a {interval} boundary")
        # Also catches a file of a coarser interval (its ts are aligned, its close times are not).
        row = _first_bad(con, f"""SELECT src, ts, close_ts FROM {_STAGE}
            WHERE close_ts IS NOT NULL AND (close_ts < ts OR close_ts >= ts + $step)
            ORDER BY src, rowid LIMIT 1""", {"step": step})
        if row:
            fail(row[0], f"close_time {row[2]} does not belong to a {interval} bar opening at {row[1]}")
    row = _first_bad(con, f"""SELECT src, funding_time, symbol FROM {_FSTAGE}
        WHERE funding_time IS NULL OR funding_rate IS NULL OR symbol IS DISTINCT FROM $symbol
        ORDER BY src, rowid LIMIT 1""", {"symbol": symbol})
    if row:
        src, ts, sym = row
        fail(src, f"funding row for {sym}, not {symbol}" if sym != symbol and sym is not None
             else f"missing funding time or rate near {ts}")


def _insert(con: duckdb.DuckDBPyConnection, table: str, symbol: str, step: int, lo: int, hi: int):
    params = {"symbol": symbol, "lo": lo, "hi": hi}
    rows_in, first_ts, last_ts = con.execute(
        f"SELECT count(*), min(ts), max(ts) FROM {_STAGE} WHERE ts >= $lo AND ts < $hi",
        {"lo": lo, "hi": hi}).fetchone()
    # A bar repeated across files (a monthly and a daily file) is kept once, first file wins.
    rows_new = con.execute(f"""INSERT INTO {table} (symbol, ts, open, high, low, close, volume, close_ts)
        SELECT $symbol, ts, open, high, low, close, volume, coalesce(close_ts, ts + $step - 1)
        FROM (SELECT * FROM {_STAGE} WHERE ts >= $lo AND ts < $hi
              QUALIFY row_number() OVER (PARTITION BY ts ORDER BY src, rowid) = 1) s
        WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.symbol = $symbol AND t.ts = s.ts)
        ORDER BY ts""",  # stored in time order, so range scans can skip row groups by min/max
        {**params, "step": step}).fetchone()[0]
    funding_rows = con.execute(f"""INSERT INTO funding (symbol, funding_time, funding_rate)
        SELECT $symbol, funding_time, funding_rate
        FROM (SELECT * FROM {_FSTAGE} WHERE funding_time >= $lo AND funding_time < $hi
              QUALIFY row_number() OVER (PARTITION BY funding_time ORDER BY src, rowid) = 1) s
        WHERE NOT EXISTS (SELECT 1 FROM funding f WHERE f.symbol = $symbol
                          AND f.funding_time = s.funding_time)
        ORDER BY funding_time""", params).fetchone()[0]
    return rows_in, rows_new, first_ts, last_ts, funding_rows


def find_gaps(con: duckdb.DuckDBPyConnection, table: str, symbol: str,
              interval: str) -> tuple[list[tuple[int, int]], int]:
    """(ts before, ts after) wherever consecutive bars are further apart than one interval:
    the first MAX_GAPS of them, and how many there are."""
    limit = MONTH_GAP_MS if interval == "1M" else INTERVAL_MS[interval]
    rows = con.execute(f"""SELECT prev, ts, count(*) OVER () FROM (
        SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev FROM {table} WHERE symbol = $symbol)
        WHERE ts - prev > $limit ORDER BY ts LIMIT $max""",
                       {"symbol": symbol, "limit": limit, "max": MAX_GAPS}).fetchall()
    return [(prev, ts) for prev, ts, _ in rows], (rows[0][2] if rows else 0)

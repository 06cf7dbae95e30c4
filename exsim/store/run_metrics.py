"""Run analytics: what a run did and how well, from the rows the writer stored (runs,
run_status, trades_fills, income, equity_curve). Every function here blocks on DuckDB: callers
run it in a thread (`Database.query(fn, ...)` in the gateway; the CLI calls it directly on a
read-only connection). Only bound parameters reach SQL; columns are read by name.

Definitions (per account; a run has one account per API key, `default` with auth off; the
first account, `default` or the first configured key, is the one lists show):

* starting balance: the run's `starting_balance` (params_json), or the account's own `balance`
  when params_json lists it.
* fills / buys / sells: rows of trades_fills. realized PnL = sum(realized_pnl); fees =
  sum(fee) (commissions and liquidation clearance fees); funding = sum of FUNDING_FEE income
  (paid = what went out, as a positive number; received = what came in).
* net PnL = the sum of every income row: the wallet's change (realized - fees + funding, plus
  any liquidation deficit the insurance fund covered). final equity = the last equity_curve
  point (wallet + unrealized), the starting balance if there is none; unrealized at the end =
  final equity - starting balance - net PnL. return = final equity / starting balance - 1.
* equity points: the recorded equity_curve points with (run start, starting balance) first.
  max drawdown = max over points of (running peak - equity), in USDT; max drawdown % = max of
  (running peak - equity) / running peak (the two may come from different points). Its
  duration: from the peak before the deepest (USDT) drawdown to the first later point back at or
  above that peak, or to the run's end when it never got back (`recovered_ts` is then None).
* periods: the run's bar intervals [start + (k-1)*I, start + k*I), k = 1..N, I the bar interval,
  N = ceil((run end - start) / I); run end = the range's end for a finished run, else the last
  recorded time (capped at the range's end). The equity at the end of period k is the last
  point at or before start + k*I (E_0 = starting balance): the curve resampled to bars.
* Sharpe = mean(r) / stdev(r) * sqrt(P) with r_k = E_k / E_(k-1) - 1 over the N periods, stdev
  the sample standard deviation (N - 1), no risk-free rate, and P = periods per year =
  365 days / I (crypto trades every day: 525,600 for 1m, 8,760 for 1h, 365 for 1d).
  Sortino = mean(r) / sqrt(sum(min(r, 0)^2) / N) * sqrt(P) (downside deviation, target 0).
  None when N < 2 or the deviation is 0.
* closing trades: fills with realized_pnl != 0 (a reduce, close or flip). win rate = share of
  them with realized_pnl > 0; profit factor = sum of positive realized_pnl / -sum of negative
  ones (before fees; None without a losing trade).
* exposure = share of the N periods during which the account held a position in any symbol:
  the position is rebuilt from the fills (cumulative signed quantity per symbol), and a period
  counts if a position was open for some part of it. In hedge mode a long and a short of the
  same size in one symbol net to zero here.
* turnover = sum of fill notional (price * qty) / starting balance.
"""
from __future__ import annotations

import json
import math
import os
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Optional

import duckdb
import msgspec

from ..timeutil import INTERVAL_MS, iso
from .db import StoreError

YEAR_MS = 365 * 86_400_000
DEFAULT_ACCOUNT = "default"
_RUN_ID = re.compile(r"[0-9a-fA-F-]{1,36}")
EXPORT_TABLES = ("runs", "run_status", "orders", "trades_fills", "income", "equity_curve", "event_log")


class UnknownRun(LookupError):
    """No run (or more than one) matches the id given; the message is one line for the user."""


class DatabaseMissing(StoreError):
    """No database file at that path."""


class AccountMetrics(msgspec.Struct, kw_only=True):
    account: str
    starting_balance: float
    fills: int = 0
    buys: int = 0
    sells: int = 0
    realized_pnl: float = 0.0
    fees: float = 0.0
    funding_paid: float = 0.0  # positive: what the account paid
    funding_received: float = 0.0
    funding: float = 0.0  # received - paid
    net_pnl: float = 0.0
    final_equity: float = 0.0
    unrealized_pnl: float = 0.0  # at the end
    total_return: float = 0.0  # fraction: 0.012 is +1.2 %
    max_drawdown: float = 0.0  # USDT
    max_drawdown_pct: float = 0.0  # fraction of the peak
    max_drawdown_peak_ts: Optional[int] = None
    max_drawdown_trough_ts: Optional[int] = None
    max_drawdown_recovered_ts: Optional[int] = None
    max_drawdown_duration_ms: int = 0
    sharpe: Optional[float] = None
    sortino: Optional[float] = None
    closing_trades: int = 0
    wins: int = 0
    losses: int = 0
    win_rate: Optional[float] = None
    gross_profit: float = 0.0
    gross_loss: float = 0.0  # positive
    profit_factor: Optional[float] = None
    exposure: Optional[float] = None  # fraction of the periods with a position
    exposed_periods: int = 0
    notional: float = 0.0  # sum of price * qty of the fills
    turnover: float = 0.0
    equity_points: int = 0
    # fills the assumed intra-bar path decided (engine/matching.py), and what the other path
    # would have changed: sum over them of (price - alt_price) x qty for a BUY, the opposite for
    # a SELL; net PnL ranges over [net_pnl + min(0, other_path), net_pnl + max(0, other_path)]
    ambiguous_fills: int = 0
    other_path_pnl: float = 0.0
    net_pnl_low: float = 0.0
    net_pnl_high: float = 0.0


class RunMetrics(msgspec.Struct, kw_only=True):
    run_id: str
    created: Optional[str]  # ISO UTC, wall time the run started
    strategy: Optional[str]
    status: Optional[str]
    symbols: list[str]
    interval: Optional[str]
    start_ms: Optional[int]
    end_ms: Optional[int]
    range: str
    data_source: Optional[str]
    bars: Optional[int]
    periods: int  # N above
    periods_per_year: Optional[float]
    run_end_ms: Optional[int]
    accounts: list[AccountMetrics]  # the default (first) account first


class RunSummary(msgspec.Struct, kw_only=True):
    """One line of `exsim runs list`: the default (first) account's numbers."""
    run_id: str
    created: Optional[str]
    status: Optional[str]
    symbols: list[str]
    interval: Optional[str]
    start_ms: Optional[int]
    end_ms: Optional[int]
    range: str
    account: str
    accounts: int
    fills: int
    net_pnl: float
    final_equity: float
    total_return: float
    max_drawdown: float
    max_drawdown_pct: float


class EquityPoint(msgspec.Struct, array_like=True):
    ts: int
    equity: float
    drawdown: float  # running peak - equity (USDT)


class Fill(msgspec.Struct, kw_only=True):
    ts: int
    seq: int
    symbol: str
    side: str
    price: float
    qty: float
    realized_pnl: float
    fee: float
    opening: bool  # realized_pnl == 0: opens or adds; otherwise a closing trade


# ------------------------------------------------------------------------------ opening

BUSY_HINT = "use --url http://HOST:PORT to ask the gateway (GET /admin/runs), stop it, or query a copy"


def open_read_only(path: str, busy_hint: str = BUSY_HINT) -> duckdb.DuckDBPyConnection:
    """A read-only connection, or a one-line StoreError (DatabaseMissing when there is no file).
    A gateway holding the file blocks even readers: the message says what to do instead."""
    if not os.path.exists(path):
        raise DatabaseMissing(f"no database at {path} (give --db PATH)")
    try:
        return duckdb.connect(path, read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = re.search(r"PID (\d+)", text)
            who = f" (PID {pid.group(1)})" if pid else ""
            raise StoreError(f"database {path} is held by a running gateway{who}: DuckDB lets no other "
                             f"process open it meanwhile; {busy_hint}") from None
        raise StoreError(f"cannot open database {path}: {text.splitlines()[0] if text else type(exc).__name__}") from None


# ------------------------------------------------------------------------------- helpers

def _ts_text(value) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _range_text(start: Optional[int], end: Optional[int]) -> str:
    if start is None or end is None:
        return ""
    return f"{iso(start)} - {iso(end)}"


def _params(text: Optional[str]) -> dict:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _balances(params: dict) -> tuple[list[str], dict[str, float]]:
    """The configured accounts in config order and their starting balances."""
    base = params.get("starting_balance")
    base = float(base) if isinstance(base, (int, float)) else 100000.0
    names, balances = [], {}
    if params.get("auth") == "verify":
        for key in params.get("api_keys") or []:
            if isinstance(key, dict):  # {"key": ..., "balance": ...}
                name, bal = key.get("key"), key.get("balance")
            else:
                name, bal = key, None
            if isinstance(name, str):
                names.append(name)
                balances[name] = float(bal) if isinstance(bal, (int, float)) and bal else base
    else:
        names.append(DEFAULT_ACCOUNT)
    balances.setdefault(DEFAULT_ACCOUNT, base)
    balances["*"] = base
    return names, balances


def _order_accounts(configured: list[str], seen) -> list[str]:
    return configured + sorted(a for a in set(seen) if a not in configured)


def resolve_run_id(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """The run id that `text` names: the full id or a unique prefix of it."""
    text = text.strip().lower()
    if not _RUN_ID.fullmatch(text):
        raise UnknownRun(f"{text!r} is not a run id")
    rows = con.execute("SELECT run_id::VARCHAR FROM runs WHERE starts_with(run_id::VARCHAR, ?) "
                       "ORDER BY run_id LIMIT 2", [text]).fetchall()
    if not rows:
        raise UnknownRun(f"no run {text} in this database")
    if len(rows) > 1:
        raise UnknownRun(f"run id prefix {text} matches more than one run: give more of it")
    return rows[0][0]


def _header(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple:
    rows = con.execute(
        "SELECT r.run_id::VARCHAR, r.created_at, r.strategy, r.params_json::VARCHAR, s.status, s.symbol, "
        "s.\"interval\", s.start_ms, s.end_ms, s.data_source, s.bars "
        "FROM runs r LEFT JOIN run_status s USING (run_id) WHERE r.run_id = ?::UUID", [run_id]).fetchall()
    if not rows:
        raise UnknownRun(f"no run {run_id} in this database")
    return rows[0]


def _symbols(text: Optional[str], params: dict) -> list[str]:
    if text:
        return [s for s in text.split(",") if s]
    found = params.get("symbols")
    return [s for s in found if isinstance(s, str)] if isinstance(found, list) else []


# --------------------------------------------------------------------------- the metrics

def _drawdown(points: list[tuple[int, float]], run_end: Optional[int]) -> dict:
    """Max drawdown (USDT and %) and the deepest one's duration over points [(ts, equity)]."""
    peak_e, peak_t = points[0][1], points[0][0]
    best = {"max_drawdown": 0.0, "max_drawdown_pct": 0.0, "max_drawdown_peak_ts": None,
            "max_drawdown_trough_ts": None, "max_drawdown_recovered_ts": None, "max_drawdown_duration_ms": 0}
    trough_i, deepest_peak = None, 0.0
    for i, (ts, eq) in enumerate(points):
        if eq > peak_e:
            peak_e, peak_t = eq, ts
        dd = peak_e - eq
        if peak_e > 0 and dd / peak_e > best["max_drawdown_pct"]:
            best["max_drawdown_pct"] = dd / peak_e
        if dd > best["max_drawdown"]:
            best.update(max_drawdown=dd, max_drawdown_peak_ts=peak_t, max_drawdown_trough_ts=ts)
            trough_i, deepest_peak = i, peak_e
    if trough_i is not None:
        until = max(run_end if run_end is not None else points[-1][0], points[-1][0])
        for ts, eq in points[trough_i + 1:]:
            if eq >= deepest_peak:
                best["max_drawdown_recovered_ts"] = until = ts
                break
        best["max_drawdown_duration_ms"] = until - best["max_drawdown_peak_ts"]
    return best


def _resampled(points: list[tuple[int, float]], start: int, step: int, periods: int) -> list[float]:
    """E_0..E_N: the starting balance, then the last point at or before start + k*step."""
    values = [points[0][1]]
    j, n, current = 1, len(points), points[0][1]
    for k in range(1, periods + 1):
        t = start + k * step
        while j < n and points[j][0] <= t:
            current = points[j][1]
            j += 1
        values.append(current)
    return values


def _ratios(values: list[float], per_year: Optional[float]) -> tuple[Optional[float], Optional[float]]:
    n = len(values) - 1
    if n < 2 or not per_year:
        return None, None
    returns = [(b / a - 1.0) if a else 0.0 for a, b in zip(values, values[1:])]
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    down = math.fsum(min(r, 0.0) ** 2 for r in returns) / n
    scale = math.sqrt(per_year)
    sharpe = mean / math.sqrt(var) * scale if var > 0 else None
    sortino = mean / math.sqrt(down) * scale if down > 0 else None
    return sharpe, sortino


def _exposed_periods(fills: list[tuple], start: int, step: int, periods: int, run_end: int) -> int:
    """Periods in which a position was open for some time (fills: (ts, seq, symbol, side, qty))."""
    if not periods:
        return 0
    position: dict[str, Decimal] = {}
    spans, open_since = [], None
    for ts, _seq, symbol, side, qty in fills:
        amt = Decimal(repr(qty)) if side == "BUY" else -Decimal(repr(qty))
        position[symbol] = position.get(symbol, Decimal(0)) + amt
        exposed = any(position.values())
        if exposed and open_since is None:
            open_since = ts
        elif not exposed and open_since is not None:
            spans.append((open_since, ts))
            open_since = None
    if open_since is not None:
        spans.append((open_since, max(run_end, open_since)))
    count, covered = 0, 0  # periods 1..covered already counted
    for a, b in spans:
        if b <= a:
            continue
        lo = max(1, (a - start) // step + 1)
        hi = min(periods, -((start - b) // step))  # ceil((b - start) / step)
        lo = max(lo, covered + 1)
        if hi >= lo:
            count += hi - lo + 1
            covered = hi
    return count


def run_metrics(con: duckdb.DuckDBPyConnection, run_id: str) -> RunMetrics:
    """Every metric of one run (see the module docstring); `run_id` may be a unique prefix."""
    run_id = resolve_run_id(con, run_id)
    (_, created, strategy, params_text, status, symbols, interval, start, end, source, bars) = _header(con, run_id)
    params = _params(params_text)
    configured, balances = _balances(params)
    # a file from before the ambiguity columns (read-only: ensure_schema did not add them)
    known = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                        "WHERE table_name = 'trades_fills'").fetchall()}
    flags = ", coalesce(ambiguous, false), alt_price" if "alt_price" in known else ", false, NULL"
    fills = con.execute("SELECT account, ts, seq, symbol, side, price, qty, realized_pnl, fee" + flags +
                        " FROM trades_fills WHERE run_id = ?::UUID ORDER BY ts, seq", [run_id]).fetchall()
    income = con.execute("SELECT account, income_type, income, ts FROM income WHERE run_id = ?::UUID "
                         "ORDER BY ts, tran_id", [run_id]).fetchall()
    equity = con.execute("SELECT account, ts, equity FROM equity_curve WHERE run_id = ?::UUID "
                         "ORDER BY account, ts", [run_id]).fetchall()
    step = INTERVAL_MS.get(interval or "")
    last = max([r[1] for r in fills] + [r[3] for r in income] + [r[1] for r in equity], default=None)
    if start is None:
        start = min([r[1] for r in fills] + [r[3] for r in income] + [r[1] for r in equity], default=None)
    if status == "finished" and end is not None:
        run_end = end
    elif start is not None:
        run_end = max(start, last if last is not None else start)
        if end is not None:
            run_end = min(run_end, end)
    else:
        run_end = None
    periods = -((start - run_end) // step) if step and start is not None and run_end is not None else 0
    per_year = YEAR_MS / step if step else None

    by_account: dict[str, dict[str, list]] = {}
    for row in fills:
        by_account.setdefault(row[0], {}).setdefault("fills", []).append(row)
    for row in income:
        by_account.setdefault(row[0], {}).setdefault("income", []).append(row)
    for row in equity:
        by_account.setdefault(row[0], {}).setdefault("equity", []).append(row)
    accounts = []
    for name in _order_accounts(configured, by_account):
        data = by_account.get(name, {})
        bal = balances.get(name, balances["*"])
        accounts.append(_account(name, bal, data.get("fills", []), data.get("income", []),
                                 data.get("equity", []), start, step, periods, run_end, per_year))
    return RunMetrics(run_id=run_id, created=_ts_text(created), strategy=strategy, status=status,
                      symbols=_symbols(symbols, params), interval=interval, start_ms=start, end_ms=end,
                      range=_range_text(start, end), data_source=source, bars=bars, periods=periods,
                      periods_per_year=per_year, run_end_ms=run_end, accounts=accounts)


def _account(name: str, bal: float, fills: list, income: list, equity: list, start: Optional[int],
             step: Optional[int], periods: int, run_end: Optional[int], per_year: Optional[float]) -> AccountMetrics:
    m = AccountMetrics(account=name, starting_balance=bal)
    m.fills = len(fills)
    m.buys = sum(1 for f in fills if f[4] == "BUY")
    m.sells = m.fills - m.buys
    m.realized_pnl = math.fsum(f[7] for f in fills)
    m.fees = math.fsum(f[8] for f in fills)
    m.notional = math.fsum(f[5] * f[6] for f in fills)
    m.turnover = m.notional / bal if bal else 0.0
    closing = [f[7] for f in fills if f[7] != 0]
    m.closing_trades = len(closing)
    m.wins = sum(1 for r in closing if r > 0)
    m.losses = m.closing_trades - m.wins
    m.gross_profit = math.fsum(r for r in closing if r > 0)
    m.gross_loss = 0.0 - math.fsum(r for r in closing if r < 0)
    m.win_rate = m.wins / m.closing_trades if closing else None
    m.profit_factor = m.gross_profit / m.gross_loss if m.gross_loss > 0 else None
    funding = [i[2] for i in income if i[1] == "FUNDING_FEE"]
    m.funding_paid = 0.0 - math.fsum(x for x in funding if x < 0)
    m.funding_received = math.fsum(x for x in funding if x > 0)
    m.funding = math.fsum(funding)
    m.net_pnl = math.fsum(i[2] for i in income)
    m.equity_points = len(equity)
    ambiguous = [f for f in fills if f[9] and f[10] is not None]
    m.ambiguous_fills = len(ambiguous)
    m.other_path_pnl = math.fsum((f[5] - f[10]) * f[6] * (1 if f[4] == "BUY" else -1) for f in ambiguous)
    m.net_pnl_low = m.net_pnl + min(0.0, m.other_path_pnl)
    m.net_pnl_high = m.net_pnl + max(0.0, m.other_path_pnl)
    m.final_equity = equity[-1][2] if equity else bal + m.net_pnl
    m.unrealized_pnl = m.final_equity - bal - m.net_pnl
    m.total_return = m.final_equity / bal - 1.0 if bal else 0.0
    origin = start if start is not None else (equity[0][1] if equity else 0)
    points = [(origin, bal)] + [(r[1], r[2]) for r in equity]
    for key, value in _drawdown(points, run_end).items():
        setattr(m, key, value)
    if step and periods:
        m.sharpe, m.sortino = _ratios(_resampled(points, origin, step, periods), per_year)
        m.exposed_periods = _exposed_periods([(f[1], f[2], f[3], f[4], f[6]) for f in fills], origin, step,
                                             periods, run_end if run_end is not None else origin)
        m.exposure = m.exposed_periods / periods
    return m


# ---------------------------------------------------------------------------------- lists

def list_runs(con: duckdb.DuckDBPyConnection, limit: Optional[int] = None) -> list[RunSummary]:
    """Every run, newest first, with its default (first) account's numbers. Aggregates are
    computed in DuckDB for all runs at once (the equity curves never come to Python); the
    drawdown is the same as run_metrics': peak = max(starting balance, running max)."""
    heads = con.execute(
        "SELECT r.run_id::VARCHAR, r.created_at, r.params_json::VARCHAR, s.status, s.symbol, s.\"interval\", "
        "s.start_ms, s.end_ms FROM runs r LEFT JOIN run_status s USING (run_id) "
        "ORDER BY r.created_at DESC, r.run_id LIMIT ?", [limit if limit is not None else 1 << 62]).fetchall()
    if not heads:
        return []
    ids = [h[0] for h in heads]
    fills = {(r[0], r[1]): r[2] for r in con.execute(
        "SELECT run_id::VARCHAR, account, count(*) FROM trades_fills WHERE list_contains(?::VARCHAR[], "
        "run_id::VARCHAR) GROUP BY ALL", [ids]).fetchall()}
    income = {(r[0], r[1]): r[2] for r in con.execute(
        "SELECT run_id::VARCHAR, account, sum(income) FROM income WHERE list_contains(?::VARCHAR[], "
        "run_id::VARCHAR) GROUP BY ALL", [ids]).fetchall()}
    curves = {(r[0], r[1]): r[2:] for r in con.execute(
        "SELECT run_id, account, max(peak - equity), max(CASE WHEN peak > 0 THEN (peak - equity) / peak "
        "ELSE 0 END), min(equity), arg_max(equity, ts) FROM (SELECT run_id::VARCHAR AS run_id, account, ts, "
        "equity, max(equity) OVER (PARTITION BY run_id, account ORDER BY ts ROWS UNBOUNDED PRECEDING) AS peak "
        "FROM equity_curve WHERE list_contains(?::VARCHAR[], run_id::VARCHAR)) GROUP BY ALL", [ids]).fetchall()}
    seen: dict[str, set] = {}
    for run, account in list(fills) + list(income) + list(curves):
        seen.setdefault(run, set()).add(account)
    out = []
    for run_id, created, params_text, status, symbols, interval, start, end in heads:
        params = _params(params_text)
        configured, balances = _balances(params)
        names = _order_accounts(configured, seen.get(run_id, ()))
        account = names[0] if names else DEFAULT_ACCOUNT
        bal = balances.get(account, balances["*"])
        key = (run_id, account)
        net = float(income.get(key) or 0.0)
        dd_run, pct_run, low, final = curves.get(key, (0.0, 0.0, None, None))
        final = final if final is not None else bal + net
        dd = max(dd_run or 0.0, bal - low if low is not None else 0.0, 0.0)
        pct = max(pct_run or 0.0, (bal - low) / bal if low is not None and bal > 0 else 0.0, 0.0)
        out.append(RunSummary(run_id=run_id, created=_ts_text(created), status=status,
                              symbols=_symbols(symbols, params), interval=interval, start_ms=start, end_ms=end,
                              range=_range_text(start, end), account=account, accounts=len(names),
                              fills=int(fills.get(key, 0)), net_pnl=net, final_equity=final,
                              total_return=final / bal - 1.0 if bal else 0.0, max_drawdown=dd,
                              max_drawdown_pct=pct))
    return out


# ------------------------------------------------------------------------ series (report)

def equity_series(con: duckdb.DuckDBPyConnection, run_id: str, account: str) -> list[EquityPoint]:
    """The account's equity points with the starting point first, and the drawdown at each."""
    run_id = resolve_run_id(con, run_id)
    head = _header(con, run_id)
    configured, balances = _balances(_params(head[3]))
    bal = balances.get(account, balances["*"])
    rows = con.execute("SELECT ts, equity FROM equity_curve WHERE run_id = ?::UUID AND account = ? ORDER BY ts",
                       [run_id, account]).fetchall()
    start = head[7] if head[7] is not None else (rows[0][0] if rows else 0)
    out, peak = [], bal
    for ts, eq in [(start, bal)] + rows:
        peak = max(peak, eq)
        out.append(EquityPoint(ts, eq, peak - eq))
    return out


def run_fills(con: duckdb.DuckDBPyConnection, run_id: str, account: str) -> list[Fill]:
    run_id = resolve_run_id(con, run_id)
    rows = con.execute("SELECT ts, seq, symbol, side, price, qty, realized_pnl, fee FROM trades_fills "
                       "WHERE run_id = ?::UUID AND account = ? ORDER BY ts, seq", [run_id, account]).fetchall()
    return [Fill(ts=r[0], seq=r[1], symbol=r[2], side=r[3], price=r[4], qty=r[5], realized_pnl=r[6], fee=r[7],
                 opening=r[6] == 0) for r in rows]

"""`exsim report RUN_ID`: a run's metrics and charts as one offline HTML page plus the charts as
PNG files (html.py: the page; charts.py: the charts, matplotlib's Agg renderer, the `[report]`
extra). Reads the database only: run_metrics for the numbers and series, reader.klines for the
price bars (resampled to at most ~2000 bars per symbol for the chart)."""
from __future__ import annotations

import os
import re
from typing import Optional

import duckdb
import msgspec

from ..store import reader, run_metrics
from ..timeutil import INTERVAL_MS, aggregates
from . import charts
from .charts import MissingDependency

MAX_PRICE_BARS = 2000

__all__ = ["MissingDependency", "ReportResult", "generate"]


class ReportResult(msgspec.Struct, kw_only=True):
    run_id: str
    html: str  # path of report.html
    images: list[str]  # paths of the PNG files


def _chart_interval(base: str, span_ms: int) -> str:
    """The finest interval built from `base` whose bars over the span stay under MAX_PRICE_BARS."""
    for name, size in INTERVAL_MS.items():
        if name != "1M" and aggregates(name, base) and span_ms / size <= MAX_PRICE_BARS:
            return name
    return "1w" if aggregates("1w", base) else base


def _price_rows(con: duckdb.DuckDBPyConnection, symbol: str, base: str, start: int, end: int) -> tuple[list, str, str]:
    """(rows (ts, close), interval, note) of the run's range."""
    interval = _chart_interval(base, end - start)
    try:
        rows = reader.klines(con, symbol, interval, start, end - 1, MAX_PRICE_BARS * 2 + 2, end,
                             base if interval != base else None)
    except reader.NoData as exc:
        return [], interval, f"{symbol}: no bars in this database ({exc})"
    # a bar's close is known at its end: plot it there
    return [(r[6] + 1, r[4]) for r in rows], interval, ""


def generate(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: str, account: Optional[str] = None,
             progress=None) -> ReportResult:
    """Write out_dir/report.html and the charts' PNG files; returns their paths. Blocking."""
    charts.require()
    from . import html

    def step() -> None:
        if progress is not None:
            progress.update(1)

    m = run_metrics.run_metrics(con, run_id)
    names = [a.account for a in m.accounts]
    account = account or (names[0] if names else run_metrics.DEFAULT_ACCOUNT)
    if account not in names:
        raise run_metrics.UnknownRun(f"run {m.run_id} has no account {account} (accounts: {', '.join(names)})")
    a = next(x for x in m.accounts if x.account == account)
    if progress is not None:
        progress.total = float(4 + len(m.symbols))
    step()
    os.makedirs(out_dir, exist_ok=True)
    series = run_metrics.equity_series(con, m.run_id, account)
    fills = run_metrics.run_fills(con, m.run_id, account)
    made: list[tuple[str, str, str, bytes]] = []  # (file, heading, alt, png)
    ts = [p.ts for p in series]
    made.append(("equity.png", "Equity", f"equity of {account}",
                 charts.equity(ts, [p.equity for p in series], a.starting_balance, f"Equity ({account}, USDT)")))
    made.append(("drawdown.png", "Drawdown", f"drawdown of {account}",
                 charts.drawdown(ts, [p.drawdown for p in series],
                                 f"Drawdown below the running peak ({account}, USDT)")))
    step()
    notes = []
    for symbol in m.symbols:
        rows, interval, note = ([], "", "no run range") if m.start_ms is None or m.end_ms is None else \
            _price_rows(con, symbol, m.interval or "1m", m.start_ms, m.end_ms)
        if note:
            notes.append(note)
        mine = [f for f in fills if f.symbol == symbol]
        made.append((f"price_{re.sub(r'[^A-Za-z0-9_-]', '_', symbol)}.png", f"Price {symbol}", f"{symbol} close price with entries and exits",
                     charts.price([r[0] for r in rows], [r[1] for r in rows], mine,
                                  f"{symbol} close ({interval} bars) with entries (triangles) and exits (circles)",
                                  note or None)))
        step()
    made.append(("trade_pnl.png", "PnL per trade", "realized PnL per closing trade",
                 charts.trade_pnl([f.realized_pnl for f in fills if not f.opening],
                                  f"Realized PnL per closing trade ({account})")))
    step()
    images = []
    for name, _, _, png in made:
        path = os.path.join(out_dir, name)
        with open(path, "wb") as f:
            f.write(png)
        images.append(path)
    page = html.page(m, account, [(h, alt, png) for _, h, alt, png in made], notes)
    html_path = os.path.join(out_dir, "report.html")
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(page)
    step()
    return ReportResult(run_id=m.run_id, html=html_path, images=images)

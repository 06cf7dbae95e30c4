"""How run metrics read as text: one table of labels and formats shared by `exsim runs show`,
`exsim runs compare` and the HTML report, so all three print the same numbers."""
from __future__ import annotations

import re
from typing import Callable, Optional

from ..store.run_metrics import AccountMetrics, RunMetrics
from ..timeutil import iso

DASH = "-"
# what a table right-aligns: 1,234.50 / -0.25 / 12.5 % / 0.017x / 0.43 (0.02 %) / 3 / 1 / 2
_NUMBER = re.compile(r"^[-+]?[\d,]+(\.\d+)?( %|x)?( \(.*\))?$|^[\d,]+ / [\d,]+$")


def money(v: Optional[float]) -> str:
    if v is None:
        return DASH
    return f"{v if round(v, 2) else 0.0:,.2f}"  # no "-0.00" for a float rounding error


def pct(v: Optional[float]) -> str:
    if v is None:
        return DASH
    v = 100 * v
    if abs(v) < 0.1:  # small ones keep their digits: 0.0247 %, not 0.00 %
        return f"{v if round(v, 4) else 0.0:.4f} %"
    return f"{v:.2f} %"


def ratio(v: Optional[float]) -> str:
    return DASH if v is None else f"{v:.3f}"


def count(v: Optional[int]) -> str:
    return DASH if v is None else f"{v:,}"


def when(ms: Optional[int]) -> str:
    return DASH if ms is None else iso(ms)


def duration(ms: Optional[int]) -> str:
    if ms is None:
        return DASH
    seconds = ms // 1000
    days, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _both(a: AccountMetrics) -> str:
    return f"{a.buys:,} / {a.sells:,}"


def _dd(a: AccountMetrics) -> str:
    return f"{money(a.max_drawdown)} ({pct(a.max_drawdown_pct)})"


def _dd_when(a: AccountMetrics) -> str:
    if a.max_drawdown_peak_ts is None:
        return DASH
    back = short_time(a.max_drawdown_recovered_ts) if a.max_drawdown_recovered_ts is not None else "not recovered"
    return f"{short_time(a.max_drawdown_peak_ts)} -> {short_time(a.max_drawdown_trough_ts)} -> {back}"


def _exposure(a: AccountMetrics) -> str:
    return DASH if a.exposure is None else f"{pct(a.exposure)} ({a.exposed_periods:,} bars)"


# label, how to print it from an account's metrics
ACCOUNT_ROWS: list[tuple[str, Callable[[AccountMetrics], str]]] = [
    ("starting balance", lambda a: money(a.starting_balance)),
    ("fills", lambda a: count(a.fills)),
    ("buys / sells", _both),
    ("realized PnL", lambda a: money(a.realized_pnl)),
    ("fees", lambda a: money(a.fees)),
    ("funding paid", lambda a: money(a.funding_paid)),
    ("funding received", lambda a: money(a.funding_received)),
    ("net PnL", lambda a: money(a.net_pnl)),
    ("unrealized PnL at end", lambda a: money(a.unrealized_pnl)),
    ("final equity", lambda a: money(a.final_equity)),
    ("return", lambda a: pct(a.total_return)),
    ("max drawdown", _dd),
    ("max drawdown duration", lambda a: duration(a.max_drawdown_duration_ms) if a.max_drawdown_peak_ts is not None
     else DASH),
    ("peak -> trough -> recovery", _dd_when),
    ("Sharpe (annualised)", lambda a: ratio(a.sharpe)),
    ("Sortino (annualised)", lambda a: ratio(a.sortino)),
    ("closing trades", lambda a: count(a.closing_trades)),
    ("win rate", lambda a: pct(a.win_rate)),
    ("profit factor", lambda a: ratio(a.profit_factor)),
    ("exposure", _exposure),
    ("notional traded", lambda a: money(a.notional)),
    ("turnover", lambda a: ratio(a.turnover) + "x"),
    ("ambiguous fills", lambda a: count(a.ambiguous_fills)),
    ("net PnL across paths", lambda a: f"{money(a.net_pnl_low)} .. {money(a.net_pnl_high)}" if a.ambiguous_fills
     else DASH),
]


def account_rows(a: AccountMetrics) -> list[tuple[str, str]]:
    return [(label, show(a)) for label, show in ACCOUNT_ROWS]


def run_rows(m: RunMetrics) -> list[tuple[str, str]]:
    return [("run id", m.run_id), ("created", m.created or DASH), ("status", m.status or DASH),
            ("strategy", m.strategy or DASH), ("symbols", ",".join(m.symbols) or DASH),
            ("interval", m.interval or DASH), ("range", m.range or DASH),
            ("data source", m.data_source or DASH), ("bars", count(m.bars)),
            ("periods (bars of the metrics)", count(m.periods)),
            ("accounts", ", ".join(a.account for a in m.accounts) or DASH)]


def text_table(header: list[str], rows: list[list[str]], tty: bool) -> str:
    """An aligned table for a terminal (numbers right-aligned), tab-separated lines otherwise."""
    if not tty:
        return "\n".join("\t".join(cells) for cells in [header] + rows)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def numeric(text: str) -> bool:
        return bool(_NUMBER.match(text))

    def line(cells: list[str], head: bool = False) -> str:
        return "  ".join(c.rjust(w) if not head and i and numeric(c) else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(header, True), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def short_time(ms: Optional[int]) -> str:
    """2024-01-01 at midnight, else 2024-01-01 07:50 (UTC)."""
    if ms is None:
        return DASH
    text = iso(ms)  # 2024-01-01T07:50:00Z
    if text.endswith("T00:00:00Z"):
        return text[:10]
    return text[:10] + " " + (text[11:16] if text.endswith(":00Z") else text[11:19])


def summary_cells(s, tty: bool) -> list[str]:
    """One `exsim runs list` line (a run_metrics.RunSummary)."""
    span = f"{short_time(s.start_ms)} - {short_time(s.end_ms)}" if tty else s.range
    created = (s.created or DASH).replace("T", " ").rstrip("Z") if tty else (s.created or DASH)
    number = money if tty else (lambda v: f"{v:.8f}".rstrip("0").rstrip("."))
    dd = f"{money(s.max_drawdown)} ({pct(s.max_drawdown_pct)})" if tty else number(s.max_drawdown)
    return [s.run_id, created, ",".join(s.symbols), s.interval or DASH, span, count(s.fills) if tty else str(s.fills),
            number(s.net_pnl), dd, s.status or DASH]


SUMMARY_HEADER = ["run_id", "created", "symbols", "interval", "range", "fills", "net_pnl", "max_drawdown", "status"]

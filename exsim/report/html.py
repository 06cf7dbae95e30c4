"""One self-contained HTML page per run: inline CSS, every chart an embedded base64 PNG, no
script and no link to anything outside the file, so it opens offline and can be mailed."""
from __future__ import annotations

import base64
from html import escape

from ..store.run_metrics import RunMetrics
from . import format as fmt

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1140px;
       color: #222; padding: 0 16px; }
h1 { font-size: 20px; margin-bottom: 4px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 3px 12px 3px 0; text-align: left;
       border-bottom: 1px solid #eee; vertical-align: top; } th { font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; display: block; margin: 8px 0 16px; border: 1px solid #eee; }
.muted { color: #777; font-size: 12px; }
"""

DEFINITIONS = [
    ("net PnL", "the sum of every income row: realized PnL - fees + funding (the wallet's change)"),
    ("max drawdown", "largest fall of equity below its running peak (starting balance first), in USDT "
                     "and as a share of that peak; its duration runs from the peak to the recovery"),
    ("Sharpe / Sortino", "on the equity curve resampled to the run's bars: mean of the per-bar returns "
                         "over their sample standard deviation (Sortino: downside deviation, target 0), "
                         "times the square root of the bars in 365 days; no risk-free rate"),
    ("win rate / profit factor", "over closing trades (fills with realized PnL != 0), before fees"),
    ("exposure", "share of the run's bars during which a position was open (rebuilt from the fills)"),
    ("turnover", "sum of fill notional over the starting balance"),
    ("net PnL across paths", "fills the assumed intra-bar path decided (ambiguous) priced at the other "
                             "side's price instead: the range of net PnL between the two paths"),
]


def _table(rows, header=None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        label, *values = row
        out.append(f"<tr><th>{escape(label)}</th>" + "".join(f'<td class="num">{escape(v)}</td>' for v in values)
                   + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def page(m: RunMetrics, account: str, charts: list[tuple[str, str, bytes]], notes: list[str]) -> str:
    """charts: (heading, alt text, PNG bytes) in page order."""
    accounts = m.accounts
    header = ["metric"] + [a.account for a in accounts]
    rows = [[label] + [fmt.account_rows(a)[i][1] for a in accounts] for i, (label, _) in enumerate(fmt.ACCOUNT_ROWS)]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>ExSim run {escape(m.run_id)}</title>", f"<style>{CSS}</style></head><body>",
        f"<h1>ExSim run {escape(m.run_id)}</h1>",
        f'<p class="muted">{escape(",".join(m.symbols))} {escape(m.interval or "")} &middot; {escape(m.range)} '
        f"&middot; {escape(m.status or '')}</p>",
        "<h2>Run</h2>", _table(fmt.run_rows(m)),
        "<h2>Metrics</h2>", _table(rows, header),
    ]
    parts.append(f'<h2>Charts <span class="muted">(account {escape(account)})</span></h2>')
    for heading, alt, png in charts:
        parts.append(f"<h3>{escape(heading)}</h3>")
        parts.append(image(png, alt))
    for note in notes:
        parts.append(f'<p class="muted">{escape(note)}</p>')
    parts.append("<h2>Definitions</h2>")
    parts.append(_table([(k, v) for k, v in DEFINITIONS]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

"""The report's charts as PNG bytes, drawn with matplotlib's Agg renderer (no display, no
pyplot global state: each chart is its own Figure). matplotlib is the `[report]` extra;
`require()` says how to install it when it is missing."""
from __future__ import annotations

import io
from typing import Optional, Sequence

INSTALL_HINT = "exsim report needs matplotlib: pip install 'exsim[report]' (or pip install matplotlib)"
WIDTH, HEIGHT, DPI = 11.0, 3.6, 100
UP, DOWN, LINE, FILL = "#1a9850", "#d73027", "#2c7fb8", "#fdae61"


class MissingDependency(RuntimeError):
    """The plotting library is not installed; the message says how to install it."""


def require() -> None:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise MissingDependency(INSTALL_HINT) from None


def _figure(title: str):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(True, alpha=0.3)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")  # 100,000.25, not 0.25 + 1e5
    return fig, ax


def _times(ts: Sequence[int]):
    import numpy as np
    return np.array(ts, dtype="datetime64[ms]")


def _date_axis(ax) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _png(fig, dates: bool = True) -> bytes:
    if dates:
        _date_axis(fig.axes[0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no tool banner inside the file
    return buf.getvalue()


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="grey")


def equity(ts: Sequence[int], values: Sequence[float], start_balance: float, title: str) -> bytes:
    fig, ax = _figure(title)
    if ts:
        ax.plot(_times(ts), values, color=LINE, linewidth=1.0, drawstyle="steps-post")
        ax.axhline(start_balance, color="grey", linewidth=0.8, linestyle="--")
    else:
        _empty(ax, "no equity points")
    ax.set_ylabel("USDT")
    return _png(fig)


def drawdown(ts: Sequence[int], values: Sequence[float], title: str) -> bytes:
    fig, ax = _figure(title)
    if ts:
        t = _times(ts)
        neg = [-v for v in values]
        ax.fill_between(t, neg, 0, step="post", color=DOWN, alpha=0.35, linewidth=0)
        ax.plot(t, neg, color=DOWN, linewidth=0.8, drawstyle="steps-post")
    else:
        _empty(ax, "no equity points")
    ax.set_ylabel("USDT below the peak")
    return _png(fig)


def price(bar_ts: Sequence[int], closes: Sequence[float], fills: Sequence, title: str,
          note: Optional[str] = None) -> bytes:
    """Close prices with the fills: entries (opening) as triangles, exits (closing) as circles."""
    fig, ax = _figure(title)
    if bar_ts:
        ax.plot(_times(bar_ts), closes, color="#555555", linewidth=0.8, label="close")
    groups = (("entry buy", lambda f: f.opening and f.side == "BUY", "^", UP),
              ("entry sell", lambda f: f.opening and f.side == "SELL", "v", DOWN),
              ("exit buy", lambda f: not f.opening and f.side == "BUY", "o", UP),
              ("exit sell", lambda f: not f.opening and f.side == "SELL", "o", DOWN))
    size = 36 if len(fills) <= 200 else 10
    for label, pick, marker, color in groups:
        chosen = [f for f in fills if pick(f)]
        if chosen:
            ax.scatter(_times([f.ts for f in chosen]), [f.price for f in chosen], marker=marker, s=size, zorder=3,
                       color=color if marker != "o" else "none", edgecolors=color, label=label)
    if not bar_ts and not fills:
        _empty(ax, note or "no bars")
    elif note:
        ax.text(0.01, 0.02, note, transform=ax.transAxes, fontsize=8, color="grey")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8)
    ax.set_ylabel("price")
    return _png(fig)


def trade_pnl(pnls: Sequence[float], title: str) -> bytes:
    """Realized PnL per closing trade (bars) and its running sum (line)."""
    fig, ax = _figure(title)
    if pnls:
        xs = list(range(1, len(pnls) + 1))
        colors = [UP if p > 0 else DOWN for p in pnls]
        if len(pnls) <= 300:
            ax.bar(xs, pnls, color=colors, width=0.8)
        else:  # thousands of bars: one line collection draws them in a fraction of the time
            ax.vlines(xs, 0, pnls, colors=colors, linewidth=max(0.3, min(2.0, 600 / len(pnls))))
        running, total = [], 0.0
        for p in pnls:
            total += p
            running.append(total)
        ax.plot(xs, running, color=LINE, linewidth=1.2, marker="o" if len(xs) <= 50 else None, markersize=3,
                label="cumulative")
        ax.axhline(0, color="grey", linewidth=0.8)
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.4, max(len(xs), 10) + 0.6)  # a handful of trades stay narrow bars
        ax.set_xlabel("closing trade #")
        ax.legend(loc="best", fontsize=8)
    else:
        _empty(ax, "no closing trades")
    ax.set_ylabel("realized PnL (USDT)")
    return _png(fig, dates=False)

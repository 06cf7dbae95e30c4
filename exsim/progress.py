"""Progress of long commands (`load`, `demo-data`, `report`): a bar redrawn in place on a
terminal, plain lines otherwise (a log file, CI, a pipe) - one each 10 % or each 10 s.

It writes to stderr, so stdout stays clean for `--json` and pipes. `EXSIM_PROGRESS=bar|lines|off`
overrides the choice (`TERM=dumb` counts as no terminal). A library (tqdm, rich) would do the
same in more code than this module and one more dependency; what this module needs of one is
only a carriage return and a rate.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Callable, Optional, TextIO

BAR_WIDTH = 24
REDRAW_S = 0.1  # the bar is redrawn at most this often
LINE_EVERY_S = 10.0  # plain mode: a line at least this often while something moves ...
LINE_EVERY_PCT = 10.0  # ... and at each multiple of this percentage


def mode_for(stream: TextIO, env: Optional[dict] = None) -> str:
    """'bar' on an interactive terminal, else 'lines'; EXSIM_PROGRESS overrides."""
    env = os.environ if env is None else env
    forced = env.get("EXSIM_PROGRESS", "").strip().lower()
    if forced in ("bar", "lines", "off"):
        return forced
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        tty = False
    return "bar" if tty and env.get("TERM", "") != "dumb" else "lines"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """`total` units of work (`unit` names them; None shows only the percentage).

    with Progress("klines BTCUSDT 1m", total=n, unit="bars") as p:
        p.update(len(page))        # or p.set(done)
    """

    def __init__(self, label: str, total: float, unit: Optional[str] = None, stream: Optional[TextIO] = None,
                 mode: Optional[str] = None, enabled: bool = True, clock: Callable[[], float] = time.monotonic,
                 every_s: float = LINE_EVERY_S, every_pct: float = LINE_EVERY_PCT) -> None:
        self.label, self.total, self.unit = label, max(0.0, float(total)), unit
        self.stream = stream if stream is not None else sys.stderr
        self.mode = "off" if not enabled else (mode or mode_for(self.stream))
        self.clock, self.every_s, self.every_pct = clock, every_s, every_pct
        self.done = 0.0
        self.began = self._last_draw = self._last_line = clock()
        self._last_step = 0  # plain mode: the last percentage multiple printed
        self._last_done_line = 0.0
        self._closed = False
        self._width = 0

    # --- feeding it -------------------------------------------------------------------

    def update(self, n: float = 1) -> None:
        self.set(self.done + n)

    def set(self, done: float) -> None:
        self.done = min(max(0.0, float(done)), self.total) if self.total else max(0.0, float(done))
        if self.mode == "bar":
            now = self.clock()
            if now - self._last_draw >= REDRAW_S:
                self._last_draw = now
                self._draw(self._bar_text(now))
        elif self.mode == "lines":
            self._maybe_line()

    def close(self, ok: bool = True) -> None:
        """The final state: the bar at its end and a newline, or a 'done' line (`ok` False: the
        work stopped early, on an error: the line says where)."""
        if self._closed:
            return
        self._closed = True
        if self.mode == "off":
            return
        now = self.clock()
        pct = 100.0 * self.fraction() if self.total else 100.0
        if self.mode == "bar":
            if ok:
                self._draw(self._bar_text(now, final=True))
            self.stream.write("\n")
        elif ok:
            what = f", {self._count(self.done)}" if self.unit else ""
            self.stream.write(f"{self.label}: {pct:.1f}% done{what} in {now - self.began:.1f} s\n")
        else:
            self.stream.write(f"{self.label}: stopped at {pct:.1f}%\n")
        self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(ok=kind is None)

    # --- text ---------------------------------------------------------------------------

    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _count(self, value: float, unit: bool = True) -> str:
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        return f"{text} {self.unit}" if self.unit and unit else text

    def _of(self) -> str:
        """'4/5 steps'"""
        return f"{self._count(self.done, unit=False)}/{self._count(self.total)}"

    def _rate_eta(self, now: float) -> list[str]:
        """['1,234.5 bars/s', 'ETA 0:12'] (either may be missing)."""
        elapsed = now - self.began
        if elapsed <= 0 or self.done <= 0:
            return []
        rate = self.done / elapsed
        parts = [f"{rate:,.1f} {self.unit}/s"] if self.unit else []
        if self.total and self.done < self.total:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        return parts

    def _bar_text(self, now: float, final: bool = False) -> str:
        frac = 1.0 if final and not self.total else self.fraction()
        filled = int(round(frac * BAR_WIDTH))
        parts = [f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * frac:5.1f}%"]
        if self.unit:
            parts.append(self._of() if self.total else self._count(self.done))
        parts += [f"in {_duration(now - self.began)}"] if final else self._rate_eta(now)
        return " ".join(parts)

    def _draw(self, text: str) -> None:
        pad = max(0, self._width - len(text))  # wipe what a longer previous text left
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def _maybe_line(self) -> None:
        now = self.clock()
        pct = 100 * self.fraction()
        step = int(pct // self.every_pct) if self.every_pct > 0 else 0
        due = step > self._last_step or (now - self._last_line >= self.every_s and self.done > self._last_done_line)
        if not due or (self.total and self.done >= self.total):  # the end gets close()'s line
            return
        self._last_step, self._last_line, self._last_done_line = step, now, self.done
        bits = [self._of()] if self.unit and self.total else []
        bits += self._rate_eta(now)
        self.stream.write(f"{self.label}: {pct:.0f}%" + (f" ({', '.join(bits)})" if bits else "") + "\n")
        self.stream.flush()

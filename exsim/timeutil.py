"""Intervals and time parsing shared by config, store and wire (epoch milliseconds, UTC)."""
from __future__ import annotations

from datetime import datetime, timezone

MINUTE = 60_000
INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE,
    "1h": 60 * MINUTE, "2h": 120 * MINUTE, "4h": 240 * MINUTE, "6h": 360 * MINUTE,
    "8h": 480 * MINUTE, "12h": 720 * MINUTE, "1d": 1440 * MINUTE, "3d": 3 * 1440 * MINUTE,
    "1w": 7 * 1440 * MINUTE,
    # 1M is the calendar month (period_open/period_end); 30 days is only its nominal length
    "1M": 30 * 1440 * MINUTE,
}
DAY_MS = 1440 * MINUTE
WEEK_OFFSET_MS = 4 * DAY_MS  # Binance weeks open on Monday 00:00 UTC; epoch day 0 was a Thursday
FUNDING_PERIOD_MS = 8 * 60 * MINUTE


def period_open(interval: str, ts: int) -> int:
    """Open time of the `interval` period holding `ts`, on Binance's boundaries: fixed intervals
    from the epoch, weeks from Monday 00:00 UTC, `1M` from the first of the calendar month."""
    if interval == "1M":
        d = datetime.fromtimestamp(ts // 1000, tz=timezone.utc)
        return int(datetime(d.year, d.month, 1, tzinfo=timezone.utc).timestamp()) * 1000
    size = INTERVAL_MS[interval]
    offset = WEEK_OFFSET_MS if interval == "1w" else 0
    return (ts - offset) // size * size + offset


def period_end(interval: str, open_ms: int) -> int:
    """Open time of the period after the one opened at `open_ms` (its close time is this - 1)."""
    if interval == "1M":
        d = datetime.fromtimestamp(open_ms // 1000, tz=timezone.utc)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp()) * 1000
    return open_ms + INTERVAL_MS[interval]


def aggregates(interval: str, base: str) -> bool:
    """True when every `interval` period is a whole number of `base` periods, so its bars can be
    built from base bars: an equal or coarser interval whose boundaries are base boundaries."""
    if interval == base:
        return True
    size, unit = INTERVAL_MS[interval], INTERVAL_MS[base]
    if size <= unit:
        return False
    if interval in ("1w", "1M"):  # Monday / calendar boundaries fall on day boundaries
        return DAY_MS % unit == 0
    return size % unit == 0


def parse_time_ms(value) -> int:
    """Epoch ms from an int, a digit string (ms, or seconds if < 1e11), or an ISO date/time (UTC)."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, (int, float)):
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        stamp = datetime.fromisoformat(text)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return int(stamp.timestamp() * 1000)
    else:
        raise ValueError("not a time")
    return number * 1000 if 0 <= number < 100_000_000_000 else number


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

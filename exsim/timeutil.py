"""Intervals and time parsing shared by config, store and wire (epoch milliseconds, UTC)."""
from __future__ import annotations

from datetime import datetime, timezone

MINUTE = 60_000
INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE,
    "1h": 60 * MINUTE, "2h": 120 * MINUTE, "4h": 240 * MINUTE, "6h": 360 * MINUTE,
    "8h": 480 * MINUTE, "12h": 720 * MINUTE, "1d": 1440 * MINUTE, "3d": 3 * 1440 * MINUTE,
    "1w": 7 * 1440 * MINUTE,
    # 1M is calendar based on Binance; a fixed 30 days keeps resampling in plain SQL.
    "1M": 30 * 1440 * MINUTE,
}
FUNDING_PERIOD_MS = 8 * 60 * MINUTE


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

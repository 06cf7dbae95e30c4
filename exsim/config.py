"""Typed configuration: defaults < exsim.toml < environment < CLI flags.

Every value remembers where it came from so `exsim config show` can say so, and
a bad value stops startup with one line naming the key, its source and what
was expected (exit code 2, see `ConfigError`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping, Union

import msgspec

from .engine.brackets import for_symbol
from .timeutil import INTERVAL_MS, parse_time_ms

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - 3.10
    import tomli as tomllib  # type: ignore[no-redef]


class ConfigError(Exception):
    """A bad configuration value; the message is the one line shown to the user."""


class _Base(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    pass


class BracketSpec(_Base):
    """One leverage tier (engine/brackets.py): up to `notional_cap` USDT of position notional,
    leverage up to `initial_leverage`, maintenance margin at `maint_margin_ratio`."""

    initial_leverage: int
    notional_cap: str
    maint_margin_ratio: str


class SymbolSpec(_Base):
    """Exchange filters of one symbol (what exchangeInfo publishes and orders obey)."""

    tick_size: str = "0.01"
    step_size: str = "0.001"
    min_qty: str = "0.001"
    max_qty: str = "1000000"
    market_max_qty: str = "100000"
    min_notional: str = "5"
    min_price: str = "0.01"
    max_price: str = "10000000"
    max_num_orders: int = 200
    percent_price_up: str = "1.0500"
    percent_price_down: str = "0.9500"
    liquidation_fee: str = "0.012500"  # of the notional, charged on liquidation (exchangeInfo)
    maker_bps: Union[float, None] = None  # this symbol's commission; None = the config's maker_bps
    taker_bps: Union[float, None] = None
    brackets: list[BracketSpec] = []  # leverage tiers; empty = Binance-like defaults (brackets.py)


# Binance's real filters for the symbols the demo data ships; others get SymbolSpec().
DEFAULT_SYMBOLS: dict[str, SymbolSpec] = {
    "BTCUSDT": SymbolSpec(tick_size="0.10", step_size="0.001", min_qty="0.001", max_qty="1000",
                          market_max_qty="120", min_notional="100", min_price="556.80",
                          max_price="4529764"),
    "ETHUSDT": SymbolSpec(tick_size="0.01", step_size="0.001", min_qty="0.001", max_qty="10000",
                          market_max_qty="2000", min_notional="20", min_price="39.86",
                          max_price="306177"),
}


class ApiKey(_Base):
    key: str
    secret: str
    balance: Union[float, None] = None  # starting balance of this account; None = starting_balance


class WsConfig(_Base):
    max_outbox_bytes: int = 4 * 1024 * 1024  # a client further behind than this is dropped
    ping_interval: float = 180.0  # Binance pings every 3 minutes
    max_streams: int = 1024
    max_messages_per_sec: int = 10
    max_frame_bytes: int = 64 * 1024
    listen_key_ttl: float = 3600.0  # seconds (wall time) a listenKey lives without a keepalive


class StoreConfig(_Base):
    flush_interval: float = 0.5  # seconds between batched writes of fills/orders/equity
    equity_every_bars: int = 1  # equity point every N bars while a position is open
    event_log: bool = False  # also persist every engine event (table event_log), for audits


class Config(_Base):
    host: str = "127.0.0.1"
    port: int = 9010
    duckdb_path: str = "data/exsim.duckdb"
    # The replayed symbols: `symbols` if set, else `symbol` if set, else every symbol of the
    # database (`replayed_symbols`). All of them share one clock and one wallet per account.
    symbol: Union[str, None] = None
    symbols: list[str] = []
    interval: str = "1m"  # the base interval: replayed bars; streams and REST aggregate coarser ones
    start: Union[str, int, None] = None  # None = first bar in the database
    end: Union[str, int, None] = None  # exclusive; None = after the last bar
    speed: Union[float, Literal["max"]] = 25.0  # bars per second; 0 = paused
    # "wall": bars at `speed` whatever the bots do; "lockstep": the next bar only once every bot
    # has seen this one and gone idle (exsim/lockstep.py), so a bot's latency decides nothing
    pacing: Literal["wall", "lockstep"] = "wall"
    quiet_ms: float = 5.0  # lockstep: a bot idle this long (wall time) after its last request is done
    max_wait_ms: float = 10000.0  # lockstep: advance anyway after this long (journals a TIMEOUT)
    min_bots: int = 1  # lockstep: the first bar waits until this many bots have connected
    journal_fsync: bool = False  # fsync the journal file per command (power loss, not just kill -9)
    journal_dir: Union[str, None] = None  # default: <duckdb_path>.journal/
    maker_bps: float = 2.0  # Binance's base tier (VIP 0): maker 0.02 %, taker 0.05 %
    taker_bps: float = 5.0
    slippage_bps: float = 0.0
    starting_balance: float = 100000.0
    default_leverage: int = 20
    ticks_per_bar: int = 1
    on_end: Literal["stop", "loop", "exit"] = "stop"
    strict_filters: bool = False
    conditional_on_order_endpoint: bool = True  # legacy stop orders on /fapi/v1/order
    funding_rate: float = 0.0001  # used every 8 h when the database has no funding rows
    spread_bps: float = 1.0  # synthetic bookTicker / depth spread
    # fill realism (engine/matching.py; every option off by default)
    fill_resolution: Union[str, None] = None  # e.g. "1m": resting orders of coarser bars resolved on 1m bars
    limit_fill: Literal["touch", "through"] = "touch"  # through: the price must trade a tick beyond the limit
    max_participation: float = 0.0  # share of a bar's volume the orders may take; 0 = unlimited
    latency_ms: float = 0.0  # an order reaches the book this long (sim time) after it is accepted
    latency_jitter_ms: float = 0.0  # plus a uniform 0..jitter, drawn from latency_seed
    latency_seed: int = 7
    queue: Literal["none", "volume"] = "none"  # volume: a resting LIMIT waits for the volume ahead of it
    auth: Literal["off", "verify"] = "off"
    api_keys: list[ApiKey] = []
    admin_token: str = ""
    rate_limit: bool = False  # enforce REQUEST_WEIGHT 2400/min with 429 + Retry-After
    max_body_bytes: int = 1024 * 1024
    demo_seed: int = 7
    access_log: bool = False  # a line per request (wire/access_log.py); also on when log_level is DEBUG
    log_level: str = "INFO"
    symbol_specs: dict[str, SymbolSpec] = {}  # exchange filters per symbol ([symbol_specs.BTCUSDT])
    ws: WsConfig = WsConfig()
    store: StoreConfig = StoreConfig()

    def symbol_spec(self, symbol: str) -> SymbolSpec:
        return self.symbol_specs.get(symbol) or DEFAULT_SYMBOLS.get(symbol) or SymbolSpec()

    @property
    def requested_symbols(self) -> list[str]:
        """The symbols the config names (empty: every symbol of the database)."""
        if self.symbols:
            return list(self.symbols)
        return [self.symbol] if self.symbol else []

    @property
    def interval_ms(self) -> int:
        return INTERVAL_MS[self.interval]

    @property
    def start_ms(self) -> Union[int, None]:
        return None if self.start is None else parse_time_ms(self.start)

    @property
    def end_ms(self) -> Union[int, None]:
        return None if self.end is None else parse_time_ms(self.end)


# ENV names are the spec's; the rest follow the same pattern.
ENV_NAMES: dict[str, str] = {
    "host": "HOST", "port": "PORT", "duckdb_path": "DUCKDB_PATH", "symbol": "SYMBOL",
    "symbols": "SYMBOLS",
    "interval": "INTERVAL", "start": "START", "end": "END", "speed": "SPEED",
    "maker_bps": "FEE_MAKER_BPS", "taker_bps": "FEE_TAKER_BPS", "slippage_bps": "SLIPPAGE_BPS",
    "starting_balance": "STARTING_BALANCE", "ticks_per_bar": "TICKS_PER_BAR", "on_end": "ON_END",
    "auth": "AUTH", "admin_token": "ADMIN_TOKEN", "strict_filters": "STRICT_FILTERS",
    "log_level": "LOG_LEVEL", "access_log": "ACCESS_LOG", "pacing": "PACING", "quiet_ms": "QUIET_MS",
    "max_wait_ms": "MAX_WAIT_MS", "min_bots": "MIN_BOTS", "journal_fsync": "JOURNAL_FSYNC",
}

# CLI flag -> key (flags as the spec names them).
FLAG_NAMES: dict[str, str] = {
    "--host": "host", "--port": "port", "--duckdb-path": "duckdb_path", "--symbol": "symbol",
    "--symbols": "symbols",
    "--interval": "interval", "--start": "start", "--end": "end", "--speed": "speed",
    "--maker-bps": "maker_bps", "--taker-bps": "taker_bps", "--slippage-bps": "slippage_bps",
    "--starting-balance": "starting_balance", "--ticks-per-bar": "ticks_per_bar",
    "--on-end": "on_end", "--auth": "auth", "--access-log": "access_log", "--pacing": "pacing",
    "--quiet-ms": "quiet_ms", "--max-wait-ms": "max_wait_ms", "--min-bots": "min_bots",
}
# Flags that take no value: given means true.
SWITCHES = ("--access-log",)

DEFAULT_CONFIG_FILE = "exsim.toml"


class Loaded(msgspec.Struct, frozen=True):
    config: Config
    sources: dict[str, str]  # key -> "default" | "file <path>" | "env NAME" | "flag --x"


def load(path: Union[str, None] = None, env: Union[Mapping[str, str], None] = None,
         flags: Union[Mapping[str, Any], None] = None) -> Loaded:
    """Merge the layers and validate; raises ConfigError with a one-line message."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}

    file_path = path or env.get("EXSIM_CONFIG")
    explicit = file_path is not None
    file_path = file_path or DEFAULT_CONFIG_FILE
    if Path(file_path).is_file():
        try:
            data = tomllib.loads(Path(file_path).read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {file_path}: not valid TOML ({exc})") from None
        for key, value in data.items():
            raw[key] = value
            sources[key] = f"file {file_path}"
    elif explicit:
        raise ConfigError(f"config file {file_path}: no such file")

    for key, name in ENV_NAMES.items():
        if name in env and env[name] != "":
            raw[key] = env[name]
            sources[key] = f"env {name}"

    for flag, value in (flags or {}).items():
        key = FLAG_NAMES.get(flag, flag)
        if value is not None:
            raw[key] = value
            sources[key] = f"flag {flag if flag.startswith('--') else '--' + key.replace('_', '-')}"

    def where(key: str) -> str:
        return sources.get(key, "default")

    if isinstance(raw.get("symbols"), str):  # SYMBOLS / --symbols: comma-separated
        raw["symbols"] = [s.strip().upper() for s in raw["symbols"].split(",") if s.strip()]
    if isinstance(raw.get("symbols"), dict):  # the filter tables' old name: [symbols.BTCUSDT]
        raw.setdefault("symbol_specs", raw.pop("symbols"))
        sources["symbol_specs"] = sources.pop("symbols", "default")
    if isinstance(raw.get("speed"), str) and raw["speed"].strip().lower() == "max":
        raw["speed"] = "max"
    for key in ("strict_filters", "access_log"):  # bools from ENV arrive as text
        if isinstance(raw.get(key), str):
            raw[key] = raw[key].strip().lower() in ("1", "true", "yes", "on")
    try:
        cfg = msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), where)) from None
    _validate(cfg, where)
    for key in Config.__struct_fields__:
        sources.setdefault(key, "default")
    return Loaded(config=cfg, sources=sources)


def _explain(message: str, where) -> str:
    match = re.search(r"at `\$\.([A-Za-z0-9_]+)", message)
    unknown = re.search(r"unknown field `([^`]+)`", message)
    if unknown:
        return f"{unknown.group(1)} ({where(unknown.group(1))}): unknown key"
    key = match.group(1) if match else "?"
    return f"{key} ({where(key)}): {message.split(' - at ')[0]}"


def _validate(cfg: Config, where) -> None:
    def fail(key: str, expected: str) -> None:
        raise ConfigError(f"{key} ({where(key)}): expected {expected}, got {getattr(cfg, key)!r}")

    if cfg.interval not in INTERVAL_MS:
        fail("interval", "one of " + " ".join(INTERVAL_MS))
    if cfg.symbol is not None and not re.fullmatch(r"[A-Z0-9]{2,20}", cfg.symbol):
        fail("symbol", "an upper-case symbol such as BTCUSDT")
    if any(not re.fullmatch(r"[A-Z0-9]{2,20}", s) for s in cfg.symbols) or len(set(cfg.symbols)) != len(cfg.symbols):
        fail("symbols", 'distinct upper-case symbols such as ["BTCUSDT", "ETHUSDT"]')
    if not 0 < cfg.port < 65536:
        fail("port", "a TCP port 1-65535")
    for key in ("maker_bps", "taker_bps", "slippage_bps", "spread_bps"):
        if not 0 <= getattr(cfg, key) < 10000:
            fail(key, "a fee in basis points >= 0")
    if not cfg.starting_balance > 0:
        fail("starting_balance", "a positive USDT amount")
    if cfg.speed != "max" and not 0 <= cfg.speed <= 1e9:
        fail("speed", 'bars per second >= 0 or "max"')
    if not 1 <= cfg.ticks_per_bar <= 1000:
        fail("ticks_per_bar", "an integer 1-1000")
    if cfg.fill_resolution is not None and (cfg.fill_resolution not in INTERVAL_MS
                                            or INTERVAL_MS[cfg.fill_resolution] >= INTERVAL_MS.get(cfg.interval, 0)):
        fail("fill_resolution", "an interval finer than `interval`, such as \"1m\"")
    if not 0 <= cfg.max_participation <= 1:
        fail("max_participation", "a share of the bar volume, 0 (unlimited) to 1")
    for key in ("latency_ms", "latency_jitter_ms"):
        if not 0 <= getattr(cfg, key) <= 3_600_000:
            fail(key, "milliseconds >= 0")
    if not 1 <= cfg.default_leverage <= 125:
        fail("default_leverage", "an integer 1-125")
    bounds = {}
    for key in ("start", "end"):
        value = getattr(cfg, key)
        if value is not None:
            try:
                bounds[key] = parse_time_ms(value)
            except ValueError:
                fail(key, "a date like 2024-01-01, an ISO timestamp or epoch ms")
    if "start" in bounds and "end" in bounds and bounds["start"] >= bounds["end"]:
        raise ConfigError(f"start ({where('start')}): expected a time before end "
                          f"({where('end')}), got start={cfg.start!r} end={cfg.end!r}")
    for symbol, spec in cfg.symbol_specs.items():
        try:
            for_symbol(symbol, spec.brackets)
        except (ValueError, ArithmeticError) as exc:
            raise ConfigError(f"symbol_specs.{symbol}.brackets ({where('symbol_specs')}): {exc}") from None
    if cfg.auth == "verify" and not cfg.api_keys:
        raise ConfigError(f"api_keys ({where('api_keys')}): expected at least one key when auth = \"verify\"")


def show(loaded: Loaded) -> str:
    """The effective config, one `key = value  # source` line per key."""
    lines = []
    for key in Config.__struct_fields__:
        value = getattr(loaded.config, key)
        text = msgspec.json.encode(msgspec.to_builtins(value)).decode()
        if key == "api_keys":
            text = f"[{len(value)} key(s), secrets hidden]"
        if key == "admin_token" and value:
            text = '"***"'
        lines.append(f"{key} = {text}  # {loaded.sources.get(key, 'default')}")
    return "\n".join(lines)

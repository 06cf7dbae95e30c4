"""ExSim: a local Binance USD-M futures exchange that replays DuckDB bars and simulates fills."""

__version__ = "0.1.0"

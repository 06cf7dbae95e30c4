"""A simple SMA cross on 1m bars for the ExSim worked example (docs/freqtrade/README.md).

No freqtrade method is overridden: only the three populate_* methods and class attributes, so
freqtrade's own freshness checks, pair locks and timeouts run unchanged on the replay clock
given by `exsim run-bot`.
"""
from pandas import DataFrame

from freqtrade.strategy import IStrategy


class ExsimSample(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = False
    # exits by signal or by a 1.5 % stop (on the exchange: ExSim's algoOrder); no ROI table
    minimal_roi = {"0": 100}
    stoploss = -0.015
    trailing_stop = False
    process_only_new_candles = True
    use_exit_signal = True
    exit_profit_only = False
    startup_candle_count = 60

    fast = 10
    slow = 40

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["sma_fast"] = dataframe["close"].rolling(self.fast).mean()
        dataframe["sma_slow"] = dataframe["close"].rolling(self.slow).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        cross_up = (dataframe["sma_fast"] > dataframe["sma_slow"]) & (
            dataframe["sma_fast"].shift(1) <= dataframe["sma_slow"].shift(1))
        dataframe.loc[cross_up & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        cross_down = (dataframe["sma_fast"] < dataframe["sma_slow"]) & (
            dataframe["sma_fast"].shift(1) >= dataframe["sma_slow"].shift(1))
        dataframe.loc[cross_down, "exit_long"] = 1
        return dataframe

"""Money as integer units of 1e-18 USDT: conversion, half-even rounding, wire text."""
from fractions import Fraction

import pytest

from exsim.engine import money


def test_decimal_text_and_floats_convert_exactly():
    assert money.of("100000") == 100000 * 10 ** 18
    assert money.of(0.1) == 10 ** 17  # a float through its shortest text: 0.1, not 0.1000000000000000055
    assert money.of("-0.000000000000000001") == -1
    assert money.usdt(money.of("12.345")) == Fraction(12345, 1000)
    assert money.to_float(money.of("1.5")) == 1.5


def test_division_rounds_half_to_even_both_signs():
    assert [money.div_round(a, 2) for a in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert money.div_round(10, 3) == 3 and money.div_round(-10, 3) == -3
    assert money.div_round(11, 3) == 4 and money.div_round(-11, 3) == -4


def test_text_rounds_half_even_to_the_requested_decimals():
    assert money.text(money.of("1.234567895")) == "1.23456790"  # ...895 -> even 90
    assert money.text(money.of("1.234567885")) == "1.23456788"  # ...885 -> even 88
    assert money.text(money.of("-0.5"), 0) == "0" and money.text(money.of("-1.5"), 0) == "-2"
    assert money.text(0) == "0.00000000"
    assert money.text(money.of("-42.1"), 2) == "-42.10"


def test_text_refuses_a_fraction_that_would_print_1e18_too_large():
    with pytest.raises(TypeError):
        money.text(Fraction(1, 3))


def test_notional_and_fee_on_the_grid_are_exact():
    from exsim.config import Config
    from exsim.engine.fees import MakerTakerFee
    from exsim.engine.instrument import Instrument

    cfg = Config(symbol="BTCUSDT")
    inst = Instrument.from_spec("BTCUSDT", cfg.symbol_spec("BTCUSDT"))
    notional = inst.notional(420082, 7)  # 42008.2 x 0.007
    assert money.usdt(notional) == Fraction("294.0574")
    fee = MakerTakerFee.from_bps(1.8, 4.5)
    assert money.usdt(fee.fee(notional, True)) == Fraction("294.0574") * Fraction("0.00018")
    assert money.usdt(fee.fee(notional, False)) == Fraction("294.0574") * Fraction("0.00045")

"""Prices and quantities print exactly from their integer ticks/steps: the tick's decimals,
no float on the way, signs and leading zeros right."""
import random
from decimal import Decimal

import pytest

from exsim.engine.instrument import Grid


@pytest.mark.parametrize("increment", ["0.10", "0.001", "1", "0.00001", "10", "0.5"])
def test_text_is_the_exact_decimal_of_n_increments(increment):
    grid = Grid.of(increment)
    rng = random.Random(3)
    for n in list(range(-1200, 1200)) + [rng.randint(-10 ** 12, 10 ** 12) for _ in range(5000)]:
        want = Decimal(n) * Decimal(increment)
        text = grid.fmt(n)
        assert Decimal(text) == want, (n, text)
        assert len(text.partition(".")[2]) == grid.decimals  # always the tick's decimals
        assert grid.from_text(text, "nearest") == (n, True)


def test_examples():
    assert Grid.of("0.10").fmt(420082) == "42008.20"
    assert Grid.of("0.001").fmt(7) == "0.007"
    assert Grid.of("0.001").fmt(-7) == "-0.007"
    assert Grid.of("0.10").fmt(0) == "0.00"

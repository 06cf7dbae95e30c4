"""avgPrice/actualPrice come from integers (sum of price x qty in ticks x steps, over steps):
they must print exactly what the exact rational average rounds to, half-even."""
import random
from fractions import Fraction

from exsim.config import Config
from exsim.engine.instrument import Instrument
from exsim.engine.orders import Order
from exsim.wire.format import avg_price_text, decimal_text


def _order(cum: int, executed: int) -> Order:
    return Order(order_id=1, client_order_id="x", account="a", symbol="BTCUSDT", side="BUY", type="LIMIT",
                 orig_type="LIMIT", qty=executed, executed=executed, cum_quote_units=cum)


def test_random_fills_print_their_exact_average():
    inst = Instrument.from_spec("BTCUSDT", Config().symbol_spec("BTCUSDT"))
    rng = random.Random(5)
    for _ in range(3000):
        fills = [(rng.randint(1, 10 ** 7), rng.randint(1, 5000)) for _ in range(rng.randint(1, 4))]
        cum, executed = sum(p * q for p, q in fills), sum(q for _, q in fills)
        exact = Fraction(cum, executed) * inst.price.size
        for decimals in (inst.price.decimals, 2, 8):
            assert avg_price_text(inst, _order(cum, executed), decimals) == decimal_text(exact, decimals)


def test_half_way_rounds_to_even_and_nothing_filled_is_zero():
    inst = Instrument.from_spec("BTCUSDT", Config().symbol_spec("BTCUSDT"))  # tick "0.10": 2 decimals
    assert avg_price_text(inst, _order(5, 4), 2) == "0.12"  # 0.10 x3 + 0.20, over 4: 0.125, to even
    assert avg_price_text(inst, _order(7, 4), 2) == "0.18"  # 0.175
    assert avg_price_text(inst, _order(0, 0), 2) == "0.00"

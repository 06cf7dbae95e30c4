"""Request numbers are parsed under the engine's own decimal context: a library in the same
process that changes decimal's defaults (ccxt turns on the Underflow trap) must not turn a
refused quantity into an unhandled error, nor change how values land on the grid."""
import decimal

import pytest

from exsim.engine.errors import ExchangeError

from .helpers import new_sim, place

LIMIT = {"side": "BUY", "type": "LIMIT", "time_in_force": "GTC", "price": "49000.04"}


@pytest.fixture
def hostile_context():
    ctx = decimal.getcontext()
    saved = ctx.copy()
    ctx.traps[decimal.Underflow] = ctx.traps[decimal.Inexact] = ctx.traps[decimal.Rounded] = True
    ctx.prec, ctx.rounding = 5, decimal.ROUND_UP
    yield
    decimal.setcontext(saved)


def test_orders_parse_the_same_under_a_hostile_thread_context(hostile_context):
    sim, _ = new_sim(50000)
    for qty, code in (("1e-999999999", -1130), ("0.0000001", -1111), ("1E+39", -1130)):
        with pytest.raises(ExchangeError) as err:
            place(sim, **LIMIT, quantity=qty)
        assert err.value.code == code, qty
    order = place(sim, **LIMIT, quantity="1.23456789012")
    assert (order.qty, order.price) == (1234, 490000)  # down to the step, nearest tick

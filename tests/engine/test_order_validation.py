"""Every rejection has Binance's code, and a rejected order leaves no trace."""
import pytest

from exsim.engine.errors import ExchangeError

from .helpers import cancel, cancel_all, new_sim, place, set_leverage, set_margin_type


def code_of(sim, **params) -> int:
    before = (dict(sim.accounts["default"].orders), sim.accounts["default"].wallet)
    with pytest.raises(ExchangeError) as err:
        place(sim, **params)
    assert (dict(sim.accounts["default"].orders), sim.accounts["default"].wallet) == before
    return err.value.code


LIMIT = {"side": "BUY", "type": "LIMIT", "time_in_force": "GTC", "quantity": "0.01", "price": "49900"}


@pytest.mark.parametrize("params, code", [
    ({**LIMIT, "symbol": "NOPEUSDT"}, -1121),
    ({**LIMIT, "side": "HOLD"}, -1117),
    ({**LIMIT, "type": "ICEBERG"}, -1116),
    ({**LIMIT, "time_in_force": "DAY"}, -1115),
    ({**LIMIT, "time_in_force": None}, -1102),
    ({**LIMIT, "price": None}, -1102),
    ({**LIMIT, "quantity": None}, -1102),
    ({"side": "SELL", "type": "STOP_MARKET", "quantity": "0.01"}, -1102),
    ({"side": "SELL", "type": "TRAILING_STOP_MARKET", "quantity": "0.01"}, -1102),
    ({"side": "BUY", "type": "MARKET", "quantity": "0.01", "price": "50000"}, -1106),
    ({**LIMIT, "quantity": "0"}, -4003),
    ({**LIMIT, "quantity": "-1"}, -4003),
    ({**LIMIT, "quantity": "0.0004"}, -1111),  # below the step: Binance's precision error
    ({**LIMIT, "quantity": "0.0000001"}, -1111),
    ({**LIMIT, "quantity": "abc"}, -1130),
    ({**LIMIT, "price": "NaN"}, -1130),
    ({**LIMIT, "price": "1e400"}, -1130),
    ({**LIMIT, "quantity": "5000"}, -4005),
    ({**LIMIT, "price": "100"}, -4013),
    ({**LIMIT, "price": "60000"}, -4016),
    ({**LIMIT, "price": "40000"}, -4024),
    ({**LIMIT, "quantity": "0.001"}, -4164),  # 49.9 USDT < MIN_NOTIONAL 100
    ({**LIMIT, "new_client_order_id": "bad id!"}, -4015),
    ({**LIMIT, "position_side": "LONG"}, -4061),
    ({"side": "BUY", "type": "MARKET", "quantity": "100"}, -2019),  # 5M notional at 20x > 100k
    ({"side": "SELL", "type": "MARKET", "quantity": "0.01", "reduce_only": True}, -2022),
    ({"side": "SELL", "type": "TRAILING_STOP_MARKET", "quantity": "0.01", "callback_rate": "11"}, -1130),
])
def test_rejections_use_binance_codes(params, code):
    sim, _ = new_sim(50000)
    assert code_of(sim, **{k: v for k, v in params.items() if v is not None}) == code


def test_off_grid_price_and_quantity_are_rounded_by_default():
    sim, _ = new_sim(50000)
    order = place(sim, **{**LIMIT, "price": "49900.04", "quantity": "0.0109"})
    assert order.price == 499000 and order.qty == 10


def test_strict_filters_reject_off_grid_values_with_1111():
    sim, _ = new_sim(50000, strict_filters=True)
    assert code_of(sim, **{**LIMIT, "price": "49900.04"}) == -1111
    assert code_of(sim, **{**LIMIT, "quantity": "0.0105"}) == -1111


def test_client_order_id_unique_among_open_orders_4116():
    sim, _ = new_sim(50000)
    place(sim, **LIMIT, new_client_order_id="mine")
    assert code_of(sim, **LIMIT, new_client_order_id="mine") == -4116


def test_client_order_id_reusable_once_the_order_is_closed():
    sim, _ = new_sim(50000)
    first = place(sim, **LIMIT, new_client_order_id="again")
    cancel(sim, sim.accounts["default"], "BTCUSDT", first.order_id, None)
    assert place(sim, **LIMIT, new_client_order_id="again").status == "NEW"


def test_max_open_orders_2025():
    sim, _ = new_sim(50000, symbol_specs={"BTCUSDT": __import__("exsim.config").config.SymbolSpec(
        tick_size="0.10", min_notional="5", max_num_orders=2)})
    place(sim, **LIMIT)
    place(sim, **LIMIT)
    assert code_of(sim, **LIMIT) == -2025


def test_reduce_only_allowed_when_it_reduces():
    sim, _ = new_sim(50000)
    place(sim, side="BUY", type="MARKET", quantity="0.01")
    order = place(sim, side="SELL", type="MARKET", quantity="0.05", reduce_only=True)
    assert order.executed == 10  # capped to the position
    assert sim.accounts["default"].position("BTCUSDT").amt == 0


def test_margin_counts_open_orders_and_only_added_exposure():
    sim, _ = new_sim(50000)
    a = sim.accounts["default"]
    place(sim, side="BUY", type="MARKET", quantity="30")  # 1.5M notional / 20 = 75k margin
    # closing needs no margin even though its notional is large
    assert place(sim, side="SELL", type="MARKET", quantity="30").status == "FILLED"
    assert a.position("BTCUSDT").amt == 0


def test_cancel_unknown_order_2011_and_by_client_id():
    sim, _ = new_sim(50000)
    a = sim.accounts["default"]
    with pytest.raises(ExchangeError) as err:
        cancel(sim, a, "BTCUSDT", 999, None)
    assert err.value.code == -2011
    order = place(sim, **LIMIT, new_client_order_id="cid-1")
    assert cancel(sim, a, "BTCUSDT", None, "cid-1") is order and order.status == "CANCELED"
    with pytest.raises(ExchangeError) as err:
        cancel(sim, a, "BTCUSDT", order.order_id, None)
    assert err.value.code == -2011


def test_cancel_all_open_orders():
    sim, _ = new_sim(50000)
    a = sim.accounts["default"]
    orders = [place(sim, **LIMIT) for _ in range(3)]
    assert len(cancel_all(sim, a, "BTCUSDT")) == 3
    assert all(o.status == "CANCELED" for o in orders) and not a.open_orders


def test_leverage_and_margin_type_rules():
    sim, _ = new_sim(50000)
    a = sim.accounts["default"]
    assert set_leverage(sim, a, "BTCUSDT", 5) == 5
    with pytest.raises(ExchangeError) as err:
        set_leverage(sim, a, "BTCUSDT", 126)
    assert err.value.code == -4028
    with pytest.raises(ExchangeError) as err:
        set_margin_type(sim, a, "BTCUSDT", "CROSSED")
    assert err.value.code == -4046
    place(sim, **LIMIT)
    with pytest.raises(ExchangeError) as err:
        set_margin_type(sim, a, "BTCUSDT", "ISOLATED")
    assert err.value.code == -4047


def test_leverage_sets_initial_margin_for_the_margin_check():
    sim, _ = new_sim(50000)
    a = sim.accounts["default"]
    set_leverage(sim, a, "BTCUSDT", 1)
    with pytest.raises(ExchangeError) as err:
        place(sim, side="BUY", type="MARKET", quantity="2.1")  # 105k notional at 1x > 100k
    assert err.value.code == -2019
    assert place(sim, side="BUY", type="MARKET", quantity="1.9").status == "FILLED"

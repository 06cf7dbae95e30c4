"""Engine exceptions. They carry Binance's error code and text (domain facts), never an HTTP
status: wire/errors.py decides how each is answered."""
from __future__ import annotations


class ExchangeError(Exception):
    """A request the exchange refuses; `code`/`msg` are Binance's."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def bad_param(name: str) -> ExchangeError:
    return ExchangeError(-1130, f"Data sent for parameter '{name}' is not valid.")


def missing_param(name: str) -> ExchangeError:
    return ExchangeError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


INVALID_SYMBOL = (-1121, "Invalid symbol.")
SYMBOL_NOT_TRADING = (-1122, "Invalid symbol status.")
UNKNOWN_ORDER_CANCEL = (-2011, "Unknown order sent.")
ORDER_NOT_FOUND = (-2013, "Order does not exist.")
MARGIN_INSUFFICIENT = (-2019, "Margin is insufficient.")
WOULD_TRIGGER = (-2021, "Order would immediately trigger.")
REDUCE_ONLY_REJECTED = (-2022, "ReduceOnly Order is rejected.")
QTY_NOT_POSITIVE = (-4003, "Quantity less than or equal to zero.")
QTY_BELOW_MIN = (-4004, "Quantity less than min quantity.")
QTY_ABOVE_MAX = (-4005, "Quantity greater than max quantity.")
PRICE_BELOW_MIN = (-4013, "Price less than min price.")
PRICE_TICK = (-4014, "Price not increased by tick size.")
CLIENT_ID_INVALID = (-4015, "Client order id is not valid.")
PRICE_ABOVE_CAP = (-4016, "Price higher than multiplier cap.")
QTY_STEP = (-4023, "Quantity not increased by step size.")
PRICE_BELOW_FLOOR = (-4024, "Price lower than multiplier floor.")
CLIENT_ID_DUPLICATE = (-4116, "ClientOrderId is duplicated.")
CONDITIONAL_ON_ORDER = (-4120, "Order type not supported for this endpoint. "
                        "Please use the Algo Order API endpoints instead.")
FOK_REJECTED = (-5021, "Due to the order could not be filled immediately, the FOK order has been rejected.")
GTX_REJECTED = (-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")
PRECISION = (-1111, "Precision is over the maximum defined for this asset.")
MAX_ORDERS = (-2025, "Reach max open order limit.")


def reject(pair: tuple[int, str], *args: object) -> ExchangeError:
    code, msg = pair
    return ExchangeError(code, msg % args if args else msg)

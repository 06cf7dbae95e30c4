"""The liquidation streams `<symbol>@forceOrder` and `!forceOrder@arr`: a consumer of the
engine's event log that sends each liquidation fill (engine/liquidation.py) as Binance's
forceOrder payload to their subscribers, encoded once for all of them. Binance sends at most
one frame per symbol per second of the latest liquidation; ExSim sends every one (a backtest
wants them all), with `E` and `T` the sim time."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import orjson

from ..engine.events import OrderUpdated
from ..engine.orders import LIQUIDATION
from ..engine.sim import Sim
from .format import avg_price_text

if TYPE_CHECKING:  # pragma: no cover
    from .ws import Fanout

ALL = "!forceOrder@arr"


class ForceOrders:
    def __init__(self, sim: Sim, fanout: "Fanout") -> None:
        self.sim = sim
        self.fanout = fanout

    def resolve(self, name: str) -> Optional[str]:
        """Binance's spelling of a forceOrder stream of a replayed symbol, else None."""
        low = name.strip().lower()
        if low == ALL.lower():
            return ALL
        symbol, _, kind = low.partition("@")
        if kind == "forceorder" and symbol.upper() in self.sim.markets:
            return f"{symbol}@forceOrder"
        return None

    def consume(self, events: list) -> None:
        subs = self.fanout.subs
        for ev in events:
            if type(ev) is not OrderUpdated or ev.exec_type != "TRADE" or ev.order.orig_type != LIQUIDATION:
                continue
            stream = f"{ev.order.symbol.lower()}@forceOrder"
            if stream not in subs and ALL not in subs:
                continue
            payload = self._payload(ev)
            for name in (stream, ALL):
                self.fanout.send_event(name, payload)

    def _payload(self, ev: OrderUpdated) -> bytes:
        o, t = ev.order, ev.trade
        inst = self.sim.instrument(o.symbol)
        p, q = inst.price.fmt, inst.qty.fmt
        return orjson.dumps({"e": "forceOrder", "E": ev.time, "o": {
            "s": o.symbol, "S": o.side, "o": "LIMIT", "f": "IOC", "q": q(o.qty), "p": p(o.price),
            "ap": avg_price_text(inst, o, inst.price.decimals), "X": o.status, "l": q(t.qty), "z": q(o.executed),
            "T": ev.time}})

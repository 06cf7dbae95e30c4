"""Auto-cancel countdowns (POST /fapi/v1/countdownCancelAll), in sim time.

A countdown of T ms set at sim time t cancels, once sim time reaches t + T, every open order of
that account and symbol in the /fapi/v1/order family (like DELETE /fapi/v1/allOpenOrders:
untriggered algo orders stay). Setting it again replaces the deadline (the heartbeat a bot
sends), 0 removes it; it fires once, then is gone.

The Sim calls `fire` from the replay (Sim.on_segment) when sim time reaches the earliest
deadline, before that price step matches, so an order is cancelled before a fill of the step
that passes its deadline: deadlines are honoured to one price step (a bar, or a tick with
ticks_per_bar > 1), and the cancels are stamped with that step's time. Orders placed after a
deadline (possible only when the replay jumped over idle bars, with no order open) are left
alone: the countdown had already run out before they existed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .account import Account
from .commands import CancelOrder, SetCountdownCancel
from .errors import bad_param

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Sim

NEVER = 1 << 62


class Countdowns:
    """Deadlines (sim ms) per (account, symbol); `next_at` the earliest (NEVER: none)."""

    def __init__(self) -> None:
        self.deadlines: dict[tuple[str, str], int] = {}
        self.next_at = NEVER

    def set(self, sim: "Sim", acct: Account, cmd: SetCountdownCancel) -> int:
        """SetCountdownCancel (engine entry: Sim.apply); its countdown_time."""
        sim.instrument(cmd.symbol)
        if cmd.countdown_time < 0:
            raise bad_param("countdownTime")
        key = (acct.name, cmd.symbol)
        if cmd.countdown_time:
            self.deadlines[key] = sim.sim_time + cmd.countdown_time
        else:
            self.deadlines.pop(key, None)
        self._rearm()
        return cmd.countdown_time

    def fire(self, sim: "Sim", now: int) -> None:
        """Cancel what every countdown that ran out by `now` covers (called by the Sim)."""
        due = sorted((deadline, key) for key, deadline in self.deadlines.items() if deadline <= now)
        for _, key in due:
            del self.deadlines[key]
        self._rearm()
        for deadline, (name, symbol) in due:
            acct = sim.accounts.get(name)
            if acct is None:
                continue
            for order in [o for o in acct.open_orders.values() if o.symbol == symbol and o.time <= deadline
                          and not (o.algo_id and not o.triggered)]:
                if order.is_open:  # (nothing here closes another order, but stay safe)
                    sim.apply(CancelOrder(account=name, symbol=symbol, order_id=order.order_id,
                                          scope="order"))

    def _rearm(self) -> None:
        self.next_at = min(self.deadlines.values(), default=NEVER)

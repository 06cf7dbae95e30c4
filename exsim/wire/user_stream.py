"""The user-data stream: listenKeys, and every account change pushed as Binance pushes it.

`UserStream` is a consumer of the engine's event log (engine/events.py): each batch of events
is turned into Binance's payloads (ORDER_TRADE_UPDATE, TRADE_LITE, ACCOUNT_UPDATE,
ACCOUNT_CONFIG_UPDATE, ALGO_UPDATE) and written to the sockets of the account's listenKey at
once, in the same event-loop turn as the change: for a request, before its REST response is
sent; for the clock, at the end of the batch that caused it (also while paused or stepping).

A listenKey lives `ws.listen_key_ttl` seconds of wall time after its creation or last
keepalive (Binance: 60 minutes); then its sockets get `listenKeyExpired` and are closed.
`E` and `T` are sim time. A fill's TRADE_LITE, ORDER_TRADE_UPDATE and ACCOUNT_UPDATE share
one `T` and are sent in that order (Binance orders only within one event type; see
../shared/spec/binance_api.md §8.8); a triggered algo order's ALGO_UPDATE FINISHED comes last. E is the sim time too, so it does not increase within a
time (a bot comparing E across types sees equal values, never a reversed order).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Callable, Optional

import orjson
from aiohttp import WSCloseCode

from ..engine import money as M
from ..engine.account import Account, Position
from ..engine.events import AccountUpdated, LeverageChanged, MarginCalled, MultiAssetsChanged, OrderUpdated
from ..engine.orders import LIQUIDATION, TRAILING_STOP_MARKET
from ..engine.sim import Sim
from .format import avg_price_text, decimal_text, margin_type_text

if TYPE_CHECKING:  # pragma: no cover
    from .ws import Client, Fanout

log = logging.getLogger("exsim.user_stream")
LATENCY_SAMPLES = 8192  # frames kept for /admin/status's change-to-frame percentiles
money = M.text


class ListenKey:
    __slots__ = ("key", "account", "expires", "timer")

    def __init__(self, key: str, account: str) -> None:
        self.key, self.account = key, account
        self.expires = 0.0
        self.timer: Optional[asyncio.TimerHandle] = None


class UserStream:
    """listenKeys per account and the delivery of account events to their sockets."""

    def __init__(self, sim: Sim, fanout: "Fanout", ttl: float, wall: Callable[[], float] = time.monotonic) -> None:
        self.sim = sim
        self.fanout = fanout
        self.ttl = ttl
        self._wall = wall
        self.keys: dict[str, ListenKey] = {}
        self.by_account: dict[str, ListenKey] = {}
        self.sent = 0  # payloads written (each once per socket)
        # seconds from the state change to its frame written to the socket, last frames
        self.latency: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    # --- listenKeys -----------------------------------------------------------------------

    def open(self, account: str) -> str:
        """POST /fapi/v1/listenKey: the account's active key (extended), or a new one."""
        lk = self.by_account.get(account)
        if lk is None:
            lk = ListenKey(secrets.token_urlsafe(48).replace("-", "a").replace("_", "b")[:64], account)
            self.keys[lk.key] = lk
            self.by_account[account] = lk
        self._arm(lk)
        return lk.key

    def keepalive(self, account: str) -> Optional[str]:
        """PUT /fapi/v1/listenKey: extend the account's key; None when it has none."""
        lk = self.by_account.get(account)
        if lk is None:
            return None
        self._arm(lk)
        return lk.key

    def close(self, account: str) -> bool:
        """DELETE /fapi/v1/listenKey: the stream ends, its sockets are closed."""
        lk = self.by_account.get(account)
        if lk is None:
            return False
        self._drop(lk, "listenKey closed")
        return True

    def valid(self, name: str) -> bool:
        return name in self.keys

    def _arm(self, lk: ListenKey) -> None:
        if lk.timer is not None:
            lk.timer.cancel()
        lk.expires = self._wall() + self.ttl
        lk.timer = asyncio.get_running_loop().call_later(self.ttl, self._expire, lk)

    def _expire(self, lk: ListenKey) -> None:
        if self.keys.get(lk.key) is not lk:
            return
        log.info("listenKey of %s expired: no keepalive for %.0f s", lk.account, self.ttl)
        payload = orjson.dumps({"e": "listenKeyExpired", "E": self.sim.sim_time, "listenKey": lk.key})
        self._send(lk.key, payload)
        self._drop(lk, "listenKey expired")

    def _drop(self, lk: ListenKey, why: str) -> None:
        if lk.timer is not None:
            lk.timer.cancel()
        self.keys.pop(lk.key, None)
        if self.by_account.get(lk.account) is lk:
            del self.by_account[lk.account]
        for client in list(self.fanout.subs.get(lk.key, ())):
            asyncio.ensure_future(_close(client, why))

    # --- the event log's consumer ---------------------------------------------------------

    def consume(self, events: list) -> None:
        if not self.keys:
            return  # nobody listens: nothing to encode
        finished: dict[str, bytes] = {}  # an algo's FINISHED waits for its fill's ACCOUNT_UPDATE
        for ev in events:
            lk = self.by_account.get(getattr(ev, "account", ""))
            if lk is None or lk.key not in self.fanout.subs:
                continue
            kind = type(ev)
            if kind is OrderUpdated:
                payloads = self._order_payloads(ev)
                if ev.exec_type == "TRADE" and ev.order.algo_id and not ev.order.is_open:
                    finished[lk.key] = payloads.pop()
                for payload in payloads:
                    self._send(lk.key, payload)
            elif kind is AccountUpdated:
                self._send(lk.key, self._account_update(ev))
                if lk.key in finished:
                    self._send(lk.key, finished.pop(lk.key))
            elif kind is LeverageChanged:
                self._send(lk.key, orjson.dumps({"e": "ACCOUNT_CONFIG_UPDATE", "E": ev.time, "T": ev.time,
                                                 "ac": {"s": ev.symbol, "l": ev.leverage}}))
            elif kind is MultiAssetsChanged:
                self._send(lk.key, orjson.dumps({"e": "ACCOUNT_CONFIG_UPDATE", "E": ev.time, "T": ev.time,
                                                 "ai": {"j": ev.multi_assets}}))
            elif kind is MarginCalled:
                self._send(lk.key, self._margin_call(ev))
        for key, payload in finished.items():
            self._send(key, payload)

    def _send(self, key: str, payload: bytes) -> None:
        n = self.fanout.send_event(key, payload)
        if n:
            self.sent += n
            self.latency.extend([time.perf_counter() - self.sim.log.changed_at] * n)

    def latency_ms(self, reset: bool = False) -> dict:
        """p50 / p99 / max of change -> frame on the socket over the last frames written."""
        xs = sorted(self.latency)
        if reset:
            self.latency.clear()
        if not xs:
            return {"frames": 0}
        at = lambda q: round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 4)
        return {"frames": len(xs), "p50": at(0.5), "p99": at(0.99), "max": round(xs[-1] * 1000, 4)}

    # --- payloads -------------------------------------------------------------------------

    def _order_payloads(self, ev: OrderUpdated) -> list[bytes]:
        """Binance's events for one order change. An algo (conditional, /fapi/v1/algoOrder)
        order lives in ALGO_UPDATE until it triggers; then its order in the matching engine
        (orderId = actualOrderId) gets ordinary ORDER_TRADE_UPDATEs, and the algo FINISHED once
        that order is done. A legacy conditional order (/fapi/v1/order) that triggers is
        reported EXPIRED as the conditional type, then NEW as what it executes as."""
        o, x, out = ev.order, ev.exec_type, []
        if o.algo_id:
            if x == "NEW":
                return [self._algo_update(ev, "NEW")]
            if x == "TRIGGERED":
                return [self._algo_update(ev, "TRIGGERING"), self._algo_update(ev, "TRIGGERED"),
                        self._order_update(ev, "NEW", "NEW")]
            if not o.triggered:  # canceled (or expired) while waiting
                return [self._algo_update(ev, "CANCELED" if x == "CANCELED" else "EXPIRED")]
        elif x == "TRIGGERED":
            return [self._order_update(ev, "EXPIRED", "EXPIRED", as_conditional=True),
                    self._order_update(ev, "NEW", "NEW")]
        if x == "TRADE" and o.orig_type == LIQUIDATION:
            return [self._order_update(ev, "CALCULATED", o.status)]  # the exchange's order: no TRADE_LITE
        if x == "TRADE":
            out.append(self._trade_lite(ev))
        out.append(self._order_update(ev, x, o.status))
        if o.algo_id and not o.is_open:
            if x == "EXPIRED" and ev.reason.startswith("reduce-only"):
                out.append(self._algo_update(ev, "REJECTED", "Reduce Only reject"))
            else:
                out.append(self._algo_update(ev, "FINISHED"))
        return out

    def _order_update(self, ev: OrderUpdated, x: str, status: str, as_conditional: bool = False) -> bytes:
        o, t = ev.order, ev.trade
        inst = self.sim.instrument(o.symbol)
        p, q = inst.price.fmt, inst.qty.fmt
        body = {
            "s": o.symbol, "c": o.client_order_id, "S": o.side,
            "o": o.orig_type if as_conditional or not o.triggered else o.type,
            "f": o.time_in_force, "q": q(o.qty), "p": p(o.price),
            "ap": avg_price_text(inst, o, max(inst.price.decimals, 2)) if o.executed else "0",
            "sp": p(o.stop_price), "x": x, "X": status, "i": o.order_id,
            "l": q(t.qty) if t else "0", "z": q(o.executed), "L": p(t.price) if t else "0",
            "N": inst.quote, "n": money(t.fee) if t else "0", "T": ev.time, "t": t.trade_id if t else 0,
            "b": money(ev.bids), "a": money(ev.asks), "m": t.is_maker if t else False, "R": o.reduce_only,
            "wt": o.working_type, "ot": o.orig_type, "ps": o.position_side, "cp": o.close_position,
            "pP": o.price_protect, "si": 0, "ss": 0, "rp": money(t.realized_pnl) if t else "0",
            "V": "NONE", "pm": "NONE", "gtd": o.good_till_date, "er": "0",
        }
        if o.orig_type == TRAILING_STOP_MARKET:
            body["AP"] = p(o.activation_price)
            body["cr"] = decimal_text(o.callback_rate, 1)
        return orjson.dumps({"e": "ORDER_TRADE_UPDATE", "E": ev.time, "T": ev.time, "o": body})

    def _trade_lite(self, ev: OrderUpdated) -> bytes:
        o, t = ev.order, ev.trade
        inst = self.sim.instrument(o.symbol)
        return orjson.dumps({"e": "TRADE_LITE", "E": ev.time, "T": ev.time, "s": o.symbol,
                             "q": inst.qty.fmt(o.qty), "p": inst.price.fmt(o.price), "m": t.is_maker,
                             "c": o.client_order_id, "S": o.side, "L": inst.price.fmt(t.price),
                             "l": inst.qty.fmt(t.qty), "t": t.trade_id, "i": o.order_id})

    def _algo_update(self, ev: OrderUpdated, status: str, reason: str = "") -> bytes:
        o = ev.order
        inst = self.sim.instrument(o.symbol)
        p, q = inst.price.fmt, inst.qty.fmt
        body = {
            "caid": o.client_algo_id, "aid": o.algo_id, "at": "CONDITIONAL", "o": o.orig_type, "s": o.symbol,
            "S": o.side, "ps": o.position_side, "f": o.time_in_force, "q": q(o.qty), "X": status,
            "ai": str(o.order_id) if o.triggered else "",
            "ap": avg_price_text(inst, o, inst.price.decimals) if o.executed else "0",
            "aq": q(o.executed), "act": o.type if o.triggered else "0", "tp": p(o.stop_price), "p": p(o.price),
            "V": "NONE", "wt": o.working_type, "pm": "NONE", "cp": o.close_position, "pP": o.price_protect,
            "R": o.reduce_only, "tt": o.trigger_time, "gtd": o.good_till_date, "rm": reason,
        }
        return orjson.dumps({"e": "ALGO_UPDATE", "T": ev.time, "E": ev.time, "o": body})

    def _account_update(self, ev: AccountUpdated) -> bytes:
        positions = [self._position(pos, mark) for pos, mark in zip(ev.positions, ev.marks)]
        return orjson.dumps({"e": "ACCOUNT_UPDATE", "E": ev.time, "T": ev.time, "a": {
            "m": ev.reason,
            "B": [{"a": "USDT", "wb": money(ev.wallet), "cw": money(ev.wallet - ev.isolated),
                   "bc": money(ev.change)}],
            "P": positions}})

    def _margin_call(self, ev: MarginCalled) -> bytes:
        out = {"e": "MARGIN_CALL", "E": ev.time}
        if ev.cross_wallet is not None:
            out["cw"] = money(ev.cross_wallet)
        rows = []
        for pos, mark, mm in zip(ev.positions, ev.marks, ev.maint):
            inst = self.sim.instrument(pos.symbol)
            rows.append({"s": pos.symbol, "ps": pos.side, "pa": inst.qty.fmt(pos.amt), "mt": pos.margin_type,
                         "iw": money(pos.isolated_wallet), "mp": inst.price.fmt(mark),
                         "up": money(Account.unrealized(inst, pos, mark)), "mm": money(mm)})
        out["p"] = rows
        return orjson.dumps(out)

    def _position(self, pos: Position, mark: int) -> dict:
        inst = self.sim.instrument(pos.symbol)
        entry = pos.entry(inst)
        rate = self.sim.fees[pos.symbol].taker_rate
        bep = 0 if not pos.amt else entry * (1 + rate) if pos.amt > 0 else entry * (1 - rate)
        return {"s": pos.symbol, "pa": inst.qty.fmt(pos.amt), "ep": decimal_text(entry), "bep": decimal_text(bep),
                "cr": money(pos.realized), "up": money(Account.unrealized(inst, pos, mark)),
                "mt": margin_type_text(pos), "iw": money(pos.isolated_wallet), "ps": pos.side}


async def _close(client: "Client", why: str) -> None:
    try:
        await client.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=why.encode())
    except Exception:  # the socket went meanwhile
        pass

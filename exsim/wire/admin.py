"""Admin API: replay speed, pause/resume/step, restart, and status."""
from __future__ import annotations

import hmac
from typing import Literal, Optional, Union

import msgspec
from aiohttp import web

from ..engine.commands import Pause, Restart, Resume, SetSpeed, Step
from ..engine.errors import ExchangeError
from ..engine.money import to_float
from ..engine.sim import DEFAULT_ACCOUNT
from ..store.reader import NoData
from ..timeutil import parse_time_ms
from .format import money
from .keys import CLOCK, CONFIG, FANOUT, LOOP_PROBE, REPLAY, SIM, USER
from .respond import json_response

routes = web.RouteTableDef()


class ReplayRequest(msgspec.Struct, forbid_unknown_fields=True):
    speed_bars_per_sec: Optional[Union[float, Literal["max"]]] = None
    restart: bool = False
    start: Optional[Union[int, str]] = None
    end: Optional[Union[int, str]] = None


class StepRequest(msgspec.Struct, forbid_unknown_fields=True):
    bars: int = 1


def _check_token(request: web.Request) -> None:
    token = request.app[CONFIG].admin_token
    if not token:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise ExchangeError(-2015, "Invalid admin token: send 'Authorization: Bearer <admin_token>'.")


async def _body(request: web.Request, kind: type):
    _check_token(request)
    data = await request.read()
    if not data.strip():
        data = b"{}"
    try:
        return msgspec.json.decode(data, type=kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ExchangeError(-1130, f"Invalid admin request: {exc}") from None
    except msgspec.DecodeError:
        raise ExchangeError(-1130, "Invalid admin request: body is not JSON.") from None


def _time(value, name: str) -> Optional[int]:
    if value is None:
        return None
    try:
        return parse_time_ms(value)
    except ValueError:
        raise ExchangeError(-1130, f"Data sent for parameter '{name}' is not valid.") from None


@routes.post("/admin/replay")
async def replay(request: web.Request) -> web.Response:
    req: ReplayRequest = await _body(request, ReplayRequest)
    clock, rep = request.app[CLOCK], request.app[REPLAY]
    speed = req.speed_bars_per_sec
    if speed is not None and speed != "max" and not 0 <= speed <= 1e9:
        raise ExchangeError(-1130, "Data sent for parameter 'speed_bars_per_sec' is not valid.")
    start, end = _time(req.start, "start"), _time(req.end, "end")
    if start is not None and end is not None and start >= end:
        raise ExchangeError(-1023, "Start time is greater than end time.")
    if req.restart or start is not None or end is not None:
        try:
            await rep.apply(Restart(start=start, end=end))
        except NoData as exc:
            raise ExchangeError(-1130, f"No bars to replay: {exc}.") from None
    if speed is not None:
        await rep.apply(SetSpeed(speed=speed))
    return json_response({"ok": True, "run_id": request.app[SIM].run_id, "bars": clock.total_bars,
                          "speed": clock.speed})


@routes.post("/admin/pause")
async def pause(request: web.Request) -> web.Response:
    _check_token(request)
    await request.app[REPLAY].apply(Pause())
    return json_response({"ok": True, "paused": True})


@routes.post("/admin/resume")
async def resume(request: web.Request) -> web.Response:
    _check_token(request)
    speed = (await request.app[REPLAY].apply(Resume())).result
    return json_response({"ok": True, "paused": False, "speed": speed})


@routes.post("/admin/step")
async def step(request: web.Request) -> web.Response:
    """Advance exactly `bars` bars (pausing the clock first): the deterministic mode for tests."""
    req: StepRequest = await _body(request, StepRequest)
    if not 1 <= req.bars <= 10_000_000:
        raise ExchangeError(-1130, "Data sent for parameter 'bars' is not valid.")
    clock, sim = request.app[CLOCK], request.app[SIM]
    done = (await request.app[REPLAY].apply(Step(bars=req.bars))).result
    return json_response({"ok": True, "bars": done, "sim_time": sim.sim_time, "bars_done": sim.bars_done,
                          "finished": clock.finished})


@routes.get("/admin/status")
async def status(request: web.Request) -> web.Response:
    _check_token(request)
    app = request.app
    cfg, sim, clock, fanout = app[CONFIG], app[SIM], app[CLOCK], app[FANOUT]
    acct = sim.accounts.get(DEFAULT_ACCOUNT) or next(iter(sim.accounts.values()))
    first = sim.market
    pos, inst = acct.position(first.inst.symbol), first.inst
    total = clock.total_bars
    now = sim.sim_time
    markets = [{"symbol": s, "status": m.status(now), "last_price": m.inst.price.fmt(m.last),
                "mark_price": m.inst.price.fmt(m.mark),
                # where the mark price comes from: loaded markPriceKlines, or the bar close
                "mark_source": "mark_klines" if m.has_mark_data else "close",
                "data_end": m.data_end, "open_orders": len(m.book)} for s, m in sim.markets.items()]
    return json_response({
        "symbol": first.inst.symbol, "symbols": list(sim.markets), "markets": markets,
        "interval": cfg.interval, "run_id": sim.run_id, "run_status": sim.run_status,
        "ws_clients": len(fanout.clients), "bars_loaded": total, "bars_done": sim.bars_done,
        "equity_now": to_float(sim.equity(acct)), "balance": money(acct.wallet),
        "position": {"qty": float(pos.amt * inst.qty.size), "avg_price": float(pos.entry(inst))},
        "leverage": pos.leverage, "margin_type": "cross" if pos.margin_type == "CROSSED" else "isolated",
        "dual_side": acct.dual_side, "sim_time": sim.sim_time, "insurance_fund": money(sim.insurance_fund), "ambiguous_fills": sim.ambiguous_fills,
        "progress": round(sim.bars_done / total, 6) if total else 0.0,
        "speed": clock.speed, "paused": clock.paused, "finished": clock.finished,
        "bars_per_sec_actual": round(clock.bars_per_sec_actual(), 1),
        "dropped_clients": fanout.dropped, "ws_messages_sent": fanout.messages_sent,
        "listen_keys": len(app[USER].keys), "user_stream_messages_sent": app[USER].sent,
        # `?reset_latency=1` reads and then restarts it
        "user_stream_change_to_frame_ms": app[USER].latency_ms(request.query.get("reset_latency") == "1"),
        "data_source": app[REPLAY].db.data_source,
        "start": app[REPLAY].start_ms, "end": app[REPLAY].end_ms, "accounts": len(sim.accounts),
        "writer_error": app[REPLAY].db.writer.last_error,
        "pacing": cfg.pacing,
        # lockstep: the bots, what the bar waits for, TIMEOUTs (each makes the run not reproducible)
        "lockstep": app[REPLAY].gate.status() if app[REPLAY].gate is not None else None,
        "journal": {"commands": app[REPLAY].journal.n, "timeouts": app[REPLAY].journal.timeouts,
                    "reproducible": app[REPLAY].journal.timeouts == 0, "error": app[REPLAY].journal.failed},
        **_loop_lag(request),
    })


def _loop_lag(request: web.Request) -> dict:
    """With EXSIM_LOOP_PROBE=1: the worst event-loop lag (ms) since start or the last
    `?reset_lag=1`, which reads and then restarts it; and the worst part of a lag during which
    the gateway itself was on CPU (see wire.app.LoopProbe)."""
    probe = request.app.get(LOOP_PROBE)
    if probe is None:
        return {}
    out = {"loop_lag_max_ms": round(probe.max_ms, 2), "loop_lag_on_cpu_max_ms": round(probe.max_on_cpu_ms, 2)}
    if request.query.get("reset_lag") == "1":
        probe.reset()
    return out

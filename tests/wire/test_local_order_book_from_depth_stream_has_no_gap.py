"""Binance's "How to manage a local order book correctly" (USDⓈ-M futures version), run as a
client runs it against ExSim's diff depth stream and REST snapshot while the replay moves:

1. open `btcusdt@depth@100ms`, buffer the events;
2. GET /fapi/v1/depth?limit=1000;
3. drop events with u < lastUpdateId;
4. the first event applied has U <= lastUpdateId AND u >= lastUpdateId;
5. every next event's pu is the previous event's u (else: a gap, start over);
6. apply each level: quantity 0 removes it, otherwise set it.

Over 10,000 updates (2,500 bars of 4 ticks) no gap appears, and once the replay is paused the
local book equals a fresh REST snapshot, level for level on both sides.
"""
import asyncio
import json

from decimal import Decimal

UPDATES = 10_000
TICKS_PER_BAR = 4
WAIT = 20.0


class LocalBook:
    """A client's local copy of the book, kept by the futures algorithm above."""

    def __init__(self, snapshot: dict) -> None:
        self.last_update_id = snapshot["lastUpdateId"]
        self.bids = dict(snapshot["bids"])
        self.asks = dict(snapshot["asks"])
        self.prev_u = None
        self.applied = 0

    def feed(self, ev: dict) -> None:
        if self.prev_u is None:
            if ev["u"] < self.last_update_id:
                return  # older than the snapshot
            assert ev["U"] <= self.last_update_id <= ev["u"], (ev["U"], self.last_update_id, ev["u"])
        else:
            assert ev["pu"] == self.prev_u, f"gap: pu {ev['pu']} after u {self.prev_u}"
        for side, levels in ((self.bids, ev["b"]), (self.asks, ev["a"])):
            for price, qty in levels:
                if Decimal(qty) == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.prev_u = ev["u"]
        self.applied += 1

    def sides(self) -> tuple[list, list]:
        bids = sorted(self.bids.items(), key=lambda x: Decimal(x[0]), reverse=True)
        asks = sorted(self.asks.items(), key=lambda x: Decimal(x[0]))
        return [list(x) for x in bids], [list(x) for x in asks]


async def event(ws) -> dict:
    msg = await asyncio.wait_for(ws.receive(), WAIT)
    ev = json.loads(msg.data)
    assert ev["e"] == "depthUpdate" and ev["s"] == "BTCUSDT"
    return ev


async def snapshot(c) -> dict:
    r = await c.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})
    assert r.status == 200
    return await r.json()


async def test_local_order_book_from_depth_stream_has_no_gap(exsim_client):
    c = await exsim_client(ticks_per_bar=TICKS_PER_BAR)
    async with c.ws_connect("/public/ws/btcusdt@depth@100ms") as ws:
        await c.post("/admin/step", json={"bars": 2})  # events before the snapshot, to be dropped
        buffered = [await event(ws) for _ in range(2 * TICKS_PER_BAR)]
        # "max": the clock waits for a subscriber that is behind (a set speed would drop it)
        await c.post("/admin/replay", json={"speed_bars_per_sec": "max"})
        buffered.append(await event(ws))
        snap = await snapshot(c)  # taken while the replay moves
        assert len(snap["bids"]) == len(snap["asks"]) == 1000
        book = LocalBook(snap)
        for ev in buffered:
            book.feed(ev)
        while book.applied < UPDATES:
            book.feed(await event(ws))
        await c.post("/admin/replay", json={"speed_bars_per_sec": 0})
        final = await snapshot(c)
        while book.prev_u != final["lastUpdateId"] - 1:  # what was sent before the pause
            book.feed(await event(ws))
    bids, asks = book.sides()
    assert book.applied > UPDATES
    assert bids == final["bids"] and asks == final["asks"]
    assert Decimal(bids[0][0]) < Decimal(asks[0][0])
